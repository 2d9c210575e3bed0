"""Ordinary least squares: one fit (QR, classical or HC3 variance) and many fits at once.

The batched path is what makes resampling cheap: B weighted fits that share one design are
B small p x p systems built with one einsum, solved in one stacked call. Columns are centred and
scaled first (the slopes do not change; the intercept is recovered), because trial designs in
raw units (a moderator on 0-60 times a 0/1 treatment) are otherwise needlessly ill-conditioned.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.linalg

from .base import PERFECT_FIT_RSS, Contrast, PerfectFitError, WaldTest, exact_fit_terms, wald_from_vcov

RANK_TOLERANCE = 1e-10


class RankDeficientError(ValueError):
    """The design's columns are linearly dependent; ``columns`` names the dependent ones."""

    def __init__(self, columns: list[str]):
        self.columns = columns
        super().__init__("collinear design columns: " + ", ".join(columns))


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

    def contrast(self, L) -> Contrast:
        L = np.asarray(L, dtype=float)
        return Contrast(float(L @ self.coef), float(np.sqrt(L @ self.vcov @ L)), float(self.df_resid))

    def wald(self, L) -> WaldTest:
        return wald_from_vcov(self.coef, self.vcov, L, self.df_resid)


def _scaling(X: np.ndarray):
    """Centre (all but an intercept column) and scale columns; return the transform."""
    sd = X.std(axis=0)
    intercept = np.flatnonzero(sd == 0)
    centre = X.mean(axis=0)
    centre[intercept] = 0.0
    scale = np.where(sd > 0, sd, np.abs(X).max(axis=0))
    scale[scale == 0] = 1.0
    return centre, scale, intercept


def _unscale(coef_s: np.ndarray, centre, scale, intercept) -> np.ndarray:
    """Coefficients of the original columns from those of the centred and scaled ones."""
    coef = coef_s / scale
    if intercept.size:
        i = intercept[0]
        shift = (coef * centre).sum(axis=-1)
        coef = coef.copy()
        coef[..., i] = coef[..., i] - shift
    return coef


def _jacobian(p: int, centre, scale, intercept) -> np.ndarray:
    """Linear map A with coef = A @ coef_scaled, for carrying a covariance across."""
    A = np.diag(1.0 / scale)
    if intercept.size:
        A[intercept[0], :] -= centre / scale
    return A


# above this many rows the normal equations of the centred, scaled design (one pass over the
# data, condition number of a correlation matrix) are several times faster than a QR and, at
# that conditioning, as accurate; rank problems still go through the pivoted QR to be named
GRAM_MIN_ROWS = 50_000
GRAM_CONDITION_LIMIT = 1e8


def _solve_qr(Xs: np.ndarray, y: np.ndarray, names, leverages: bool):
    """(coef, (X'X)^-1, leverages or None) by pivoted QR; raises naming collinear columns."""
    p = Xs.shape[1]
    Q, R, piv = scipy.linalg.qr(Xs, mode="economic", pivoting=True)
    diag = np.abs(np.diag(R))
    rank = int((diag > RANK_TOLERANCE * diag[0]).sum())
    if rank < p:
        raise RankDeficientError([names[j] for j in piv[rank:]])
    coef = np.empty(p)
    coef[piv] = scipy.linalg.solve_triangular(R, Q.T @ y)
    Rinv = scipy.linalg.solve_triangular(R, np.eye(p))
    inv = np.empty((p, p))
    inv[np.ix_(piv, piv)] = Rinv @ Rinv.T
    return coef, inv, (np.einsum("ij,ij->i", Q, Q) if leverages else None)


def _solve_gram(Xs: np.ndarray, y: np.ndarray, names, leverages: bool):
    gram = Xs.T @ Xs
    eig = np.linalg.eigvalsh(gram)
    if not eig[0] > eig[-1] / GRAM_CONDITION_LIMIT:
        return _solve_qr(Xs, y, names, leverages)
    factor = scipy.linalg.cho_factor(gram)
    coef = scipy.linalg.cho_solve(factor, Xs.T @ y)
    inv = scipy.linalg.cho_solve(factor, np.eye(gram.shape[0]))
    return coef, inv, (np.einsum("ij,jk,ik->i", Xs, inv, Xs, optimize=True) if leverages else None)


