"""``kizuna fusion``: simulate a scenario, track detections, fuse two pictures, score tracks."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import numpy as np
import typer

from kizuna.cli._labels import parse_at
from kizuna.errors import KizunaError, ValidationError
from kizuna.labels import default_table, parse_banner, viewer_from_mapping

if TYPE_CHECKING:  # the fusion stack pulls in scipy: import it only when a command runs
    from kizuna.fusion import (
        DetectionRows,
        Detections,
        Rejects,
        ScenarioHints,
        TrackerConfig,
        TrackTable,
    )

fusion_app = typer.Typer(
    help="Multi-target tracking and cross-national fusion.", no_args_is_help=True
)


def _fail(exc: Exception) -> typer.Exit:
    typer.echo(f"error: {exc}", err=True)
    return typer.Exit(2)


def _report(rejects: Rejects) -> None:
    """Skipped input goes to stderr: counts by reason, then the first few messages."""
    if rejects.total:
        counts = ", ".join(f"{k}={v}" for k, v in sorted(rejects.counts.items()))
        typer.echo(f"skipped: {counts}", err=True)
        for line in rejects.examples:
            typer.echo(f"  {line}", err=True)


@fusion_app.command("simulate")
def simulate_cmd(
    out: Annotated[Path, typer.Argument(help="Scenario directory to write.")],
    targets: Annotated[int, typer.Option(min=1)] = 20,
    scans: Annotated[int, typer.Option(min=1)] = 100,
    dt: Annotated[float, typer.Option(min=0.01)] = 1.0,
    seed: int = 1,
) -> None:
    """Generate a scenario: detections per sensor, truth and scenario.json."""
    import kizuna.fusion as ff  # noqa: PLC0415 (scipy loads only when needed)

    spec = ff.ScenarioSpec(n_targets=targets, n_scans=scans, dt=dt)
    sc = ff.generate(spec, np.random.default_rng(seed))
    out.mkdir(parents=True, exist_ok=True)
    for s in spec.sensors:
        mask = sc.det.sensor == s.name
        (out / f"detections_{s.name}.csv").write_text(
            "".join(ff.format_detections(sc.det_time[mask], sc.det.select(mask)))
        )
    (out / "truth.csv").write_text("".join(ff.format_truth(sc.truth_time, sc.truth_id, sc.truth_x)))
    (out / "scenario.json").write_text(json.dumps(ff.hints_of(spec), indent=2) + "\n")
    typer.echo(f"wrote {out} ({len(sc.det)} detections, {len(sc.truth_id)} truth rows)")


def _load_detections(folder: Path, sensor: str, rejects: Rejects) -> list[tuple[float, Detections]]:
    import kizuna.fusion as ff  # noqa: PLC0415 (scipy loads only when needed)

    if sensor == "ALL":
        paths = sorted(folder.glob("detections_*.csv"))
        if not paths:
            raise KizunaError(f"{folder}: no detections_<SENSOR>.csv files")
    else:
        paths = [folder / f"detections_{sensor}.csv"]
        if not paths[0].is_file():
            raise KizunaError(f"--sensor {sensor}: {paths[0]} does not exist")
    merged: list[DetectionRows] = []
    for path in paths:
        name = path.stem.removeprefix("detections_")
        with path.open(encoding="utf-8", newline="") as fh:
            merged.append(ff.parse_detections(fh, rejects, source=path.name, sensor=name))
    return list(ff.merge_detections(merged).scans())


@fusion_app.command("track")
def track_cmd(
    folder: Annotated[Path, typer.Argument(help="Scenario directory.")],
    out: Annotated[Path, typer.Option("--out", help="Tracks CSV to write.")],
    sensor: Annotated[str, typer.Option(help="USA, JPN (any sensor name) or ALL.")] = "ALL",
    motion: Annotated[
        str,
        typer.Option(
            help="imm: a quiet and a manoeuvring CV mode mixed, no noise to tune (default);"
            " cv: one constant-velocity Kalman filter of noise --q."
        ),
    ] = "imm",
    q: Annotated[
        float | None,
        typer.Option(
            help="Process noise, m²/s³. cv: default scenario.json's q, else 1. imm: the"
            " quiet mode's noise, default 0.1."
        ),
    ] = None,
    pd: Annotated[
        float | None,
        typer.Option(
            help="Detection probability for the track score. Default scenario.json's pd of"
            " the sensor (the lowest of all for ALL), else 0.9."
        ),
    ] = None,
    clutter_density: Annotated[
        float | None,
        typer.Option(
            "--clutter-density",
            help="False detections per m² per scan, for the track score. Default"
            " scenario.json's of the sensor (the highest of all for ALL), else 1e-8.",
        ),
    ] = None,
) -> None:
    """Track a scenario's detections; the last line printed is tracking_ms=<n>.

    A track score (its likelihood against clutter) confirms and deletes tracks: it needs
    --pd and --clutter-density.
    """
    import kizuna.fusion as ff  # noqa: PLC0415 (scipy loads only when needed)

    rejects = ff.Rejects()
    try:
        hints_path = folder / "scenario.json"
        hints = (
            ff.parse_hints(hints_path.read_text()) if hints_path.is_file() else ff.ScenarioHints()
        )
        scans = _load_detections(folder, sensor, rejects)
        config = _track_config(hints, sensor, motion, q, pd, clutter_density)
    except (KizunaError, OSError) as exc:
        raise _fail(exc) from exc
    tracker = ff.Tracker(config=config)
    tables: list[TrackTable] = []
    t0 = time.perf_counter()
    for t, det in scans:
        tables.append(tracker.step(t, det).tracks)
    spent = time.perf_counter() - t0
    rejects.merge(tracker.rejects)
    with out.open("w", encoding="utf-8", newline="") as fh:
        fh.writelines(ff.format_tracks(tables))
    _report(rejects)
    typer.echo(f"scans={len(scans)} rows={sum(len(x) for x in tables)}")
    typer.echo(f"tracking_ms={1000 * spent:.3f}")


def _track_config(
    hints: ScenarioHints,
    sensor: str,
    motion: str,
    q: float | None,
    pd: float | None,
    clutter: float | None,
) -> TrackerConfig:
    """The tracker settings: options first, then scenario.json, then the defaults."""
    import kizuna.fusion as ff  # noqa: PLC0415 (scipy loads only when needed)

    if motion not in ("cv", "imm"):
        raise KizunaError(f"--motion {motion}: must be cv or imm")
    if q is None and motion == "cv":
        q = hints.q
    pds = [hints.pd[sensor]] if sensor in hints.pd else list(hints.pd.values())
    dens = (
        [hints.clutter_density[sensor]]
        if sensor in hints.clutter_density
        else list(hints.clutter_density.values())
    )
    if pd is None and pds:
        pd = min(pds)
    if clutter is None and dens and max(dens) > 0:  # a clutter-free scenario: the default
        clutter = max(dens)
    base = ff.TrackerConfig()
    try:
        return ff.TrackerConfig(
            motion="cv" if motion == "cv" else "imm",
            q=q,
            pd=base.pd if pd is None else pd,
            clutter_density=base.clutter_density if clutter is None else clutter,
        )
    except ValidationError as exc:
        name = exc.field or "option"
        msg = str(exc).removeprefix(f"{name}: ")
        raise KizunaError(f"--{name.replace('_', '-')}: {msg}") from exc


def _tables(path: Path, rejects: Rejects) -> list[TrackTable]:
    import kizuna.fusion as ff  # noqa: PLC0415 (scipy loads only when needed)

    with path.open(encoding="utf-8", newline="") as fh:
        return ff.parse_tracks(fh, rejects, source=path.name)


@fusion_app.command("fuse")
def fuse_cmd(
    a: Annotated[Path, typer.Argument(help="First nation's tracks CSV.")],
    b: Annotated[Path, typer.Argument(help="Second nation's tracks CSV.")],
    *,
    out: Annotated[Path, typer.Option("--out", help="Fused tracks CSV to write.")],
    nation_a: str = "USA",
    nation_b: str = "JPN",
    label_a: Annotated[str, typer.Option(help="Banner of every track in A.")] = "UNCLASSIFIED",
    label_b: Annotated[str, typer.Option(help="Banner of every track in B.")] = "UNCLASSIFIED",
    viewer: Annotated[
        str | None, typer.Option(help="Viewer JSON: fuse only what this viewer may see.")
    ] = None,
    at: Annotated[str | None, typer.Option(help="ISO 8601 time of the release decisions.")] = None,
) -> None:
    """Fuse two nations' track files by covariance intersection into one tracks file."""
    import kizuna.fusion as ff  # noqa: PLC0415 (scipy loads only when needed)

    rejects = ff.Rejects()
    try:
        table = default_table()
        la, lb = parse_banner(label_a, table), parse_banner(label_b, table)
        ta, tb = _tables(a, rejects), _tables(b, rejects)
        who = None if viewer is None else viewer_from_mapping(json.loads(viewer))
    except (KizunaError, OSError, json.JSONDecodeError) as exc:
        raise _fail(exc) from exc
    if viewer is not None and who is None:
        raise _fail(KizunaError("--viewer: needs at least a 'nation'"))
    when = parse_at(at)
    by_a = {x.time: x for x in ta}
    by_b = {x.time: x for x in tb}
    plain, aware = ff.TrackFuser(), ff.ReleaseAwareFuser()
    fused: list[TrackTable] = []
    for t in sorted(by_a.keys() | by_b.keys()):
        xa = by_a.get(t, ff.TrackTable.empty(t))
        xb = by_b.get(t, ff.TrackTable.empty(t))
        na = ff.NationalTracks(nation_a, xa, (la,) * len(xa))
        nb = ff.NationalTracks(nation_b, xb, (lb,) * len(xb))
        pic = plain.fuse(na, nb) if who is None else aware.picture(who, when, na, nb)
        rejects.merge(pic.rejects)
        fused.append(pic.tracks)
    with out.open("w", encoding="utf-8", newline="") as fh:
        fh.writelines(ff.format_tracks(fused))
    _report(rejects)
    typer.echo(f"times={len(fused)} fused_rows={sum(len(x) for x in fused)}")


