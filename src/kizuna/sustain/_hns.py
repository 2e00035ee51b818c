"""Host-nation-support budget data: categories with diminishing returns, and constraints."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType

from kizuna.errors import ConfigError
from kizuna.sustain._data import read_yaml, shipped_text
from kizuna.sustain._reader import Node, ensure_unique

__all__ = [
    "Buys",
    "Category",
    "HnsConstraint",
    "HnsModel",
    "Objective",
    "Segment",
    "Sense",
    "default_hns",
    "load_hns",
    "parse_hns",
]


class Objective(StrEnum):
    STOCKS = "stocks"
    TRAINING = "training"
    WEIGHTED = "weighted"


class Sense(StrEnum):
    GE = ">="
    LE = "<="


@dataclass(frozen=True, slots=True)
class Segment:
    """A slice of spending with a constant benefit per ¥1 bn; ``width_yen`` None: no limit."""

    width_yen: float | None
    stocks: float
    training: float

    def benefit(self, objective: Objective) -> float:
        return self.stocks if objective is Objective.STOCKS else self.training


@dataclass(frozen=True, slots=True)
class Buys:
    """What a yen turns into, for the report: ``unit`` at ``unit_cost_usd`` each."""

    unit: str
    unit_cost_usd: float


@dataclass(frozen=True, slots=True)
class Category:
    id: str
    name: str
    current_yen: float
    segments: tuple[Segment, ...]
    source: str
    buys: Buys | None = None

    @property
    def capacity_yen(self) -> float | None:
        """The most the category can absorb; None when its last segment has no limit."""
        widths = [s.width_yen for s in self.segments]
        return None if any(w is None for w in widths) else sum(w for w in widths if w is not None)


@dataclass(frozen=True, slots=True)
class HnsConstraint:
    """``sum(categories) sense rhs``, the rhs in yen or as a share of the budget."""

    id: str
    sense: Sense
    categories: tuple[str, ...]
    yen: float | None
    share_of_budget: float | None
    source: str

    def rhs(self, budget_yen: float) -> float:
        if self.yen is not None:
            return self.yen
        return (self.share_of_budget or 0.0) * budget_yen

    def describe(self, budget_yen: float) -> str:
        lhs = " + ".join(self.categories)
        share = f" ({self.share_of_budget:.0%} of the budget)" if self.yen is None else ""
        return f"{lhs} {self.sense.value} ¥{self.rhs(budget_yen) / 1e9:,.1f} bn{share}"


@dataclass(frozen=True, slots=True)
class HnsModel:
    categories: tuple[Category, ...]
    constraints: tuple[HnsConstraint, ...]
    budget_yen: float
    yen_per_usd: float
    weights: MappingProxyType[str, float]
    source: str

    def index(self, category_id: str) -> int:
        for i, c in enumerate(self.categories):
            if c.id == category_id:
                return i
        raise ConfigError(f"unknown category {category_id!r}", field="categories")


def default_hns() -> HnsModel:
    return parse_hns(read_yaml(shipped_text("hns.yaml"), "hns.yaml"))


def load_hns(path: Path) -> HnsModel:
    return parse_hns(read_yaml(path.read_text(encoding="utf-8"), str(path)))


def parse_hns(doc: object) -> HnsModel:
    root = Node.root(doc, "an HNS budget model")
    categories = tuple(_category(n) for n in root.items("categories", required=True))
    if not categories:
        raise ConfigError("at least one category is required", field="categories")
    ensure_unique([c.id for c in categories], "categories")
    known = {c.id for c in categories}
    constraints = tuple(_constraint(n, known) for n in root.items("constraints"))
    ensure_unique([c.id for c in constraints], "constraints")
    if "budget" in {c.id for c in constraints}:
        raise ConfigError("'budget' is reserved for the budget itself", field="constraints")
    w = root.child("weights")
    weights = {k.value: w.num(k.value, 0.5) for k in (Objective.STOCKS, Objective.TRAINING)}
    if sum(weights.values()) <= 0:
        raise ConfigError("weights must not all be zero", field="weights")
    return HnsModel(
        categories=categories,
        constraints=constraints,
        budget_yen=root.num("budget_yen", gt=0.0),
        yen_per_usd=root.num("yen_per_usd", gt=0.0),
        weights=MappingProxyType(weights),
        source=root.text("source"),
    )


def _category(n: Node) -> Category:
    segments: list[Segment] = []
    for s in n.items("segments", required=True):
        seg = Segment(
            width_yen=s.num("width_yen", gt=0.0) if s.has("width_yen") else None,
            stocks=s.num("stocks"),
            training=s.num("training"),
        )
        if segments and segments[-1].width_yen is None:
            raise ConfigError("only the last segment may be unbounded", field=s.path)
        for score in (Objective.STOCKS, Objective.TRAINING):
            if segments and seg.benefit(score) > segments[-1].benefit(score):
                raise ConfigError(
                    "benefits must not rise from one segment to the next (diminishing returns)",
                    field=s.field(score.value),
                )
        segments.append(seg)
    if not segments:
        raise ConfigError("a category needs at least one segment", field=n.field("segments"))
    buys = None
    if n.has("buys"):
        b = n.child("buys")
        buys = Buys(b.text("unit"), b.num("unit_cost_usd", gt=0.0))
    return Category(
        id=n.text("id"),
        name=n.text("name", n.text("id")),
        current_yen=n.num("current_yen"),
        segments=tuple(segments),
        source=n.text("source"),
        buys=buys,
    )


def _constraint(n: Node, known: set[str]) -> HnsConstraint:
    raw = n.text("sense")
    try:
        sense = Sense(raw)
    except ValueError:
        raise ConfigError(f"{raw!r} is not '>=' or '<='", field=n.field("sense")) from None
    cats = n.names("categories")
    if not cats:
        raise ConfigError("name at least one category", field=n.field("categories"))
    for i, c in enumerate(cats):
        if c not in known:
            raise ConfigError(f"unknown category {c!r}", field=f"{n.field('categories')}[{i}]")
    has_yen, has_share = n.has("yen"), n.has("share_of_budget")
    if has_yen == has_share:
        raise ConfigError("give exactly one of yen or share_of_budget", field=n.field("yen"))
    return HnsConstraint(
        id=n.text("id"),
        sense=sense,
        categories=cats,
        yen=n.num("yen") if has_yen else None,
        share_of_budget=n.num("share_of_budget", le=1.0) if has_share else None,
        source=n.text("source"),
    )
