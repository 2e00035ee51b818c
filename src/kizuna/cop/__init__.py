"""The common operational picture, its per-viewer views, and tracks made from detections."""

from kizuna.cop._picture import Picture
from kizuna.cop._tracking import DetectionTracking

__all__ = ["DetectionTracking", "Picture"]
