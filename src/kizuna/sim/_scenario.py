"""Exercise scenarios in YAML, validated with every problem listed by its path in the file."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import yaml

from kizuna._yaml import safe_load
from kizuna.coord import Architecture
from kizuna.errors import KizunaError
from kizuna.labels import parse_banner
from kizuna.sim._forces import RedGroup, Theatre
from kizuna.sim._problems import Problems, ScenarioError, View

__all__ = [
    "Scenario",
    "SensorKinematics",
    "check_references",
    "load_scenario",
    "parse_scenario",
]

TIERS = ("T0", "T1", "T2", "T3")


@dataclass(frozen=True, slots=True)
class SensorKinematics:
    """How a sensor node of the architecture looks at the theatre (nation and label come from
    the architecture itself, so they cannot disagree)."""

    revisit_s: float
    pd: float
    sigma_m: float
    clutter: float = 0.0
    x_km: tuple[float, float] | None = None
    y_km: tuple[float, float] | None = None
    sees: frozenset[str] | None = None
    tactical: bool = False  # its tracks may also be written for release as tactical tracks


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    hours: float
    epoch: datetime
    step_s: float  # tracker and RED motion step
    picture_s: float  # cadence at which pictures cross the gateways and analysts nominate
    origin: tuple[float, float]  # lat, lon of the grid's (0, 0), for CoT positions
    theatre: Theatre
    red: tuple[RedGroup, ...]
    sensors: dict[str, SensorKinematics]
    architectures: tuple[str, ...]
    tiers: tuple[str, ...]
    seeds: int
    associate_m: float  # analysts tie a picture item to a RED object within this distance
    gospa_c_m: float
    tactical_label: str  # the banner a tactical track is written for release under
    campaign_days: int
    assumptions: tuple[tuple[str, str, str], ...]  # (parameter, value, source)

    @property
    def entities(self) -> int:
        return sum(g.count for g in self.red) + len(self.sensors)


def _theatre(v: View) -> Theatre:
    t = Theatre(v.pair("x_km"), v.pair("y_km"))
    v.done()
    return t


def _group(v: View) -> RedGroup:
    g = RedGroup(
        name=v.text("name"),
        type=v.text("type"),
        count=v.integer("count", ge=0),
        speed_kmh=v.pair("speed_kmh", (0.0, 0.0), ge=0.0),
        hidden_share=v.number("hidden_share", 0.0, ge=0.0, le=0.99),
        exposure_min=v.pair("exposure_min", (20.0, 60.0), ge=0.0),
        nominate=v.flag("nominate", True),
        turn_per_h=v.number("turn_per_h", 0.5, ge=0.0),
    )
    if g.exposure_min[1] <= 0 and g.hidden_share > 0:
        v.problems.add(v.at("exposure_min"), "a unit that hides must also show itself (> 0)")
    v.done()
    return g


def _sensor(v: View) -> SensorKinematics:
    s = SensorKinematics(
        revisit_s=v.number("revisit_s", gt=0.0),
        pd=v.number("pd", ge=0.0, le=1.0),
        sigma_m=v.number("sigma_m", gt=0.0),
        clutter=v.number("clutter", 0.0, ge=0.0),
        x_km=v.pair("x_km") if v.has("x_km") else None,
        y_km=v.pair("y_km") if v.has("y_km") else None,
        sees=frozenset(v.names("sees")) if v.has("sees") else None,
        tactical=v.flag("tactical", False),
    )
    v.done()
    return s


def _epoch(v: View) -> datetime:
    raw = v.get("epoch", "2027-04-01T00:00:00Z")
    try:
        when = datetime.fromisoformat(str(raw))
    except ValueError:
        v.problems.add(v.at("epoch"), f"must be an ISO 8601 time, got {raw!r}")
        return datetime(2027, 4, 1, tzinfo=UTC)
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _assumptions(v: View) -> tuple[tuple[str, str, str], ...]:
    out = []
    for item in v.items("assumptions"):
        out.append((item.text("name"), str(item.get("value", "")), item.text("source")))
        item.done()
    return tuple(out)


def parse_scenario(doc: object, source: str = "<scenario>") -> Scenario:
    """Validate a parsed YAML document; raise ScenarioError listing every problem."""
    problems = Problems()
    v = View(doc, "", problems)
    sweep = v.child("sweep")
    analysts = v.child("analysts")
    origin = v.child("origin")
    red = tuple(_group(g) for g in v.items("red"))
    scenario = Scenario(
        name=v.text("name"),
        hours=v.number("hours", gt=0.0, le=24 * 30),
        epoch=_epoch(v),
        step_s=v.number("step_s", 60.0, gt=0.0),
        picture_s=v.number("picture_s", 600.0, gt=0.0),
        origin=(origin.number("lat", ge=-80, le=80), origin.number("lon", ge=-180, le=180)),
        theatre=_theatre(v.child("theatre")),
        red=red,
        sensors={name: _sensor(s) for name, s in v.entries("sensors")},
        architectures=tuple(sweep.names("architectures")),
        tiers=tuple(sweep.names("tiers")),
        seeds=sweep.integer("seeds", 5, ge=1),
        associate_m=analysts.number("associate_m", 2000.0, gt=0.0),
        gospa_c_m=analysts.number("gospa_c_m", 5000.0, gt=0.0),
        tactical_label=analysts.text("tactical_label", "UNCLASSIFIED//REL TO USA, JPN"),
        campaign_days=v.integer("campaign_days", 30, ge=1),
        assumptions=_assumptions(v),
    )
    for i, tier in enumerate(scenario.tiers):
        if tier not in TIERS:
            problems.add(f"sweep.tiers[{i}]", f"unknown tier {tier!r}; one of {', '.join(TIERS)}")
    names = [g.name for g in red]
    for i, name in enumerate(names):
        if names.index(name) != i:
            problems.add(f"red[{i}].name", f"duplicate group name {name!r}")
    if not red:
        problems.add("red", "needs at least one group")
    try:
        parse_banner(scenario.tactical_label)
    except KizunaError as exc:
        problems.add("analysts.tactical_label", str(exc))
    for name, sensor in scenario.sensors.items():
        if sensor.revisit_s < scenario.step_s:
            problems.add(f"sensors.{name}.revisit_s", f"must be >= step_s ({scenario.step_s:g})")
    if scenario.step_s > scenario.picture_s:
        problems.add("step_s", "must not exceed picture_s")
    for view in (sweep, analysts, origin, v):
        view.done()
    problems.raise_if_any(source)
    return scenario


def load_scenario(path: Path | None = None) -> Scenario:
    """A scenario file, or the default one shipped with the package."""
    if path is None:
        text = resources.files("kizuna").joinpath("scenarios/default.yaml").read_text("utf-8")
        source = "default.yaml"
    else:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ScenarioError(str(path), [("<file>", str(exc))]) from exc
        source = str(path)
    try:
        doc = safe_load(text)
    except yaml.YAMLError as exc:
        raise ScenarioError(source, [("<yaml>", str(exc).replace("\n", " "))]) from exc
    return parse_scenario(doc, source)


def check_references(
    scenario: Scenario, archs: Mapping[str, Architecture], source: str = "<scenario>"
) -> None:
    """Every sensor and nominated RED type the scenario names must exist in every architecture
    it is run under; every problem is listed with its path."""
    problems = Problems()
    for name, arch in archs.items():
        sensors = {n.id: n for n in arch.sensors()}
        for sid in scenario.sensors:
            if sid not in sensors:
                problems.add(f"sensors.{sid}", f"no sensor {sid!r} in architecture {name!r}")
            elif not sensors[sid].label:  # fail closed: an unlabelled product is never shared
                problems.add(f"sensors.{sid}", f"sensor {sid!r} has no label in {name!r}")
        for i, group in enumerate(scenario.red):
            if group.nominate and group.type not in arch.target_types:
                problems.add(
                    f"red[{i}].type",
                    f"target type {group.type!r} is unknown to architecture {name!r}",
                )
    problems.raise_if_any(source)
