"""Ordinal outcomes on the probability scale: the standardised probability of each category per
arm, within each level of a binary or categorical moderator (or at the 10th, 50th and 90th
percentiles of a continuous one), beside the proportional odds ratio.

Marginal standardisation over the model's participants, as for risks (``inference.binary``):
each keeps their own covariates and baseline; only the treatment, moderator and interaction
columns are set. P(Y = j) = F(theta_j - eta) - F(theta_{j-1} - eta) with the fit's thresholds;
delta-method SEs by the gradient in the coefficients and thresholds (numerical central
differences of the analytic probabilities, on the fit's full covariance). The results.json
section ``category_probabilities`` holds them.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import special, stats

from ..engines.ordinal import OrdinalFit
from ..models.comparisons import comparison_models, is_multi_arm
from .additive import _set

COLUMNS = ("outcome", "timepoint", "moderator", "model", "level", "moderator_value", "arm", "category",
           "probability", "std_error", "ci_low", "ci_high", "n")
PERCENTILES = (10, 50, 90)


def _probabilities(theta: np.ndarray, beta: np.ndarray, Z: np.ndarray) -> np.ndarray:
    """Mean over rows of each category's probability (K,) at thresholds ``theta``."""
    cum = special.expit(theta[None, :] - (Z @ beta)[:, None])
    cum = np.column_stack([np.zeros(len(cum)), cum, np.ones(len(cum))])
    return np.diff(cum, axis=1).mean(axis=0)


def _with_se(fit, Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    keep = np.array([nm != "(Intercept)" for nm in fit.names])
    theta = np.asarray(fit.thresholds, dtype=float)
    beta = np.asarray(fit.coef, dtype=float)[keep]
    Zk = Z[:, keep]
    params = np.concatenate([theta, beta])
    k = theta.size

    def probs(p):
        return _probabilities(p[:k], p[k:], Zk)
    est = probs(params)
    if fit.full_vcov is None:
        return est, np.full(est.shape, math.nan)
    J = np.empty((est.size, params.size))
    for j in range(params.size):
        h = 1e-6 * max(1.0, abs(params[j]))
        e = np.zeros_like(params)
        e[j] = h
        J[:, j] = (probs(params + e) - probs(params - e)) / (2 * h)
    se = np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", J, fit.full_vcov, J), 0.0))
    return est, se


def design_points(d, m) -> tuple[int, list[int], list[int], list[tuple]]:
    """The treatment, moderator and interaction columns of a two-arm design, and the moderator values
    at which probabilities are standardised: (label, raw value, design values) at the percentiles of a
    continuous moderator, at each level of a binary or categorical one."""
    t_col = d.index("treat")
    m_cols = [d.index(nm) for nm in d.mod_names]
    i_cols = [d.index(f"treat:{nm}") for nm in d.mod_names]
    centre = d.mod_centre[0] if d.mod_centre else 0.0
    if m.type == "continuous":
        raw = d.X[:, m_cols[0]] + centre
        points = [(f"P{q}", float(np.percentile(raw, q)), [float(np.percentile(raw, q)) - centre]) for q in PERCENTILES]
    else:
        points = [(lv, math.nan, [1.0 if k == j - 1 else 0.0 for k in range(len(m_cols))]) for j, lv in enumerate(m.levels)]
    return t_col, m_cols, i_cols, points


def category_probabilities(fitted: list, trial, plan) -> pd.DataFrame:
    rows = []
    z = stats.norm.ppf(1.0 - (1.0 - plan.analysis.ci_level) / 2.0)
    # multi-arm: each comparison's view of the model (standardised over its two arms' participants)
    for comparison, model in comparison_models(fitted):
        # a fit of the engine itself: pooled (imputed) fits have no thresholds, their rows stay without
        if model.spec.kind != "ordinal" or not isinstance(model.fit, OrdinalFit) or model.fit.diverged:
            continue
        d, fit, spec = model.design, model.fit, model.spec
        m = trial.moderators[spec.moderator]
        o = trial.outcomes[spec.outcome]
        t_col, m_cols, i_cols, points = design_points(d, m)
        names = [o.levels[c] if c < len(o.levels) else str(c) for c in fit.categories]
        for level, value, values in points:
            for t, arm in ((1.0, "treated"), (0.0, "control")):
                est, se = _with_se(fit, _set(d.X, t_col, t, m_cols, i_cols, values))
                for cat, p, s in zip(names, est, se):
                    rows.append({"outcome": spec.outcome, "timepoint": spec.timepoint, "moderator": spec.moderator,
                                 "model": spec.kind, "level": level, "moderator_value": value, "arm": arm, "category": cat,
                                 "probability": float(p), "std_error": float(s), "ci_low": float(max(p - z * s, 0.0)),
                                 "ci_high": float(min(p + z * s, 1.0)), "n": d.n,
                                 **({"comparison": comparison} if comparison else {})})
    return pd.DataFrame(rows, columns=list(COLUMNS) + (["comparison"] if is_multi_arm(fitted) else []))