def fit_ols(X: np.ndarray, y: np.ndarray, names=None, se: str = "classical") -> OLSFit:
    """One OLS fit (pivoted QR; normal equations of the standardised design for very many rows).
    Raises RankDeficientError naming collinear columns, and PerfectFitError when the residual
    sum of squares is below PERFECT_FIT_RSS of the total (the outcome is fitted exactly)."""
    if se not in ("classical", "HC3"):
        raise ValueError(f"se must be 'classical' or 'HC3', not {se!r}")
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    n, p = X.shape
    names = tuple(names) if names is not None else tuple(f"x{j}" for j in range(p))
    if n <= p:
        raise RankDeficientError([f"only {n} observations for {p} coefficients"])
    centre, scale, intercept = _scaling(X)
    Xs = (X - centre) / scale
    solve = _solve_gram if n >= GRAM_MIN_ROWS else _solve_qr
    coef_s, inv_s, h = solve(Xs, y, names, leverages=se == "HC3")
    resid = y - Xs @ coef_s
    rss = float(resid @ resid)
    tss = float(((y - y.mean()) ** 2).sum())
    if rss <= PERFECT_FIT_RSS * tss:
        raise PerfectFitError(exact_fit_terms(Xs, y, coef_s, names))
    df = n - p
    if se == "HC3":
        u = resid / (1.0 - h)
        meat = (Xs * (u * u)[:, None]).T @ Xs
        vcov_s = inv_s @ meat @ inv_s
    else:
        vcov_s = inv_s * (rss / df)
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


CONDITION_LIMIT = 1e12


# OpenBLAS runs a GEMM on one thread below m*n*k = 65536 * 4; these products are small enough
# that threads do not pay, and on a busy machine they spin-wait: a bootstrap ran 3-4x slower.
_ONE_THREAD_WORK = 65536 * 4


