"""Fusion: a vectorised multi-target tracker, release-aware track fusion, and metrics.

The COP's entry point: ``Tracker.step(time, detections_of([Detection, ...]))`` then
``track_events(result)`` -- detections in, CONFIRMED / UPDATED / DELETED track events out,
no I/O. ``LocalPlane`` maps CoT latitude/longitude to the tracker's metres and back.
``step(trackers, time, scans)`` steps several trackers at one instant together. The tracker
is built from swappable components; their Protocols are in ``kizuna.fusion.base``.
"""

from kizuna.fusion._ci import covariance_intersection
from kizuna.fusion._events import (
    Detection,
    LocalPlane,
    TrackEvent,
    TrackEventKind,
    detections_of,
    track_events,
)
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
from kizuna.fusion._models import ConstantVelocity, MotionMix, MotionModel
from kizuna.fusion._scenario import Scenario, ScenarioSpec, SensorSpec, generate
from kizuna.fusion._t2t import FusedPicture, NationalTracks, ReleaseAwareFuser, TrackFuser
from kizuna.fusion._tracker import Components, ScanResult, Tracker, TrackerConfig, step
from kizuna.fusion._types import Detections, Rejects, TrackTable

__all__ = [
    "DETECTION_COLUMNS",
    "TRACK_COLUMNS",
    "TRUTH_COLUMNS",
    "Components",
    "ConstantVelocity",
    "Detection",
    "DetectionRows",
    "Detections",
    "FusedPicture",
    "Gospa",
    "LocalPlane",
    "MotionMix",
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
    "TrackEvent",
    "TrackEventKind",
    "TrackFuser",
    "TrackTable",
    "Tracker",
    "TrackerConfig",
    "TruthFrame",
    "covariance_intersection",
    "detections_of",
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
    "step",
    "track_events",
]
