"""Ordinary least squares: one fit (QR, classical or HC3 variance) and many fits at once.

The rank rule, the batched QR solve and the variances are ``engines.linalg``'s and
``engines.variance``'s; this module adapts shapes (one fit, B weighted fits of one design, B fits
of their own designs, m imputed fits with full covariances). Columns are centred and scaled first
(the slopes do not change; the intercept is recovered), because trial designs in raw units (a
moderator on 0-60 times a 0/1 treatment) are otherwise needlessly ill-conditioned.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.linalg

from . import variance
from .base import PERFECT_FIT_RSS, Contrast, WaldTest, exact_fit_terms, wald_from_vcov
from .errors import PerfectFitError, RankDeficient, RankDeficientError  # noqa: F401 (older names)
from .linalg import (
    collinear_columns,
    constant_columns,
    gram_inverse,
    jacobian,
    lstsq_batched,
    lstsq_weighted,
    qr_limited,
    standardise,
    unscale,
)

# the one rank rule (R's lm.fit rule, relative tolerance linalg.RANK_TOL) lives in engines.linalg


@dataclass(frozen=True)
class OLSFit:
    coef: np.ndarray
    vcov: np.ndarray
    names: tuple[str, ...]
    n: int
    df_resid: float
    sigma2: float
    r_squared: float
    se_type: str
    # the block fit of a design with very many rows (engines.ols_large.BlockFit): its sums serve
    # the heteroscedasticity check
    blocks: Any = field(default=None, repr=False, compare=False)

    def contrast(self, L) -> Contrast:
        L = np.asarray(L, dtype=float)
        return Contrast(float(L @ self.coef), float(np.sqrt(L @ self.vcov @ L)), float(self.df_resid))

    def wald(self, L) -> WaldTest:
        return wald_from_vcov(self.coef, self.vcov, L, self.df_resid)


_scaling = standardise
_unscale = unscale
_jacobian = jacobian


# above this many rows the normal equations of the centred, scaled design (one pass over the
# data, condition number of a correlation matrix) are several times faster than a QR and, at
# that conditioning, as accurate; rank problems still go through the pivoted QR to be named
GRAM_MIN_ROWS = 50_000
GRAM_CONDITION_LIMIT = 1e8


def _solve_qr(Xs: np.ndarray, y: np.ndarray, names, leverages: bool):
    """(coef, (X'X)^-1, leverages or None, (Q, R^-1, pivots)) by pivoted QR (the design has
    passed the rank rule)."""
    p = Xs.shape[1]
    Q, R, piv = scipy.linalg.qr(Xs, mode="economic", pivoting=True)
    coef = np.empty(p)
    coef[piv] = scipy.linalg.solve_triangular(R, Q.T @ y)
    Rinv = scipy.linalg.solve_triangular(R, np.eye(p))
    inv = np.empty((p, p))
    inv[np.ix_(piv, piv)] = Rinv @ Rinv.T
    return coef, inv, (np.einsum("ij,ij->i", Q, Q) if leverages else None), (Q, Rinv, piv)


def _solve_gram(Xs: np.ndarray, y: np.ndarray, names, leverages: bool):
    gram = Xs.T @ Xs
    eig = np.linalg.eigvalsh(gram)
    if not eig[0] > eig[-1] / GRAM_CONDITION_LIMIT:
        return _solve_qr(Xs, y, names, leverages)
    factor = scipy.linalg.cho_factor(gram)
    coef = scipy.linalg.cho_solve(factor, Xs.T @ y)
    inv = scipy.linalg.cho_solve(factor, np.eye(gram.shape[0]))
    return coef, inv, (np.einsum("ij,jk,ik->i", Xs, inv, Xs, optimize=True) if leverages else None), None


def fit_ols(X: np.ndarray, y: np.ndarray, names=None, se: str = "classical") -> OLSFit:
    """One OLS fit (pivoted QR; normal equations of the standardised design for very many rows).
    Raises RankDeficientError naming collinear columns, and PerfectFitError when the residual
    sum of squares is below PERFECT_FIT_RSS of the total (the outcome is fitted exactly)."""
    variance.check_se(se)
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    n, p = X.shape
    names = tuple(names) if names is not None else tuple(f"x{j}" for j in range(p))
    if n <= p:
        raise RankDeficient([f"only {n} observations for {p} coefficients"])
    if n >= GRAM_MIN_ROWS and se == "classical":
        # very many rows: the same fit from sums over row blocks (None: the gates want the rows)
        from .ols_large import fit_ols_blocks_full
        large = fit_ols_blocks_full(X, y, GRAM_CONDITION_LIMIT)
        if large is not None:
            return OLSFit(large.coef, large.vcov, names, n, large.df_resid, large.sigma2, large.r_squared, se,
                          blocks=large)
    centre, scale, intercept = _scaling(X)
    Xs = (X - centre) / scale
    if n >= GRAM_MIN_ROWS and gram_inverse((Xs.T @ Xs)[None])[1][0]:
        # a well-conditioned Gram matrix passes the rank rule (engines.linalg): no QR of a
        # million rows needed to say so
        dependent = np.zeros(p, dtype=bool)
    else:
        dependent = collinear_columns(Xs, intercept=np.isin(np.arange(p), intercept))
    if dependent.any():
        raise RankDeficient([names[j] for j in np.flatnonzero(dependent)])
    solve = _solve_gram if n >= GRAM_MIN_ROWS else _solve_qr
    coef_s, inv_s, h, qr = solve(Xs, y, names, leverages=se == "HC3")
    resid = y - Xs @ coef_s
    rss = float(resid @ resid)
    tss = float(((y - y.mean()) ** 2).sum())
    if rss <= PERFECT_FIT_RSS * tss:
        raise PerfectFitError(exact_fit_terms(Xs, y, coef_s, names))
    df = n - p
    if se != "HC3":
        vcov_s = variance.classical(inv_s, rss, df)
    elif qr is None:        # the normal equations of a well-conditioned design (GRAM_MIN_ROWS)
        vcov_s = variance.hc3(inv_s, Xs, resid, h)
    else:
        Q, Rinv, piv = qr
        vcov_s = np.empty((p, p))
        vcov_s[np.ix_(piv, piv)] = variance.hc3_qr(Q, Rinv, resid)
    A = _jacobian(p, centre, scale, intercept)
    coef = A @ coef_s
    vcov = A @ vcov_s @ A.T
    return OLSFit(coef, vcov, names, n, float(df), rss / df, 1.0 - rss / tss if tss > 0 else math.nan, se)


@dataclass(frozen=True)
class BatchFit:
    """B fits sharing one design (rows weighted differently, or different responses)."""

    coef: np.ndarray          # (B, p); NaN rows where that replicate's design was singular
    std_error: np.ndarray | None   # (B, p) classical SEs when asked for
    df_resid: np.ndarray      # (B,)
    singular: np.ndarray      # (B,) bool (a singular design, or an exact fit: see PERFECT_FIT_RSS)
    vcov: np.ndarray | None = None  # (B, p, p) classical covariances (fit_ols_stacked), for joint tests


def fit_ols_batch(X: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None,
                  with_se: bool = False, se: str = "classical") -> BatchFit:
    """Many OLS fits that share one design: a shape adapter over ``linalg.lstsq_batched``.

    X: (n, p) shared design; y: (n,) shared or (B, n) per fit; weights: (B, n) frequency
    weights (bootstrap counts) or None. A replicate whose weighted design fails the rank rule
    (``engines.linalg``), or that fits its outcome exactly (residual sum of squares below
    PERFECT_FIT_RSS of the total), gets NaN coefficients and ``singular`` True.
    ``se`` ("classical" or "HC3") is the variance of the standard errors when ``with_se``;
    HC3 needs unweighted fits (one shared design, so one set of leverages).
    """
    variance.check_se(se)
    if se == "HC3" and weights is not None:
        raise ValueError("HC3 standard errors of batched fits need weights=None")
    X = np.asarray(X, dtype=float)
    n, p = X.shape
    centre, scale, intercept = _scaling(X)
    Xs = (X - centre) / scale
    is_int = np.isin(np.arange(p), intercept)
    Y = np.asarray(y, dtype=float)
    if weights is None:
        # one design: one QR serves every response
        Ymat = np.atleast_2d(Y)
        B = Ymat.shape[0]
        wts: float | np.ndarray = 1.0
        wsum = np.full(B, float(n))
        Q, R, dependent = qr_limited(Xs[None], is_int)
        bad = bool(dependent.any())
        Rinv = np.linalg.inv(np.eye(p) if bad else R[0])
        inv = np.broadcast_to(Rinv @ Rinv.T, (B, p, p))
        coef_s = (Ymat @ Q[0]) @ Rinv.T
        singular = np.full(B, bad)
    else:
        W = np.asarray(weights, dtype=float)
        B = W.shape[0]
        Ymat = np.broadcast_to(Y, (B, n)) if Y.ndim == 1 else Y
        wts = W
        wsum = W.sum(axis=1)
        coef_s, inv, singular = lstsq_weighted(Xs, Y, W, is_int)
    coef_s = np.where(singular[:, None], np.nan, coef_s)
    # replicates that fit their (weighted) outcome exactly have nothing to estimate either
    resid = coef_s @ Xs.T
    np.subtract(Ymat, resid, out=resid)
    if weights is not None and Y.ndim == 1:
        # one shared outcome: squared residuals against each replicate's weights in one pass, and
        # the total sum of squares from two products with the centred outcome (no B x n temporaries)
        rss = np.einsum("bn,bn->b", resid * resid, W)
        yc = Y - Y.mean()
        wy = W @ yc
        tss = W @ (yc * yc) - wy * wy / wsum
    elif weights is None:
        # many responses on one unweighted design (permutations): row dot products, no B x n squares
        rss = np.einsum("bn,bn->b", resid, resid)
        yc = Ymat - Ymat.mean(axis=1, keepdims=True)
        tss = np.einsum("bn,bn->b", yc, yc)
    else:
        rss = (resid * resid * wts).sum(axis=1)
        ybar = (Ymat * wts).sum(axis=1) / wsum
        tss = ((Ymat - ybar[:, None]) ** 2 * wts).sum(axis=1)
    with np.errstate(invalid="ignore"):
        exact = ~singular & (rss <= PERFECT_FIT_RSS * tss)
    singular = singular | exact
    coef = _unscale(coef_s, centre, scale, intercept)
    coef[singular] = np.nan
    df = wsum - p
    se_out = None
    if with_se:
        with np.errstate(invalid="ignore"):
            if se == "HC3":
                var_s = variance.hc3_shared_diag(Q[0], Rinv, resid)
            else:
                var_s = np.diagonal(variance.classical(inv, rss, df), axis1=1, axis2=2)
            se_out = np.sqrt(var_s) / scale      # slopes only; the intercept's SE is not needed here
        se_out[singular] = np.nan
    return BatchFit(coef, se_out, df, singular)


def fit_ols_stacked(X: np.ndarray, y: np.ndarray, mask: np.ndarray | None = None) -> BatchFit:
    """B independent OLS fits with their own designs: X (B, n, p), y (B, n).

    ``mask`` (B, n) marks the rows each fit uses (complete cases); masked-out rows may hold NaN.
    Classical standard errors on each fit's residual df. Used for simulated trials (power,
    calibration), where every replicate has its own participants. The rank rule and the QR
    solve are ``engines.linalg``'s (both are unaffected by the units of the columns).
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    B, n, p = X.shape
    w = np.ones((B, n)) if mask is None else np.asarray(mask, dtype=float)
    X = np.where(w[..., None] > 0, X, 0.0)
    y = np.where(w > 0, y, 0.0)
    count = w.sum(axis=1)
    is_int = constant_columns(X, w)
    coef, inv, _, singular = lstsq_batched(X * w[..., None], y * w, is_int)
    resid = (y - np.einsum("bnp,bp->bn", X, np.nan_to_num(coef))) * w
    df = count - p
    rss = (resid * resid).sum(axis=1)
    ybar = (y * w).sum(axis=1) / count
    tss = (((y - ybar[:, None]) * w) ** 2).sum(axis=1)
    singular = singular | (rss <= PERFECT_FIT_RSS * tss)   # an exact fit: nothing to test
    with np.errstate(invalid="ignore"):
        vcov = variance.classical(inv, rss, df)
        se = np.sqrt(np.diagonal(vcov, axis1=1, axis2=2))
    coef[singular] = np.nan
    se[singular] = np.nan
    vcov[singular] = np.nan
    return BatchFit(coef, se, df, singular, vcov)


