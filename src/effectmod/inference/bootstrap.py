"""Percentile bootstrap CIs of every interaction (CONTRACT §3 'bootstrap').

One set of stratified resamples serves the whole run. Linear models are refitted all at once
as frequency-weighted least squares (the batched engine); logistic ML models by stacked Newton
steps with the counts as weights (replicates with separation, and Firth fits, go to the engine one
by one); Poisson, negative binomial and ordinal models by batched Newton fits with the counts as
weights (``bootstrap_counts``; the replicates the batch is not sure of go to the loop); mixed
models refit replicate by replicate on the resampled rows. Every path takes the
rank decision of ``engines.linalg``; a replicate is dropped (NaN, not counted in
boot_replicates) only when the engine says it cannot be estimated (``engines.errors``).
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from ..engines.logistic import fit_logistic_stacked
from ..engines.ols import fit_ols_batch
from ..models.fit import FittedModel
from ..plan.schema import Plan
from ..records import ROW_KEY
from .bootstrap_linear import comparison_targets, draw_key, linear_draws
from .resample import counts_to_indices, percentile_interval


def bootstrap_draws(model: FittedModel, counts: np.ndarray, plan: Plan) -> dict[tuple, np.ndarray]:
    """(timepoint, term) -> (B,) interaction estimates (multi-arm: (timepoint, term, comparison)) over the replicates (NaN where singular)."""
    d = model.design
    spec = model.spec
    if spec.kind == "linear":
        assert spec.timepoint is not None       # a linear model is fitted per follow-up
        W = counts[:, d.rows]
        batch = fit_ols_batch(d.X, d.y, W)
        return {draw_key(spec.timepoint, term, cmp): batch.coef[:, d.index(f"{d.treat_name(arm)}:{name}")]
                for arm, cmp in comparison_targets(d) for term, name in zip(d.terms, d.mod_names)}
    if spec.kind == "cox":
        from .survival_bootstrap import cox_bootstrap
        return cox_bootstrap(model, counts)
    if spec.kind == "rmst":
        return {}           # no bootstrap of the RMST rows: their columns stay empty
    if spec.kind == "logistic" and plan.analysis.binary_method != "firth":
        return _logistic_batch(model, counts, plan)
    if (spec.kind in ("poisson", "negative_binomial", "ordinal") and not getattr(model.fit, "diverged", False)
            and (spec.kind != "negative_binomial" or np.isfinite(getattr(model.fit, "theta", np.nan)))):
        from .bootstrap_counts import count_or_ordinal_draws
        return count_or_ordinal_draws(model, counts, plan, _refit_loop)
    return _refit_loop(model, counts, plan)


def _logistic_batch(model: FittedModel, counts: np.ndarray, plan: Plan):
    """Logistic replicates by stacked Newton steps; the few that do not converge (separation in
    that resample, where the engine's own policy decides, e.g. Firth) are refitted one by one."""
    d = model.design
    spec = model.spec
    coef, _, converged = fit_logistic_stacked(d.X, d.y, counts[:, d.rows].astype(float))
    out = {draw_key(spec.timepoint, term, cmp): np.where(converged, coef[:, d.index(f"{d.treat_name(arm)}:{name}")], np.nan)
           for arm, cmp in comparison_targets(d) for term, name in zip(d.terms, d.mod_names)}
    redo = np.flatnonzero(~converged)
    if redo.size:
        loop = _refit_loop(model, counts[redo], plan)
        for key, values in loop.items():
            out[key][redo] = values
    return out


def _refit_loop(model: FittedModel, counts: np.ndarray, plan: Plan):
    from ..engines.errors import EngineError
    from ..models.fit import NotEstimable, run_engine

    d = model.design
    spec = model.spec
    timepoints = d.timepoints
    out = {draw_key(t, term, cmp): np.full(counts.shape[0], np.nan) for t in timepoints for term in d.terms for _, cmp in comparison_targets(d)}
    # row positions of each participant in the design (mixed models have several rows each)
    participants = np.unique(d.rows)
    rows_of = {p: np.flatnonzero(d.rows == p) for p in participants}
    for b in range(counts.shape[0]):
        picks = counts_to_indices(counts[b])
        pieces: list[np.ndarray] = []
        groups: list[np.ndarray] = []
        for k, p in enumerate(picks):
            r = rows_of.get(p)
            if r is None:
                continue
            pieces.append(r)
            groups.append(np.full(r.size, k))   # a participant drawn twice is two participants
        if not pieces:
            continue
        idx = np.concatenate(pieces)
        sub = dataclasses.replace(d, X=d.X[idx], y=d.y[idx], rows=d.rows[idx],
                                  offset=d.offset[idx] if d.offset is not None else None,
                                  groups=np.concatenate(groups) if d.groups is not None else None,
                                  times=d.times[idx] if d.times is not None else None)
        try:
            fit, _, _ = run_engine(spec, sub, plan)
        except (EngineError, NotEstimable):
            # a replicate the engine cannot estimate (collinear, exact fit, not converged) is
            # dropped; boot_replicates counts the ones kept. Anything else is a bug: let it out.
            continue
        if getattr(fit, "diverged", False):
            # separation in this resample under maximum likelihood: its interaction is infinite,
            # not a draw from the sampling distribution; dropped like a replicate that cannot be fitted
            continue
        for t in timepoints:
            for arm, cmp in comparison_targets(d):
                for j, term in enumerate(d.terms):
                    out[draw_key(t, term, cmp)][b] = fit.contrast(d.interaction_L(j, t, arm)).estimate
    return out


def bootstrap_frame(fitted: list[FittedModel], plan: Plan, counts: np.ndarray, progress=None) -> pd.DataFrame:
    """One row per results row of ``fitted`` (ROW_KEY first): ``boot_ci_low``, ``boot_ci_high``
    and ``boot_replicates`` (the replicates that gave an estimate; 0 and empty bounds for rows
    with no estimate, e.g. joint tests and models that were not estimable)."""
    out = []
    # linear models: all at once, models on the same participants sharing their products
    linear = linear_draws(fitted, counts)
    for i, model in enumerate(fitted):
        if i in linear:
            draws = linear[i]
        else:
            draws = bootstrap_draws(model, counts, plan) if model.fit is not None else {}
        for row in model.rows:
            key = draw_key(row["timepoint"], row["term"], row.get("comparison", ""))
            lo, hi, valid = np.nan, np.nan, 0
            if key in draws:
                lo, hi = percentile_interval(draws[key], plan.analysis.ci_level)
                valid = int(np.isfinite(draws[key]).sum())
            out.append({**{k: row.get(k, "") for k in ROW_KEY}, "boot_ci_low": lo, "boot_ci_high": hi, "boot_replicates": valid})
        if progress:
            progress(i + 1, len(fitted), "bootstrap")
    frame = pd.DataFrame(out, columns=[*ROW_KEY, "boot_ci_low", "boot_ci_high", "boot_replicates"])
    return frame.astype({"boot_ci_low": float, "boot_ci_high": float, "boot_replicates": int})
