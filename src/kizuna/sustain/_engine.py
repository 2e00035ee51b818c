"""Running a campaign day by day and reading days-to-exhaustion off the result."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from kizuna.sustain._campaign import Campaign, apply_excursion
from kizuna.sustain._model import SustainModel
from kizuna.sustain._schedule import Schedule, build_schedule
from kizuna.sustain._stockpile import Stockpile

__all__ = ["CampaignResult", "run_campaign", "run_schedule", "what_if"]

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True, eq=False)
class CampaignResult:
    """Day-by-day accounts; arrays have one row per day, row 0 being the start."""

    name: str
    munitions: tuple[str, ...]
    depots: tuple[str, ...]
    days: int
    on_hand: IntArray  # [days+1, depots, munitions]
    in_transit: IntArray  # [days+1, munitions]
    produced: IntArray  # [days+1, munitions], cumulative
    consumed: IntArray  # [days+1, munitions], cumulative
    destroyed: IntArray  # [days+1, munitions], cumulative
    demand: IntArray  # [days+1, depots, munitions]
    shortfall: IntArray  # [days+1, depots, munitions]
    initial: IntArray  # [munitions]

    def days_to_exhaustion(self) -> dict[str, int | None]:
        """Per type: the days of full supply, i.e. the day before the first day on which any
        depot's demand for the type went unmet. ``None``: every demand was met to the end."""
        unmet = self.shortfall.sum(axis=1) > 0  # [days+1, munitions]
        out: dict[str, int | None] = {}
        for m, mid in enumerate(self.munitions):
            hits = np.flatnonzero(unmet[:, m])
            out[mid] = int(hits[0]) - 1 if hits.size else None
        return out

    def fill_rate(self) -> dict[str, float | None]:
        """Per type: the share of the campaign's demand that was fired; ``None`` if none asked."""
        asked = self.demand.sum(axis=(0, 1))
        short = self.shortfall.sum(axis=(0, 1))
        return {
            mid: (1.0 - float(short[m]) / float(asked[m])) if asked[m] else None
            for m, mid in enumerate(self.munitions)
        }

    def depot_days_to_exhaustion(self) -> dict[tuple[str, str], int | None]:
        """Per (depot, type) with any demand: days of full supply at that depot."""
        out: dict[tuple[str, str], int | None] = {}
        asked = self.demand.sum(axis=0) > 0
        for i, did in enumerate(self.depots):
            for m, mid in enumerate(self.munitions):
                if not asked[i, m]:
                    continue
                hits = np.flatnonzero(self.shortfall[:, i, m] > 0)
                out[did, mid] = int(hits[0]) - 1 if hits.size else None
        return out

    def theatre_on_hand(self) -> IntArray:
        """[days+1, munitions]: rounds on hand in every depot together."""
        total: IntArray = self.on_hand.sum(axis=1)
        return total

    def unmet(self) -> dict[str, int]:
        total = self.shortfall.sum(axis=(0, 1))
        return {mid: int(total[m]) for m, mid in enumerate(self.munitions)}


def run_schedule(
    model: SustainModel, schedule: Schedule, name: str, rng: np.random.Generator | None = None
) -> CampaignResult:
    pile = Stockpile(model, schedule, rng)
    for _ in range(schedule.days):
        pile.step()
    return CampaignResult(
        name=name,
        munitions=tuple(m.id for m in model.munitions),
        depots=tuple(d.id for d in model.depots),
        days=schedule.days,
        on_hand=pile.history_stock,
        in_transit=pile.history_transit,
        produced=pile.history_produced,
        consumed=pile.history_consumed,
        destroyed=pile.history_destroyed,
        demand=schedule.demand,
        shortfall=pile.shortfall,
        initial=schedule.initial.sum(axis=0),
    )


def run_campaign(model: SustainModel, campaign: Campaign) -> CampaignResult:
    """One run; random depot losses (if the campaign has attacks) draw from its seed."""
    rng = np.random.default_rng(campaign.seed) if campaign.attacks else None
    return run_schedule(model, build_schedule(model, campaign), campaign.name, rng)


def what_if(model: SustainModel, campaign: Campaign) -> tuple[CampaignResult, ...]:
    """The baseline and then each excursion, all with the same seed."""
    runs = [run_campaign(model, campaign)]
    for excursion in campaign.excursions:
        runs.append(run_campaign(*apply_excursion(model, campaign, excursion)))
    return tuple(runs)
