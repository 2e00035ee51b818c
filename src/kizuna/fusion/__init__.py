"""Fusion: a vectorised multi-target tracker, release-aware track fusion, and metrics."""

from kizuna.fusion._metrics import Gospa, RunScore, TruthFrame, gospa, score_run
from kizuna.fusion._models import ConstantVelocity, MotionModel
from kizuna.fusion._scenario import Scenario, ScenarioSpec, SensorSpec, generate
from kizuna.fusion._tracker import ScanResult, Tracker, TrackerConfig
from kizuna.fusion._types import Detections, Rejects, TrackTable

__all__ = [
    "ConstantVelocity",
    "Detections",
    "Gospa",
    "MotionModel",
    "Rejects",
    "RunScore",
    "ScanResult",
    "Scenario",
    "ScenarioSpec",
    "SensorSpec",
    "TrackTable",
    "Tracker",
    "TrackerConfig",
    "TruthFrame",
    "generate",
    "gospa",
    "score_run",
]
