"""The common operational picture and its per-viewer views."""

from kizuna.cop._picture import Picture

__all__ = ["Picture"]
