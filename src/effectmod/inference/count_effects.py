"""Count outcomes on the absolute (rate-difference) scale, beside the ratio of rate ratios.

A count interaction is a ratio of rate ratios; whether the *absolute* benefit (events avoided)
differs by moderator is a different question. As ``inference.binary`` does for risks, we answer
by marginal standardisation over the model's participants: each keeps their own covariates, and
only the treatment, moderator and treatment-by-moderator columns are set to the values compared.
The rate is ``exp(x'b)`` without the offset: the expected count per unit of exposure when the
outcome has an ``exposure`` (e.g. per week), else the expected count at that follow-up.

- binary and categorical moderators: the standardised rate in each arm within each level, the rate
  difference (treated - control) per level, and as ``rd_interaction`` each non-reference level's
  rate difference minus the reference level's;
- continuous moderators: the rate difference at the 10th, 50th and 90th percentiles of the
  moderator among the model's participants, and as ``rd_interaction`` the change in the rate
  difference per unit of the moderator at its mean.

Standard errors by the delta method with the analytic gradient; z intervals and p. The table's
``rd_*`` columns (shared with the logistic additive scale) hold the ``rd_interaction`` of count
rows; a fit with a zero-event subgroup (diverged) leaves them empty.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..engines.base import Contrast
from ..engines.poisson import CountFit
from .additive import _set
from .binary import absolute_scale, contrast_numbers

COUNT_KINDS = ("poisson", "negative_binomial")
PERCENTILES = (10, 50, 90)


def _rate(Z: np.ndarray, b: np.ndarray) -> tuple[float, np.ndarray]:
    mu = np.exp(np.clip(Z @ b, -700.0, 700.0))
    return float(mu.mean()), (Z * mu[:, None]).mean(axis=0)


def _contrast(value: float, grad: np.ndarray, vcov: np.ndarray) -> Contrast:
    return Contrast(value, math.sqrt(max(float(grad @ vcov @ grad), 0.0)), math.inf)


def rate_difference(fit, X, t_col: int, m_cols: list[int], i_cols: list[int], values) -> Contrast:
    """mean_i[exp(z_i1'b) - exp(z_i0'b)] with the moderator columns at ``values`` (as in X)."""
    b = np.asarray(fit.coef, dtype=float)
    r1, g1 = _rate(_set(X, t_col, 1.0, m_cols, i_cols, values), b)
    r0, g0 = _rate(_set(X, t_col, 0.0, m_cols, i_cols, values), b)
    return _contrast(r1 - r0, g1 - g0, np.asarray(fit.vcov))


def rate_interaction(fit, X, t_col: int, m_cols: list[int], i_cols: list[int], kind: str, level: int = 0) -> Contrast:
    """The interaction on the rate-difference scale: RD(level) - RD(reference), or for a
    continuous moderator dRD/dm at the moderator's mean."""
    b = np.asarray(fit.coef, dtype=float)
    value, grad = 0.0, np.zeros_like(b)
    if kind == "continuous":
        m0 = float(np.mean(X[:, m_cols[0]]))
        for t, sign in ((1.0, 1.0), (0.0, -1.0)):
            slope = np.zeros_like(b)
            slope[m_cols[0]] = 1.0
            slope[i_cols[0]] = t
            Z = _set(X, t_col, t, m_cols, i_cols, [m0])
            mu = np.exp(np.clip(Z @ b, -700.0, 700.0))
            c = float(slope @ b)
            value += sign * float(np.mean(mu * c))
            grad += sign * ((Z * (mu * c)[:, None]).mean(axis=0) + mu.mean() * slope)
        return _contrast(value, grad, np.asarray(fit.vcov))
    hi = [1.0 if j == level else 0.0 for j in range(len(m_cols))]
    lo = [0.0] * len(m_cols)
    for t, m, sign in ((1.0, hi, 1.0), (0.0, hi, -1.0), (1.0, lo, -1.0), (0.0, lo, 1.0)):
        v, g = _rate(_set(X, t_col, t, m_cols, i_cols, m), b)
        value += sign * v
        grad += sign * g
    return _contrast(value, grad, np.asarray(fit.vcov))


def model_rate_rows(model, kind: str, levels: tuple[str, ...], ci_level: float) -> list[dict]:
    d, fit, spec = model.design, model.fit, model.spec
    X = d.X
    t_col = d.index("treat")
    m_cols = [d.index(nm) for nm in d.mod_names]
    i_cols = [d.index(f"treat:{nm}") for nm in d.mod_names]
    base = {"outcome": spec.outcome, "timepoint": spec.timepoint, "moderator": spec.moderator, "model": spec.kind, "n": d.n}
    centre = d.mod_centre[0] if d.mod_centre else 0.0
    rows = []
    for j, term in enumerate(d.terms):
        c = rate_interaction(fit, X, t_col, m_cols, i_cols, kind, level=j)
        contrasted = levels[1] if kind == "binary" and len(levels) > 1 else term
        at = float(np.mean(X[:, m_cols[0]])) + centre if kind == "continuous" else math.nan
        rows.append({**base, "term": term, "quantity": "rd_interaction", "level": contrasted, "arm": "",
                     "moderator_value": at, **contrast_numbers(c, ci_level)})
    if kind == "continuous":
        raw = X[:, m_cols[0]] + centre
        for q in PERCENTILES:
            value = float(np.percentile(raw, q))
            c = rate_difference(fit, X, t_col, m_cols, i_cols, [value - centre])
            rows.append({**base, "term": "", "quantity": "rate_difference", "level": f"P{q}", "arm": "",
                         "moderator_value": value, **contrast_numbers(c, ci_level)})
        return rows
    vcov = np.asarray(fit.vcov)
    for j, lv in enumerate(levels):
        values = [1.0 if k == j - 1 else 0.0 for k in range(len(m_cols))]
        for t, arm in ((1.0, "treated"), (0.0, "control")):
            r, g = _rate(_set(X, t_col, t, m_cols, i_cols, values), np.asarray(fit.coef, dtype=float))
            c = _contrast(r, g, vcov)
            nums = contrast_numbers(c, ci_level)
            if r > 0 and c.std_error > 0:
                # delta method on the log scale, back-transformed: the interval stays above 0
                half = c.quantile(ci_level) * c.std_error / r
                nums.update(ci_low=r * math.exp(-half), ci_high=r * math.exp(half), p_value=math.nan)
            rows.append({**base, "term": "", "quantity": "rate", "level": lv, "arm": arm, "moderator_value": math.nan, **nums})
        c = rate_difference(fit, X, t_col, m_cols, i_cols, values)
        rows.append({**base, "term": "", "quantity": "rate_difference", "level": lv, "arm": "", "moderator_value": math.nan,
                     **contrast_numbers(c, ci_level)})
    return rows


def count_absolute_scale(table: pd.DataFrame, fitted: list, trial, plan) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The table with the ``rd_*`` columns filled on count rows (created if the run has no
    logistic rows), and the ``rate_scale`` section."""
    return absolute_scale(table, fitted, trial, plan, _count_fit, model_rate_rows)


def _count_fit(model) -> bool:
    # the engine's own fits (as the logistic additive scale): pooled imputed fits are left out
    return model.spec.kind in COUNT_KINDS and isinstance(model.fit, CountFit) and not model.fit.diverged