def fit_ols_full_batch(X: np.ndarray, y: np.ndarray, se: str = "classical"):
    """m OLS fits with designs of one shape, X (m, n, p), y (m, n), at once by batched QR, with
    each fit's full covariance (classical or HC3): coef (m, p), vcov (m, p, p), residual df.
    Used where every fit's vcov is needed (pooling imputed fits). Raises RankDeficient when
    any design fails the rank rule (the caller refits one by one to name the columns),
    PerfectFitError when any fit reproduces its outcome exactly."""
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    m, n, p = X.shape
    # each design centred and scaled as fit_ols does (the same coordinates, the same accuracy)
    sd = X.std(axis=1)
    is_int = sd == 0
    centre = np.where(is_int, 0.0, X.mean(axis=1))
    scale = np.where(sd > 0, sd, np.abs(X).max(axis=1))
    scale[scale == 0] = 1.0
    Xs = (X - centre[:, None, :]) / scale[:, None, :]
    coef_s, inv_s, Q, dependent, Rinv = lstsq_batched(Xs, y, is_int & (np.abs(X).max(axis=1) > 0), factors=True)
    if dependent.any():
        raise RankDeficient(["(batched check)"])
    resid = y - (Xs @ coef_s[..., None])[..., 0]
    rss = (resid * resid).sum(axis=1)
    tss = ((y - y.mean(axis=1, keepdims=True)) ** 2).sum(axis=1)
    if np.any(rss <= PERFECT_FIT_RSS * tss):
        raise PerfectFitError([])   # the caller refits one by one, which names the terms
    df = n - p
    if se == "HC3":
        vcov_s = variance.hc3_qr(Q, Rinv, resid)
    else:
        vcov_s = variance.classical(inv_s, rss, df)
    # back to the original columns: coef = A coef_s with A = diag(1/scale), minus centre/scale
    # in the intercept's row
    A = np.zeros((m, p, p))
    A[:, np.arange(p), np.arange(p)] = 1.0 / scale
    has = is_int.any(axis=1)
    i0 = is_int.argmax(axis=1)
    A[np.flatnonzero(has), i0[has], :] -= (centre / scale)[has]
    coef = (A @ coef_s[..., None])[..., 0]
    vcov = A @ vcov_s @ A.transpose(0, 2, 1)
    return coef, vcov, float(df)