def _single_thread_matmul(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """A @ B in row blocks each below OpenBLAS's threading threshold (same numbers, no threads)."""
    rows = max(1, _ONE_THREAD_WORK // max(1, A.shape[1] * B.shape[1]) - 1)
    if A.shape[0] <= rows:
        return A @ B
    out = np.empty((A.shape[0], B.shape[1]))
    for start in range(0, A.shape[0], rows):
        np.matmul(A[start:start + rows], B, out=out[start:start + rows])
    return out


def _singular(xtx: np.ndarray) -> np.ndarray:
    """(B,) True where a normal matrix is singular or its condition number exceeds the limit.

    A stacked Cholesky is ten times cheaper than the SVDs of ``np.linalg.cond``; its pivots give
    A_kk / L_kk^2, a lower bound of the condition number that is tiny for a well-posed design.
    Only when that screen is inconclusive (a matrix is not positive definite, or the bound comes
    within a factor 1e4 of the limit) are the exact condition numbers computed.
    """
    try:
        L = np.linalg.cholesky(xtx)
    except np.linalg.LinAlgError:
        L = None
    if L is not None:
        pivots = np.diagonal(L, axis1=1, axis2=2) ** 2
        bound = (np.diagonal(xtx, axis1=1, axis2=2) / pivots).max(axis=1)
        if np.all(np.isfinite(bound) & (bound * 1e4 < CONDITION_LIMIT)):
            return np.zeros(xtx.shape[0], dtype=bool)
    cond = np.linalg.cond(xtx)
    return ~np.isfinite(cond) | (cond > CONDITION_LIMIT)


def fit_ols_batch(X: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None,
                  with_se: bool = False, se: str = "classical") -> BatchFit:
    """Many OLS fits at once by stacked normal equations on centred, scaled columns.

    X: (n, p) shared design; y: (n,) shared or (B, n) per fit; weights: (B, n) frequency
    weights (bootstrap counts) or None. A replicate whose weighted design is singular (or
    condition number above CONDITION_LIMIT), or that fits its outcome exactly (residual sum of
    squares below PERFECT_FIT_RSS of the total), gets NaN coefficients and ``singular`` True.
    ``se`` ("classical" or "HC3") is the variance of the standard errors when ``with_se``;
    HC3 needs unweighted fits (one shared design, so one set of leverages).
    """
    if se not in ("classical", "HC3"):
        raise ValueError(f"se must be 'classical' or 'HC3', not {se!r}")
    if se == "HC3" and weights is not None:
        raise ValueError("HC3 standard errors of batched fits need weights=None")
    X = np.asarray(X, dtype=float)
    n, p = X.shape
    centre, scale, intercept = _scaling(X)
    Xs = (X - centre) / scale
    Y = np.asarray(y, dtype=float)
    if weights is None:
        Ymat = np.atleast_2d(Y)
        B = Ymat.shape[0]
        xtx = np.broadcast_to(Xs.T @ Xs, (B, p, p))
        xty = Ymat @ Xs
        wsum = np.full(B, float(n))
    else:
        W = np.asarray(weights, dtype=float)
        B = W.shape[0]
        # One GEMM against the n x p(p+1)/2 column products: far faster than a 3-operand einsum.
        iu, ju = np.triu_indices(p)
        Z = Xs[:, iu] * Xs[:, ju]
        Ymat = np.broadcast_to(Y, (B, n)) if Y.ndim == 1 else Y
        if Y.ndim == 1:
            Z = np.hstack([Z, Xs * Y[:, None]])
            G = _single_thread_matmul(W, Z)
            xty = G[:, iu.size:]
        else:
            G = _single_thread_matmul(W, Z)
            xty = (W * Ymat) @ Xs
        xtx = np.empty((B, p, p))
        xtx[:, iu, ju] = G[:, :iu.size]
        xtx[:, ju, iu] = G[:, :iu.size]
        wsum = W.sum(axis=1)
    singular = _singular(xtx)
    safe = np.where(singular[:, None, None], np.eye(p), xtx)
    coef_s = np.linalg.solve(safe, xty[..., None])[..., 0]
    coef = _unscale(coef_s, centre, scale, intercept)
    # replicates that fit their (weighted) outcome exactly have nothing to estimate either
    wts = W if weights is not None else 1.0
    resid = Ymat - coef_s @ Xs.T
    rss = (resid * resid * wts).sum(axis=1)
    ybar = (Ymat * wts).sum(axis=1) / wsum
    tss = ((Ymat - ybar[:, None]) ** 2 * wts).sum(axis=1)
    exact = ~singular & (rss <= PERFECT_FIT_RSS * tss)
    singular = singular | exact
    coef[singular] = np.nan
    df = wsum - p
    se_out = None
    if with_se:
        if se == "HC3":
            # one design: (X'X)^-1 X' and the leverages are shared; var_j = sum_i A_ij^2 u_i^2
            A = Xs @ np.linalg.inv(safe[0])
            h = np.einsum("ij,ij->i", A, Xs)
            u = resid / (1.0 - h)
            se_s = np.sqrt((u * u) @ (A * A))
        else:
            inv_diag = np.diagonal(np.linalg.inv(safe), axis1=1, axis2=2)
            se_s = np.sqrt(inv_diag * (rss / df)[:, None])
        se_out = se_s / scale           # slopes only; the intercept's SE is not needed here
        se_out[singular] = np.nan
    return BatchFit(coef, se_out, df, singular)


def fit_ols_stacked(X: np.ndarray, y: np.ndarray, mask: np.ndarray | None = None) -> BatchFit:
    """B independent OLS fits with their own designs: X (B, n, p), y (B, n).

    ``mask`` (B, n) marks the rows each fit uses (complete cases); masked-out rows may hold NaN.
    Classical standard errors on each fit's residual df. Used for simulated trials (power,
    calibration), where every replicate has its own participants.
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    B, n, p = X.shape
    w = np.ones((B, n)) if mask is None else np.asarray(mask, dtype=float)
    X = np.where(w[..., None] > 0, X, 0.0)
    y = np.where(w > 0, y, 0.0)
    count = w.sum(axis=1)
    mean = np.einsum("bn,bnp->bp", w, X) / count[:, None]
    sd = np.sqrt(np.maximum(np.einsum("bn,bnp->bp", w, X * X) / count[:, None] - mean ** 2, 0.0))
    intercept = sd < 1e-12 * np.maximum(np.abs(mean), 1.0)
    centre = np.where(intercept, 0.0, mean)
    scale = np.where(intercept, np.where(mean != 0, np.abs(mean), 1.0), sd)
    Xs = (X - centre[:, None, :]) / scale[:, None, :] * w[..., None]
    xtx = np.einsum("bnp,bnq->bpq", Xs, Xs, optimize=True)
    xty = np.einsum("bnp,bn->bp", Xs, y, optimize=True)
    cond = np.linalg.cond(xtx)
    singular = ~np.isfinite(cond) | (cond > CONDITION_LIMIT)
    safe = np.where(singular[:, None, None], np.eye(p), xtx)
    coef_s = np.linalg.solve(safe, xty[..., None])[..., 0]
    resid = (y - np.einsum("bnp,bp->bn", Xs, coef_s)) * w
    df = count - p
    rss = (resid * resid).sum(axis=1)
    ybar = (y * w).sum(axis=1) / count
    tss = (((y - ybar[:, None]) * w) ** 2).sum(axis=1)
    singular = singular | (rss <= PERFECT_FIT_RSS * tss)   # an exact fit: nothing to test
    inv_diag = np.diagonal(np.linalg.inv(safe), axis1=1, axis2=2)
    se = np.sqrt(inv_diag * (rss / df)[:, None]) / scale
    coef = coef_s / scale
    # the intercept absorbs the centring shift; only slopes are used by callers, but keep it right
    has_int = intercept.any(axis=1)
    if has_int.any():
        j = intercept.argmax(axis=1)
        shift = (coef * centre).sum(axis=1)
        coef[np.arange(B), j] -= np.where(has_int, shift, 0.0)
        se[np.arange(B)[has_int], j[has_int]] = np.nan
    coef[singular] = np.nan
    se[singular] = np.nan
    return BatchFit(coef, se, df, singular)


# |R_jj| relative to column j's norm is the share of that column not explained by the columns
# before it: below R's qr tolerance the batch is treated as collinear
BATCH_COLLINEAR = 1e-7


def fit_ols_full_batch(X: np.ndarray, y: np.ndarray, se: str = "classical"):
    """m OLS fits with designs of one shape, X (m, n, p), y (m, n), at once by batched QR, with
    each fit's full covariance (classical or HC3): coef (m, p), vcov (m, p, p), residual df.
    Used where every fit's vcov is needed (pooling imputed fits). Raises RankDeficientError when
    any design is collinear (the caller refits one by one to name the columns), PerfectFitError
    when any fit reproduces its outcome exactly."""
    m, n, p = X.shape
    Q, R = np.linalg.qr(X)
    d = np.abs(np.diagonal(R, axis1=1, axis2=2))
    # |R_jj| relative to column j's norm is the share of that column not explained by the
    # columns before it: below 1e-7 (R's qr tolerance) the design is treated as collinear
    norms = np.linalg.norm(X, axis=1)
    rel = d / np.where(norms > 0, norms, 1.0)
    if not np.all(rel > BATCH_COLLINEAR):
        raise RankDeficientError(["(batched check)"])
    Rinv = np.linalg.solve(R, np.broadcast_to(np.eye(p), (m, p, p)))
    coef = (Rinv @ (Q.transpose(0, 2, 1) @ y[..., None]))[..., 0]
    resid = y - (X @ coef[..., None])[..., 0]
    rss = (resid * resid).sum(axis=1)
    tss = ((y - y.mean(axis=1, keepdims=True)) ** 2).sum(axis=1)
    if np.any(rss <= PERFECT_FIT_RSS * tss):
        raise PerfectFitError([])   # the caller refits one by one, which names the terms
    df = n - p
    xtx_inv = Rinv @ Rinv.transpose(0, 2, 1)
    if se == "HC3":
        h = (Q * Q).sum(axis=2)
        u = resid / (1.0 - h)
        meat = (X * (u * u)[..., None]).transpose(0, 2, 1) @ X
        vcov = xtx_inv @ meat @ xtx_inv
    else:
        vcov = xtx_inv * ((resid * resid).sum(axis=1) / df)[:, None, None]
    return coef, vcov, float(df)
