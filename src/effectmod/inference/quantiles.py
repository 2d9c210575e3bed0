"""``np.percentile(v, q)`` (numpy's default "linear" method, R's type 7) of a long 1-D array,
without partitioning the whole array.

``np.percentile`` partitions every value (about 12 ms for 850,000 values; forty models of a
million participants pay it per model). The answer depends only on the array's length and the
order statistics next to each virtual index, so they are found here by counting: the values
are put into bins by a monotone map (``floor((v - min) * scale)``: a larger value never lands
in a lower bin), the bin holding the k-th smallest value is found from the cumulative counts,
and only that bin's values are partitioned. The interpolation between the two neighbouring
order statistics is numpy's own (``_lerp`` of ``numpy.lib._function_base_impl``, written out
below); a check against ``np.percentile`` on first use falls back to it for good if a numpy
release ever computes differently, so the numbers are numpy's in every case.
"""
from __future__ import annotations

import numpy as np

# below this many values np.percentile itself is cheap
MIN_VALUES = 20_000
BINS = 4096

_agrees: bool | None = None


def percentiles(v: np.ndarray, q, lo: float | None = None, hi: float | None = None) -> np.ndarray:
    """``np.percentile(v, q)`` for a 1-D float array without NaN; ``lo``/``hi`` its minimum and
    maximum when the caller has them."""
    if v.size < MIN_VALUES or v.dtype != np.float64 or v.ndim != 1 or not _numpy_agrees():
        return np.percentile(v, q)
    lo = float(v.min()) if lo is None else lo
    hi = float(v.max()) if hi is None else hi
    if not (np.isfinite(lo) and np.isfinite(hi)) or hi == lo:
        return np.percentile(v, q)
    return _counted(v, np.asarray(q), lo, hi)


def _counted(v: np.ndarray, q: np.ndarray, lo: float, hi: float) -> np.ndarray:
    n = v.size
    prev, nxt, gamma = _indexes(n, q)
    wanted = np.unique(np.concatenate([prev, nxt]))
    value = _whole_numbers(v, wanted, lo, hi)
    if value is None:
        value = _binned(v, wanted, lo, hi)
    a = np.array([value[int(k)] for k in prev])
    b = np.array([value[int(k)] for k in nxt])
    return _lerp(a, b, gamma)


def _whole_numbers(v: np.ndarray, wanted: np.ndarray, lo: float, hi: float) -> dict[int, float] | None:
    """The wanted order statistics when every value is ``lo`` plus a whole number below 2**20
    (checked exactly: each value equals ``lo + code``); None otherwise."""
    if hi - lo >= 2 ** 20 or abs(lo) >= 2.0 ** 40:
        return None
    code = np.subtract(v, lo).astype(np.intp)
    back = code + lo
    if not np.array_equal(back, v):
        return None
    del back
    ends = np.cumsum(np.bincount(code))
    where = np.searchsorted(ends, wanted, side="right")
    return {int(k): float(lo + float(c)) for k, c in zip(wanted, where)}


def _binned(v: np.ndarray, wanted: np.ndarray, lo: float, hi: float) -> dict[int, float]:
    """The wanted order statistics: each found in its bin (a monotone map of the values), of
    which only the bins holding one are partitioned."""
    bins = np.subtract(v, lo)
    bins *= BINS / (hi - lo)
    idx = bins.astype(np.int32)
    del bins
    np.minimum(idx, BINS - 1, out=idx)
    counts = np.bincount(idx, minlength=BINS)
    ends = np.cumsum(counts)
    where = np.searchsorted(ends, wanted, side="right")
    # one pass picks the values of every bin that holds a wanted order statistic
    needed = np.zeros(BINS, dtype=bool)
    needed[where] = True
    pick = needed[idx]
    sub, sub_bin = v[pick], idx[pick]
    value: dict[int, float] = {}
    for b in np.unique(where):
        ks = wanted[where == b]
        inside = sub[sub_bin == b]
        first = int(ends[b] - counts[b])
        part = np.partition(inside, (ks - first).tolist())
        value.update((int(k), part[int(k) - first]) for k in ks)
    return value


def _indexes(n: int, q: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """numpy's neighbouring order statistics (0-based) and weights of the linear method."""
    quantiles = np.true_divide(q, 100)
    virtual = np.asanyarray((n - 1) * quantiles)
    previous = np.floor(virtual)
    following = previous + 1
    above = virtual >= n - 1
    previous[above] = -1
    following[above] = -1
    below = virtual < 0
    previous[below] = 0
    following[below] = 0
    prev_i = previous.astype(np.intp)
    next_i = following.astype(np.intp)
    gamma = np.asanyarray(virtual - prev_i, dtype=virtual.dtype)
    # -1 is the largest value
    return np.where(prev_i < 0, n - 1, prev_i), np.where(next_i < 0, n - 1, next_i), gamma


def _lerp(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    diff_b_a = b - a
    out = np.add(a, diff_b_a * t)
    np.subtract(b, diff_b_a * (1 - t), out=out, where=t >= 0.5)
    return out


def _numpy_agrees() -> bool:
    """The counted percentiles equal np.percentile's on a few awkward arrays (checked once)."""
    global _agrees
    if _agrees is None:
        rng = np.random.default_rng(20240601)
        q = (0, 1, 10, 25, 33.3, 50, 75, 90, 99.9, 100)
        tests = [rng.normal(size=n) for n in (2, 3, 7, 1000, 1001)]
        tests += [np.round(rng.normal(20, 6, 5003)), rng.exponential(size=4099) * 1e-7 + 1e9, np.repeat([1.0, 2.0], [3, 5000])]
        _agrees = all(np.array_equal(_counted(t, np.asarray(q), float(t.min()), float(t.max())), np.percentile(t, q))
                      for t in tests)
    return _agrees
