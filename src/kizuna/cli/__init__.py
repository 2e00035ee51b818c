"""The ``kizuna`` command line."""

from kizuna.cli._app import app, main

__all__ = ["app", "main"]
