"""Resampling plans shared by every model of a run."""
from __future__ import annotations

import numpy as np


def stratified_bootstrap_counts(treat: np.ndarray, replicates: int, rng: np.random.Generator) -> np.ndarray:
    """(B, n) counts: how often each participant is drawn in each replicate, resampling with
    replacement within each arm so that every replicate keeps the trial's arm sizes."""
    n = len(treat)
    counts = np.zeros((replicates, n), dtype=np.int32)
    # two arms: 0 then 1, as always; a multi-arm trial passes its arm codes (0..k), each a stratum
    for arm in (0.0, 1.0) if np.all((treat == 0) | (treat == 1)) else np.unique(treat):
        members = np.flatnonzero(treat == arm)
        if members.size == 0:
            continue
        m = members.size
        draws = rng.integers(0, m, size=(replicates, m))
        # one bincount over all replicates: replicate b's draws are offset into cells b*m..b*m+m-1
        flat = (draws + (np.arange(replicates) * m)[:, None]).ravel()
        counts[:, members] = np.bincount(flat, minlength=replicates * m).reshape(replicates, m)
    return counts


def counts_to_indices(counts_row: np.ndarray) -> np.ndarray:
    """The participant indices of one replicate (for engines that refit on rows)."""
    return np.repeat(np.arange(counts_row.size), counts_row)


def percentile_interval(draws: np.ndarray, level: float) -> tuple[float, float]:
    """Percentile CI of finite draws (R's quantile type 7, numpy's default)."""
    draws = draws[np.isfinite(draws)]
    if draws.size < 2:
        return float("nan"), float("nan")
    alpha = (1.0 - level) / 2.0
    lo, hi = np.quantile(draws, [alpha, 1.0 - alpha])
    return float(lo), float(hi)
