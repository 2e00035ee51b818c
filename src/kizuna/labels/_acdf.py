"""The access decision by a SPIF's rules, one at a time and in vectorised batches.

A clearance holds a *set* of classifications and a set of category values (X.841, as
spiffing reads it). A label's permissive tag needs one held value *of that tag*; a
restrictive tag needs every value; an informative tag never decides. A clearance under
another policy sees the label through the SPIFs' equivalences, or not at all. Every
decision is a Decision with all its reasons, and anything not fully understood denies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from kizuna.labels._model import CategoryType, Clearance, Decision, Reason
from kizuna.labels._policylabel import CategoryKey, PolicyLabel, PolicySet, translate, validate
from kizuna.labels._spif import Policy

__all__ = [
    "BATCH_INSUFFICIENT",
    "BATCH_MALFORMED",
    "BATCH_MISSING_CATEGORY",
    "BatchDecider",
    "SpifClearance",
    "access",
    "clearance_up_to",
]

_PERMIT = Decision.allow()
# Reason bits of a batch decision (0: permit)
BATCH_INSUFFICIENT = 1
BATCH_MISSING_CATEGORY = 2
BATCH_MALFORMED = 4


@dataclass(frozen=True, slots=True)
class SpifClearance:
    """What a person holds under one policy: classifications and category values."""

    policy_id: str
    classifications: frozenset[str]
    categories: frozenset[CategoryKey] = frozenset()


def clearance_up_to(
    policy: Policy, clearance: Clearance, categories: frozenset[CategoryKey] = frozenset()
) -> SpifClearance:
    """The registry's shorthand ``USA:SECRET``: every classification up to SECRET."""
    top = policy.classification(clearance.level)
    held = frozenset(c.name for c in policy.classifications if top and c.hierarchy <= top.hierarchy)
    return SpifClearance(policy.id, held, categories)


def _categories_ok(label: frozenset[CategoryKey], held: frozenset[CategoryKey]) -> bool:
    permissive: dict[str, bool] = {}
    for key in label:
        set_name, kind, _ = key
        if kind is CategoryType.RESTRICTIVE:
            if key not in held:
                return False
        elif kind is CategoryType.PERMISSIVE:
            permissive[set_name] = permissive.get(set_name, False) or key in held
    return all(permissive.values())


def access(label: PolicyLabel, clearance: SpifClearance, policies: PolicySet) -> Decision:
    """May the holder of ``clearance`` see ``label``? Never raises on a well-typed input."""
    source = policies.by_id(label.policy_id)
    if source is None:
        return Decision.deny(Reason.DENY_MALFORMED_LABEL, detail="unknown label policy")
    problems = validate(label, source)
    if problems:
        return Decision.deny(Reason.DENY_MALFORMED_LABEL, detail=problems[0])
    target = policies.by_id(clearance.policy_id)
    if target is None:
        return Decision.deny(Reason.DENY_MALFORMED_REQUEST, detail="unknown clearance policy")
    seen = label if target is source else translate(label, target, policies)
    if seen is None:
        return Decision.deny(
            Reason.DENY_NO_EQUIVALENCE, detail=f"no {target.name} equivalent of the label"
        )
    reasons: list[Reason] = []
    if seen.classification not in clearance.classifications:
        reasons.append(Reason.DENY_INSUFFICIENT_CLEARANCE)
    if not _categories_ok(seen.categories, clearance.categories):
        reasons.append(Reason.DENY_MISSING_CATEGORY)
    return Decision.deny(*reasons) if reasons else _PERMIT


_U64 = np.uint64
_Bits = npt.NDArray[np.uint64]


