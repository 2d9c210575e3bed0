"""A continuous moderator over a model's analysed participants: its observed values and the
numbers the interpretation takes from them (percentiles, range, SD), worked out once per model.

The conditional effects (percentiles), the Johnson-Neyman regions (observed range) and the
per-SD interaction (SD) each read the same values of the same model; at a million participants
gathering them costs milliseconds per model and the percentiles more, so ``moderator_summary``
keeps the numbers with the model's design (dropped with it). The numbers are the ones each step
computed on its own: ``np.std(v, ddof=1)``, ``v.min()``/``v.max()`` and ``np.percentile(v, ...)``
(``quantiles.percentiles``, numpy's answer without partitioning every value).
"""
from __future__ import annotations

import math
import weakref
from dataclasses import dataclass

import numpy as np

from ..data.column_facts import column_facts
from .quantiles import percentiles

PERCENTILES = (10, 25, 50, 75, 90)


def _participants(fm) -> np.ndarray:
    rows = fm.design.rows
    if _increasing(rows):
        return rows                          # a single-follow-up design: each participant once, in order
    if rows.size and np.all(rows[1:] >= rows[:-1]):
        # designs keep participants in order: no sort needed (this runs for every model)
        return rows[np.r_[True, rows[1:] != rows[:-1]]]
    return np.unique(rows)


# id(rows) -> (weak reference, strictly increasing?): the models of one outcome share their rows
_INCREASING: dict[int, tuple[weakref.ref, bool]] = {}


def _increasing(rows: np.ndarray) -> bool:
    hit = _INCREASING.get(id(rows))
    if hit is not None and hit[0]() is rows:
        return hit[1]
    answer = bool(rows.size and np.all(rows[1:] > rows[:-1]))
    if not rows.flags.writeable:             # shared, read-only rows (design_lazy): kept
        _INCREASING[id(rows)] = (weakref.ref(rows), answer)
        weakref.finalize(rows, _INCREASING.pop, id(rows), None)
    return answer


def moderator_values(fm, trial) -> np.ndarray:
    """The moderator's observed values over the model's analysed participants (one per person)."""
    values = trial.moderators[fm.spec.moderator].values
    v = values[_participants(fm)].astype(float, copy=False)
    if values.dtype == np.float64 and column_facts(values).missing == 0:
        return v                             # nothing missing in the column: nothing to drop
    return v[~np.isnan(v)]


@dataclass(frozen=True)
class ModeratorSummary:
    size: int
    lo: float                     # v.min() (nan without values)
    hi: float                     # v.max()
    sd: float                     # np.std(v, ddof=1), nan for fewer than two values
    percentiles: tuple[float, ...]   # np.percentile(v, PERCENTILES) (empty without values)


# id(design) -> [(moderator values array, summary)]: a model's design, dropped with it
_MEMO: dict[int, list[tuple[np.ndarray, ModeratorSummary]]] = {}


def moderator_summary(fm, trial) -> ModeratorSummary:
    """The summary of ``moderator_values(fm, trial)``, worked out once per model."""
    values = trial.moderators[fm.spec.moderator].values
    key = id(fm.design)
    entries = _MEMO.get(key)
    if entries is None:
        entries = _MEMO[key] = []
        weakref.finalize(fm.design, _MEMO.pop, key, None)
    for seen, summary in entries:
        if seen is values:
            return summary
    summary = summarise(moderator_values(fm, trial))
    entries.append((values, summary))
    return summary


def summarise(v: np.ndarray) -> ModeratorSummary:
    if not v.size:
        return ModeratorSummary(0, math.nan, math.nan, math.nan, ())
    lo, hi = float(v.min()), float(v.max())
    sd = float(np.std(v, ddof=1)) if v.size > 1 else math.nan
    qs = percentiles(v, PERCENTILES, lo, hi)
    return ModeratorSummary(int(v.size), lo, hi, sd, tuple(qs.tolist()))
