"""The ``kizuna`` command line."""

from kizuna.cli._app import build_app, full_app, main

__all__ = ["app", "build_app", "full_app", "main"]


def __getattr__(name: str) -> object:
    if name == "app":  # the full app, built on first use
        return full_app()
    raise AttributeError(name)
