"""Kizuna: an open testbed for allied command-and-control and information sharing."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("kizuna")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = ["__version__"]
