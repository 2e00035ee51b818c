"""The root Typer app; each bounded context adds its own sub-command group."""

from __future__ import annotations

from typing import Annotated

import typer

from kizuna import __version__
from kizuna.cli._coord import coord_app
from kizuna.cli._demo import demo
from kizuna.cli._fusion import fusion_app
from kizuna.cli._gateway import audit_app, gateway_app, ledger_app
from kizuna.cli._labels import labels_app
from kizuna.cli._node import node_app, pki_app
from kizuna.cli._roadmap import roadmap_app
from kizuna.cli._sustain import sustain_app

app = typer.Typer(
    name="kizuna",
    help="Kizuna: an allied C2 and information-sharing testbed.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(labels_app, name="labels")
app.add_typer(sustain_app, name="sustain")
app.add_typer(coord_app, name="coord")
app.add_typer(fusion_app, name="fusion")
app.add_typer(gateway_app, name="gateway")
app.add_typer(audit_app, name="audit")
app.add_typer(ledger_app, name="ledger")
app.add_typer(roadmap_app, name="roadmap")
app.add_typer(node_app, name="node")
app.add_typer(pki_app, name="pki")
app.command("demo")(demo)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"kizuna {__version__}")
        raise typer.Exit


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """Kizuna: an allied C2 and information-sharing testbed."""


def main() -> None:
    app()