@fusion_app.command("score")
def score_cmd(
    folder: Annotated[Path, typer.Argument(help="Scenario directory with truth.csv.")],
    tracks: Annotated[Path, typer.Argument(help="Tracks CSV to score.")],
    c: Annotated[float, typer.Option(min=0.0)] = 100.0,
    p: Annotated[float, typer.Option(min=1.0)] = 2.0,
    alpha: Annotated[float, typer.Option(min=0.0, max=2.0)] = 2.0,
) -> None:
    """Print one JSON line of metrics (GOSPA and its parts, count error, ID switches, RMSE)."""
    import kizuna.fusion as ff  # noqa: PLC0415 (scipy loads only when needed)

    rejects = ff.Rejects()
    try:
        with (folder / "truth.csv").open(encoding="utf-8", newline="") as fh:
            truth = ff.parse_truth(fh, rejects, source="truth.csv")
        est = {x.time: x for x in _tables(tracks, rejects)}
    except (KizunaError, OSError) as exc:
        raise _fail(exc) from exc
    frames = []
    for t, ids, states in truth:
        tab = est.get(t, ff.TrackTable.empty(t))
        frames.append(ff.TruthFrame(t, tab.ids, tab.positions, ids, states[:, :2]))
    unmatched = len(est.keys() - {t for t, _, _ in truth})
    rejects.add("track_times_without_truth", unmatched, "tracks at times absent from truth.csv")
    _report(rejects)
    try:
        score = ff.score_run(frames, c=c, p=p, alpha=alpha)
    except ValueError as exc:
        raise _fail(exc) from exc
    sys.stdout.write(json.dumps(score.to_json()) + "\n")
