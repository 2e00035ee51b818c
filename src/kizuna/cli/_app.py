"""The root Typer app; each bounded context adds its own sub-command group.

Groups are imported only when needed: ``kizuna labels decide --batch`` should not pay for
scipy, matplotlib and plotly at start-up. ``main`` builds the app with just the group the
command line names (all of them for ``--help`` and anything it does not recognise); ``app``
is the full app, built on first use.
"""

from __future__ import annotations

import sys
from functools import cache
from importlib import import_module
from typing import Annotated

import typer

from kizuna import __version__

# sub-command -> (module, attribute)
_GROUPS: dict[str, tuple[str, str]] = {
    "exercise": ("kizuna.cli._exercise", "exercise_app"),
    "labels": ("kizuna.cli._labels", "labels_app"),
    "sustain": ("kizuna.cli._sustain", "sustain_app"),
    "coord": ("kizuna.cli._coord", "coord_app"),
    "fusion": ("kizuna.cli._fusion", "fusion_app"),
    "gateway": ("kizuna.cli._gateway", "gateway_app"),
    "audit": ("kizuna.cli._gateway", "audit_app"),
    "ledger": ("kizuna.cli._gateway", "ledger_app"),
    "roadmap": ("kizuna.cli._roadmap", "roadmap_app"),
    "node": ("kizuna.cli._node", "node_app"),
    "pki": ("kizuna.cli._node", "pki_app"),
}


def _version(value: bool) -> None:
    if value:
        typer.echo(f"kizuna {__version__}")
        raise typer.Exit


def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """Kizuna: an allied C2 and information-sharing testbed."""


def build_app(only: str | None = None) -> typer.Typer:
    """The app with every group, or with only the group ``only`` (and ``demo``)."""
    app = typer.Typer(
        name="kizuna",
        help="Kizuna: an allied C2 and information-sharing testbed.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
    )
    app.callback()(_root)
    for name, (module, attr) in _GROUPS.items():
        if only is None or name == only:
            app.add_typer(getattr(import_module(module), attr), name=name)
    if only is None or only == "demo":
        app.command("demo")(import_module("kizuna.cli._demo").demo)
    return app


@cache
def full_app() -> typer.Typer:
    return build_app()


def __getattr__(name: str) -> typer.Typer:
    if name == "app":
        return full_app()
    raise AttributeError(name)


def main() -> None:
    first = next((a for a in sys.argv[1:] if not a.startswith("-")), None)
    build_app(first if first in (*_GROUPS, "demo") else None)()
