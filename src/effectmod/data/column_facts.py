"""Facts of one participant-level column of the prepared trial, worked out once per array.

Every model of a moderator asks the same questions of the same columns (is the moderator the
baseline in other units? where is its centre?), and a million participants make each full-column
pass cost milliseconds; forty models asked them forty times. ``column_facts`` answers from the
observed values (``col[~np.isnan(col)]``, the array the checks used) with numpy's own reductions,
so the numbers are the ones each check computed, and keeps them while the array lives. The
arrays of a prepared trial are not changed in place (``TrialData`` is frozen and the steps make
new arrays).
"""
from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ColumnFacts:
    missing: int                 # NaN count
    size: int                    # observed values
    lo: np.float64 | None        # min/max of the observed values (None without any)
    hi: np.float64 | None
    mean: np.float64 | None      # observed.mean(), observed.std() (ddof 0)
    std: np.float64 | None

    @property
    def constant(self) -> bool:
        """``np.ptp(observed) == 0`` (no observed value: True)."""
        return self.lo is None or self.hi is None or bool(self.hi - self.lo == 0)


# id(array) -> (array, facts): the array is held weakly through weakref.finalize
_FACTS: dict[int, tuple[weakref.ref, ColumnFacts]] = {}


def column_facts(col: np.ndarray) -> ColumnFacts:
    """The facts of a 1-D float column (computed on first request)."""
    key = id(col)
    hit = _FACTS.get(key)
    if hit is not None and hit[0]() is col:
        return hit[1]
    seen = col[~np.isnan(col)]
    if seen.size:
        facts = ColumnFacts(int(col.size - seen.size), int(seen.size), seen.min(), seen.max(), seen.mean(), seen.std())
    else:
        facts = ColumnFacts(int(col.size), 0, None, None, None, None)
    try:
        ref = weakref.ref(col)
    except TypeError:                       # not weakly referable: not kept
        return facts
    _FACTS[key] = (ref, facts)
    weakref.finalize(col, _FACTS.pop, key, None)
    return facts


def same_missing(a: np.ndarray, b: np.ndarray) -> bool:
    """``np.array_equal(np.isnan(a), np.isnan(b))``, answered from the NaN counts when they
    differ or are both 0."""
    if a.shape != b.shape:
        return False
    na, nb = column_facts(a).missing, column_facts(b).missing
    if na != nb:
        return False
    if na == 0:
        return True
    return bool(np.array_equal(np.isnan(a), np.isnan(b)))