class BatchDecider:
    """Many labels × many clearances under one policy, as bit operations over arrays.

    Each non-informative category value of the policy gets one bit; a label is its
    classification's index and two bit rows (restrictive and permissive values), a
    clearance a classification bit mask and a row of held values. A permissive tag is a
    mask over the permissive row, so "one held value of *this* tag" is one AND per tag.
    Nothing is remembered between calls: each batch is decided from its inputs.
    """

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self._class_index = {c.name: i for i, c in enumerate(policy.classifications)}
        if len(self._class_index) > 64:
            raise ValueError("a batch decider handles at most 64 classifications")
        self._bit: dict[CategoryKey, int] = {}
        tag_bits: list[list[int]] = []
        for tag_set in policy.tag_sets:
            for tag in tag_set.tags:
                if tag.access is CategoryType.INFORMATIVE:
                    continue
                bits = []
                for v in tag.values:
                    bits.append(len(self._bit))
                    self._bit[(tag_set.name, tag.access, v.name)] = len(self._bit)
                if tag.access is CategoryType.PERMISSIVE:
                    tag_bits.append(bits)
        self.words = max(1, (len(self._bit) + 63) // 64)
        self._tag_masks = np.zeros((len(tag_bits), self.words), dtype=_U64)
        for t, bits in enumerate(tag_bits):
            for b in bits:
                self._tag_masks[t, b // 64] |= _U64(1) << _U64(b % 64)

    def _row(self, keys: frozenset[CategoryKey], kind: CategoryType) -> list[int] | None:
        row = [0] * self.words
        for key in keys:
            if key[1] is not kind:
                continue
            bit = self._bit.get(key)
            if bit is None:
                return None
            row[bit // 64] |= 1 << (bit % 64)
        return row

    def compile_labels(
        self, labels: Sequence[PolicyLabel]
    ) -> tuple[npt.NDArray[np.int64], _Bits, _Bits, npt.NDArray[np.bool_]]:
        """Arrays for labels already valid under this policy (others are marked malformed)."""
        n = len(labels)
        cls = np.zeros(n, dtype=np.int64)
        restrictive = np.zeros((n, self.words), dtype=_U64)
        permissive = np.zeros((n, self.words), dtype=_U64)
        bad = np.zeros(n, dtype=np.bool_)
        for i, lb in enumerate(labels):
            idx = self._class_index.get(lb.classification)
            r = self._row(lb.categories, CategoryType.RESTRICTIVE)
            p = self._row(lb.categories, CategoryType.PERMISSIVE)
            if lb.policy_id != self.policy.id or idx is None or r is None or p is None:
                bad[i] = True
                continue
            cls[i] = idx
            restrictive[i] = r
            permissive[i] = p
        return cls, restrictive, permissive, bad

    def compile_clearances(
        self, clearances: Sequence[SpifClearance]
    ) -> tuple[_Bits, _Bits, npt.NDArray[np.bool_]]:
        """Arrays for clearances under this policy (others are marked malformed)."""
        n = len(clearances)
        classes = np.zeros(n, dtype=_U64)
        held = np.zeros((n, self.words), dtype=_U64)
        bad = np.zeros(n, dtype=np.bool_)
        for i, c in enumerate(clearances):
            if c.policy_id != self.policy.id:
                bad[i] = True
                continue
            mask = 0
            for name in c.classifications:
                idx = self._class_index.get(name)
                if idx is not None:
                    mask |= 1 << idx
            classes[i] = mask
            row = [0] * self.words
            for key in c.categories:
                bit = self._bit.get(key)
                if bit is not None:
                    row[bit // 64] |= 1 << (bit % 64)
            held[i] = row
        return classes, held, bad

    def decide_arrays(
        self,
        labels: tuple[npt.NDArray[np.int64], _Bits, _Bits, npt.NDArray[np.bool_]],
        clearances: tuple[_Bits, _Bits, npt.NDArray[np.bool_]],
    ) -> npt.NDArray[np.uint8]:
        """Reason bits for every (label, clearance) pair: 0 permits (shape L × C)."""
        cls, restrictive, permissive, bad_l = labels
        classes, held, bad_c = clearances
        one = _U64(1)
        cls_bit = np.left_shift(one, cls.astype(_U64))  # L
        out = np.where((classes[None, :] & cls_bit[:, None]) == 0, BATCH_INSUFFICIENT, 0).astype(
            np.uint8
        )
        missing = np.zeros(out.shape, dtype=np.bool_)
        not_held = ~held  # C × W
        for w in range(self.words):
            missing |= (restrictive[:, w, None] & not_held[None, :, w]) != 0
        for mask in self._tag_masks:
            asked = permissive & mask  # L × W
            wants = (asked != 0).any(axis=1)  # L
            if not wants.any():
                continue
            hit = np.zeros(out.shape, dtype=np.bool_)
            for w in range(self.words):
                if mask[w]:
                    hit |= (asked[:, w, None] & held[None, :, w]) != 0
            missing |= wants[:, None] & ~hit
        out |= np.where(missing, BATCH_MISSING_CATEGORY, 0).astype(np.uint8)
        out |= np.where(bad_l[:, None] | bad_c[None, :], BATCH_MALFORMED, 0).astype(np.uint8)
        return out

    def decide(
        self, labels: Sequence[PolicyLabel], clearances: Sequence[SpifClearance]
    ) -> npt.NDArray[np.uint8]:
        """``decide_arrays`` on freshly compiled inputs; labels are validated first."""
        valid = [not validate(lb, self.policy) for lb in labels]
        compiled = self.compile_labels(labels)
        compiled[3][:] |= ~np.array(valid, dtype=np.bool_)
        return self.decide_arrays(compiled, self.compile_clearances(clearances))
