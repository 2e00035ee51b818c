"""Fusion: a vectorised multi-target tracker, release-aware track fusion, and metrics.

The COP's entry point is ``Tracker.step(time, Detections) -> ScanResult``: detections in,
confirmed tracks (plus the ids confirmed and deleted by that scan) out, no I/O.
"""

from kizuna.fusion._ci import covariance_intersection
from kizuna.fusion._files import (
    DETECTION_COLUMNS,
    TRACK_COLUMNS,
    TRUTH_COLUMNS,
    DetectionRows,
    ScenarioHints,
    format_detections,
    format_tracks,
    format_truth,
    hints_of,
    merge_detections,
    parse_detections,
    parse_hints,
    parse_tracks,
    parse_truth,
)
from kizuna.fusion._metrics import Gospa, RunScore, TruthFrame, gospa, score_run
from kizuna.fusion._models import ConstantVelocity, MotionModel
from kizuna.fusion._scenario import Scenario, ScenarioSpec, SensorSpec, generate
from kizuna.fusion._t2t import FusedPicture, NationalTracks, ReleaseAwareFuser, TrackFuser
from kizuna.fusion._tracker import ScanResult, Tracker, TrackerConfig
from kizuna.fusion._types import Detections, Rejects, TrackTable

__all__ = [
    "DETECTION_COLUMNS",
    "TRACK_COLUMNS",
    "TRUTH_COLUMNS",
    "ConstantVelocity",
    "DetectionRows",
    "Detections",
    "FusedPicture",
    "Gospa",
    "MotionModel",
    "NationalTracks",
    "Rejects",
    "ReleaseAwareFuser",
    "RunScore",
    "ScanResult",
    "Scenario",
    "ScenarioHints",
    "ScenarioSpec",
    "SensorSpec",
    "TrackFuser",
    "TrackTable",
    "Tracker",
    "TrackerConfig",
    "TruthFrame",
    "covariance_intersection",
    "format_detections",
    "format_tracks",
    "format_truth",
    "generate",
    "gospa",
    "hints_of",
    "merge_detections",
    "parse_detections",
    "parse_hints",
    "parse_tracks",
    "parse_truth",
    "score_run",
]
