"""Bootstrap replicates of a Cox interaction model, refitted all at once: each replicate's
resampled rows (the run's stratified resamples) padded to one length and fitted by the batched
Efron Newton fit (``engines.cox.fit_cox_batch``). A padding row is never at risk and never an
event (time -inf, event 0), so it leaves the partial likelihood unchanged. A replicate that does
not converge (a level without events in that resample, a singular information) is NaN, dropped
like any replicate the engine cannot estimate."""
from __future__ import annotations

import numpy as np

from .bootstrap_linear import comparison_targets, draw_key
from .resample import counts_to_indices

# replicates fitted together (bounds memory: B x n x p x p numbers per chunk)
CHUNK = 200


def cox_bootstrap(model, counts: np.ndarray) -> dict[tuple, np.ndarray]:
    """(timepoint, term) -> (B,) interaction estimates, keyed as every family's draws are
    (``bootstrap_linear.draw_key``: the comparison too in a multi-arm model)."""
    from ..engines.cox import fit_cox_batch
    d = model.design
    assert d.event is not None
    pos = np.full(int(counts.shape[1]), -1)
    pos[d.rows] = np.arange(len(d.rows))
    picks = [pos[counts_to_indices(c)] for c in counts]
    picks = [p[p >= 0] for p in picks]
    n = max((len(p) for p in picks), default=0)
    B, k = counts.shape[0], d.X.shape[1]
    # multi-arm: every comparison's interactions
    keys = [draw_key(t, term, cmp) for t in d.timepoints for _, cmp in comparison_targets(d) for term in d.terms]
    Ls = np.array([d.interaction_L(j, t, arm) for t in d.timepoints for arm, _ in comparison_targets(d) for j in range(len(d.terms))])
    est = np.full((B, len(Ls)), np.nan)
    for start in range(0, B, CHUNK):
        stop = min(B, start + CHUNK)
        X = np.zeros((stop - start, n, k))
        time = np.full((stop - start, n), -np.inf)
        event = np.zeros((stop - start, n))
        for i, p in enumerate(picks[start:stop]):
            X[i, :len(p)] = d.X[p]
            time[i, :len(p)] = d.y[p]
            event[i, :len(p)] = d.event[p]
        beta, ok = fit_cox_batch(X, time, event)
        est[start:stop] = np.where(ok[:, None], beta @ Ls.T, np.nan)
    return {key: est[:, i] for i, key in enumerate(keys)}
