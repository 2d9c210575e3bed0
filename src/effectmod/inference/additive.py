"""Treatment-effect modification on the additive (risk-difference) scale for logistic fits.

A logistic interaction is a ratio of odds ratios; clinicians usually want to know whether the
*absolute* benefit differs by moderator. We answer by marginal standardisation: each
participant keeps their own covariate values, and only the treatment, moderator and
treatment-by-moderator columns are set to the values being compared. The standard error is
the delta method with the analytic gradient, and the reference distribution is normal.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import special

from effectmod.engines.base import Contrast, Fit

MODERATOR_KINDS = ("binary", "continuous", "categorical")


def _index(fit: Fit, col: int | str) -> int:
    if isinstance(col, str):
        if col not in fit.names:
            raise ValueError(f"column {col!r} is not a term of the fit ({', '.join(fit.names)})")
        return fit.names.index(col)
    return int(col)


def _indices(fit: Fit, cols: int | str | Sequence[int | str]) -> list[int]:
    if isinstance(cols, (int, str, np.integer)):
        cols = [cols]
    return [_index(fit, c) for c in cols]


def _set(X: np.ndarray, t_col: int, t: float, mod_cols: list[int], inter_cols: list[int],
         values: Sequence[float]) -> np.ndarray:
    """X with the treatment column at t, the moderator columns at values, interactions t*values."""
    Z = X.copy()
    Z[:, t_col] = t
    for mc, ic, v in zip(mod_cols, inter_cols, values):
        Z[:, mc] = v
        Z[:, ic] = t * v
    return Z


def _risk(Z: np.ndarray, b: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean predicted risk over participants and its gradient with respect to b."""
    p = special.expit(Z @ b)
    return float(p.mean()), (Z * (p * (1.0 - p))[:, None]).mean(axis=0)


def _slope(Z: np.ndarray, b: np.ndarray, slope: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean over participants of d expit(z'b)/dm where dz/dm = slope, and its gradient in b."""
    p = special.expit(Z @ b)
    w = p * (1.0 - p)
    c = float(slope @ b)
    value = float(np.mean(w * c))
    # d/db [w c] = w (1 - 2p) c z + w slope
    grad = (Z * (w * (1.0 - 2.0 * p) * c)[:, None]).mean(axis=0) + w.mean() * slope
    return value, grad


def standardised_risk_difference(fit: Fit, X: np.ndarray, treat_col: int, mod_cols: list[int],
                                 inter_cols: list[int], values: Sequence[float]) -> Contrast:
    """mean_i[expit(z_i1'b) - expit(z_i0'b)] with the moderator columns at ``values`` and
    everything else as observed (marginal standardisation); delta-method SE, normal reference."""
    b = np.asarray(fit.coef, dtype=float)
    r1, g1 = _risk(_set(X, treat_col, 1.0, mod_cols, inter_cols, values), b)
    r0, g0 = _risk(_set(X, treat_col, 0.0, mod_cols, inter_cols, values), b)
    grad = g1 - g0
    return Contrast(r1 - r0, math.sqrt(max(float(grad @ np.asarray(fit.vcov) @ grad), 0.0)), math.inf)


def additive_interaction(fit: Fit, X: np.ndarray, treat_col: int | str,
                         mod_cols: int | str | Sequence[int | str],
                         inter_cols: int | str | Sequence[int | str],
                         moderator_kind: str, mod_value: float | None = None,
                         level: int = 0) -> Contrast:
    """Interaction on the risk-difference scale, by marginal standardisation over ``X``.

    ``X`` is the design matrix the logistic ``fit`` was made with (its rows are the
    participants to standardise over); columns are given by index or by name in
    ``fit.names``. With p_i(t, m) the predicted risk of participant i when the treatment
    column is set to t, the moderator columns to m and the interaction columns to t*m (all
    other columns as observed), RD(m) = mean_i [p_i(1, m) - p_i(0, m)], and the estimate is

    - ``"binary"``: RD(1) - RD(0), the difference in risk differences;
    - ``"continuous"``: dRD/dm at m = ``mod_value`` (default: the mean of the moderator
      column), the change in the risk difference per unit of the moderator;
    - ``"categorical"``: RD(level) - RD(reference). ``mod_cols`` and ``inter_cols`` list the
      dummy and interaction columns of every non-reference level (same order), ``level``
      picks the one to contrast; the other levels' columns are set to 0.

    Only the listed columns move: a moderator that is also the outcome's baseline enters
    the design once and is simply listed as the moderator column. The standard error is the
    delta method with the analytic gradient; ``df`` is infinite (Wald z).
    """
    if moderator_kind not in MODERATOR_KINDS:
        raise ValueError(f"moderator_kind must be one of {MODERATOR_KINDS}, "
                         f"not {moderator_kind!r}")
    X = np.asarray(X, dtype=float)
    b = np.asarray(fit.coef, dtype=float)
    if X.ndim != 2 or X.shape[1] != b.shape[0]:
        raise ValueError(f"X has shape {X.shape} but the fit has {b.shape[0]} coefficients")
    t_col = _index(fit, treat_col)
    m_cols, i_cols = _indices(fit, mod_cols), _indices(fit, inter_cols)
    if len(m_cols) != len(i_cols) or not m_cols:
        raise ValueError("mod_cols and inter_cols must name the same number (>= 1) of columns")
    if moderator_kind != "categorical" and len(m_cols) != 1:
        raise ValueError(f"a {moderator_kind} moderator has one moderator column and one "
                         f"interaction column, not {len(m_cols)}")
    if not 0 <= level < len(m_cols):
        raise ValueError(f"level must index mod_cols (0..{len(m_cols) - 1}), not {level}")

    if moderator_kind == "continuous":
        m0 = float(np.mean(X[:, m_cols[0]])) if mod_value is None else float(mod_value)
        value, grad = 0.0, np.zeros_like(b)
        for t, sign in ((1.0, 1.0), (0.0, -1.0)):
            slope = np.zeros_like(b)
            slope[m_cols[0]] = 1.0
            slope[i_cols[0]] = t
            v, g = _slope(_set(X, t_col, t, m_cols, i_cols, [m0]), b, slope)
            value += sign * v
            grad += sign * g
    else:
        hi = [1.0 if j == level else 0.0 for j in range(len(m_cols))]
        lo = [0.0] * len(m_cols)
        value, grad = 0.0, np.zeros_like(b)
        for t, m, sign in ((1.0, hi, 1.0), (0.0, hi, -1.0), (1.0, lo, -1.0), (0.0, lo, 1.0)):
            v, g = _risk(_set(X, t_col, t, m_cols, i_cols, m), b)
            value += sign * v
            grad += sign * g
    se = math.sqrt(max(float(grad @ np.asarray(fit.vcov) @ grad), 0.0))
    return Contrast(value, se, math.inf)
