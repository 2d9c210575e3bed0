"""Bootstrap replicates of Poisson, negative binomial and ordinal (proportional-odds) models all at once.

The resample counts are frequency weights on the model's design (``engines.count_batch``): one
batched Newton fit of every replicate instead of a loop of single fits on resampled rows. The
replicates the batch is not sure of (rank, singular information, a zero-event subgroup, a
category missing from the resample, a flat direction, no convergence) are refitted one by one by
the caller's loop, so the engine's own policy decides them as before.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..engines.count_batch import negbin_weighted, ordinal_weighted, poisson_weighted
from .bootstrap_linear import comparison_targets, draw_key


def count_or_ordinal_draws(model, counts: np.ndarray, plan, refit_loop: Callable) -> dict[tuple, np.ndarray]:
    """(timepoint, term[, comparison]) -> (B,) interaction estimates of a count or ordinal model
    (NaN where the single-fit engine drops the replicate)."""
    d = model.design
    spec = model.spec
    W = counts[:, d.rows].astype(float)
    if spec.kind == "poisson":
        coef, done = poisson_weighted(d.X, d.y, W, d.offset, np.asarray(model.fit.coef, dtype=float))
    elif spec.kind == "negative_binomial":
        coef, done = negbin_weighted(d.X, d.y, W, d.offset, np.asarray(model.fit.coef, dtype=float), model.fit.theta)
    else:
        coef, done = ordinal_weighted(d.X, d.y, d.names, W, model.fit.thresholds, model.fit.coef)
    out = {draw_key(spec.timepoint, term, cmp): np.where(done, coef[:, d.index(f"{d.treat_name(arm)}:{name}")], np.nan)
           for arm, cmp in comparison_targets(d) for term, name in zip(d.terms, d.mod_names)}
    redo = np.flatnonzero(~done)
    if redo.size:
        for key, values in refit_loop(model, counts[redo], plan).items():
            out[key][redo] = values
    return out
