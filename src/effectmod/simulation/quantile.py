"""Fast quantile transform of standard normal draws onto a measure's discrete margin.

``to_margin(z, table(support, probs))`` gives ``support[searchsorted(cumprobs, ndtr(z), "right")]``
(the category whose cumulative probability bracket holds ndtr(z)) without evaluating ndtr per
draw: each cumulative probability c is turned once into its z threshold, the smallest double t
with ndtr(t) >= c, so the category index is the number of thresholds <= z. That count is read
from a uniform lookup table (cells narrower than half the smallest gap between thresholds, so a
cell's guess is off by at most one) and corrected with one comparison on each side. The two
forms agree for every draw except one within a few ulps of a threshold where scipy's ndtr is
not monotone in the last bit (probability of order 1e-16 per draw).
"""
from __future__ import annotations

import numpy as np
from scipy import special

_MAX_CELLS = 1 << 16


def _threshold(c: float) -> float:
    """Smallest double t with ndtr(t) >= c (ndtr is non-decreasing); +inf when none."""
    lo, hi = -40.0, 40.0                      # ndtr(-40) == 0.0, ndtr(40) == 1.0
    if special.ndtr(hi) < c:
        return float("inf")
    if special.ndtr(lo) >= c:
        return lo
    while True:
        mid = lo + (hi - lo) / 2
        if mid <= lo or mid >= hi:
            return hi
        if special.ndtr(mid) >= c:
            hi = mid
        else:
            lo = mid


def table(support: np.ndarray, probs: np.ndarray) -> tuple:
    """The lookup table of a margin (support, probabilities); computed once per measure."""
    cum = np.cumsum(probs)[:-1]
    t = np.array([_threshold(float(c)) for c in cum])
    t = t[np.isfinite(t)]
    if t.size == 0:
        return support, t, None
    gap = float(np.min(np.diff(t))) if t.size > 1 else 1.0
    if not gap > 0:
        return support, t, None
    h = gap / 2
    cells = int(np.ceil((t[-1] - t[0]) / h)) + 1
    if cells > _MAX_CELLS:
        return support, t, None
    centres = t[0] + (np.arange(cells) + 0.5) * h
    guess = np.searchsorted(t, centres, side="right").astype(np.intp)
    padded = np.r_[-np.inf, t, np.nan]          # NaN: never exceeded, not even by +inf
    return support, t, (float(t[0]), 1.0 / h, cells - 1, guess, padded)


def to_margin(z: np.ndarray, lookup: tuple) -> np.ndarray:
    """The margin's values at standard normal draws z, given ``table(support, probs)``."""
    support, t, lut = lookup
    if lut is None:
        return support[np.searchsorted(t, z, side="right")]
    a, inv_h, last, guess, padded = lut
    cell = (z - a) * inv_h
    np.clip(cell, 0, last, out=cell)
    g = guess[cell.astype(np.intp)]
    idx = g + (z >= padded[g + 1]) - (z < padded[g])
    return support[idx]
