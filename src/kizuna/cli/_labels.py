"""``kizuna labels``: release decisions from the command line."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from kizuna.cli._batch import run_batch
from kizuna.clock import RealClock
from kizuna.labels import Decider

labels_app = typer.Typer(help="Releasability labels and release decisions.", no_args_is_help=True)


def parse_at(text: str | None) -> datetime:
    """ISO 8601 with any offset; no offset means UTC; absent means now."""
    if text is None:
        return RealClock().now()
    try:
        at = datetime.fromisoformat(text)
    except ValueError as exc:
        raise typer.BadParameter(f"not an ISO 8601 time: {text!r}") from exc
    return at if at.tzinfo else at.replace(tzinfo=UTC)


@labels_app.command("decide")
def decide_cmd(
    label: Annotated[
        str | None, typer.Option(help="Banner marking, e.g. 'SECRET//REL TO USA, JPN'.")
    ] = None,
    viewer: Annotated[
        str | None, typer.Option(help="Viewer as JSON: nation, clearance, expires, status.")
    ] = None,
    batch: Annotated[
        Path | None, typer.Option(help="JSON Lines {id, label, viewer}; '-' for stdin.")
    ] = None,
    at: Annotated[
        str | None, typer.Option(help="ISO 8601 time of the decision (default: now).")
    ] = None,
) -> None:
    """Decide whether a viewer may see an item with a given label."""
    when = parse_at(at)
    decider = Decider()
    if batch is not None:
        if label is not None or viewer is not None:
            raise typer.BadParameter("--batch excludes --label and --viewer")
        if str(batch) == "-":
            run_batch(sys.stdin.buffer, sys.stdout.buffer, decider, when)
        else:
            with batch.open("rb") as src:
                run_batch(src, sys.stdout.buffer, decider, when)
        sys.stdout.buffer.flush()
        return
    if viewer is None:
        raise typer.BadParameter("--viewer is required without --batch")
    try:
        viewer_obj: object = json.loads(viewer)
    except json.JSONDecodeError:
        viewer_obj = None  # decided as a malformed request, not a crash
    decision = decider.decide(label, viewer_obj, when)
    typer.echo(json.dumps(decision.to_json()))
