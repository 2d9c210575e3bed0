"""The heteroscedasticity check of a linear model with very many rows, in one pass over row blocks.

The same statistics as ``heteroscedasticity.breusch_pagan`` and ``se_ratios`` (Koenker's
Breusch-Pagan n R^2 and the HC3 / classical SE ratio of each contrast), from sums accumulated over
blocks of rows instead of n x p temporaries and an SVD of the million-row variance design. The
fit's centred sums (``engines.ols_large.BlockFit``) already hold what needs no residual:

* R^2 of the squared residuals on [1, Z] is ESS / TSS with ESS = c' S^-1 c, S = Z_c'Z_c the fit's
  centred cross-products of Z and c = Z_c'e2_c the one sum that needs the residuals, which is what
  the least-squares fit's 1 - RSS/TSS equals, without the cancellation of 1 - RSS/TSS when R^2 is small;
* the rank (the test's df) is that of [1, Z], from the eigenvalues of its Gram matrix when they
  are clearly away from numpy's matrix_rank tolerance (otherwise matrix_rank itself decides);
* the leverages h_i = |C^-1 x_s,i|^2 (C the Cholesky factor of the standardised Gram matrix), the
  contrasts' rows L'(X'X)^-1 x_i and the fitted values come from one product per block;
  sum_i (L'(X'X)^-1 x_i)^2 = L'(X'X)^-1 L needs no rows at all.
"""
from __future__ import annotations

import math

import numpy as np
import scipy.linalg
from scipy import stats

from ..engines.linalg import jacobian
from ..engines.ols import GRAM_CONDITION_LIMIT
from ..engines.ols_large import BlockFit, fit_ols_blocks_full, shifted_blocks


def check_large(X: np.ndarray, y: np.ndarray, zcols: list[int], Ls: list[np.ndarray],
                fit: BlockFit | None = None) -> tuple[float, int, float, np.ndarray] | None:
    """(LM, df, p, HC3/classical SE ratio per contrast) of the OLS fit of y on X; ``fit`` its
    block fit (``engines.ols_large``), refitted from the rows when not given. None when the design
    has no block fit (ill-conditioned, or fitted almost exactly): the row-level check decides."""
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    n, p = X.shape
    if fit is None:
        fit = fit_ols_blocks_full(X, y, GRAM_CONDITION_LIMIT)
        if fit is None:
            return None
    sums = fit.sums
    q = len(zcols)
    k = len(Ls)
    A = jacobian(p, sums.centre, sums.scale, np.flatnonzero(sums.constant))
    Lmat = np.column_stack([np.asarray(L, dtype=float) for L in Ls]) if Ls else np.zeros((p, 0))
    inv_s = scipy.linalg.cho_solve((fit.chol_s, True), np.eye(p))
    # per row x_i - centre (constant columns uncentred) times M: C^-1 x_s, L'(X'X)^-1 x_i, fitted value
    to_s = 1.0 / sums.scale
    M = np.empty((p, p + k + 1))
    M[:, :p] = scipy.linalg.solve_triangular(fit.chol_s, np.diag(to_s), lower=True).T
    M[:, p:p + k] = to_s[:, None] * (inv_s @ A.T @ Lmat)
    M[:, -1] = fit.coef_s * to_s
    M = np.asfortranarray(M)                  # a faster product with row-major blocks
    e2_mean = fit.rss / n
    c = np.zeros(p)
    tss = 0.0
    e2c_sum = 0.0
    hc3 = np.zeros(k)
    h_max = -np.inf
    ones = np.ones(p)
    for s, D in shifted_blocks(X, sums.centre):
        P = D @ M
        Q = P * P                             # |C^-1 x_s|^2 summed over its p columns; a^2
        h = Q[:, :p] @ ones
        h_max = max(h_max, float(h.max()))
        r = y[s] - P[:, -1]
        e2c = r * r - e2_mean
        c += e2c @ D
        tss += float(e2c @ e2c)
        e2c_sum += float(e2c.sum())
        u = r / (1.0 - h)
        hc3 += (u * u) @ Q[:, p:p + k]
    tss -= e2c_sum ** 2 / n          # about the mean of e2 as summed here, not the fit's rss / n
    if not tss > 0:
        lm, df, pv = 0.0, q, 1.0
    else:
        S = sums.gram[np.ix_(zcols, zcols)]
        cz = c[zcols]
        ess = float(cz @ np.linalg.solve(S, cz)) if q else 0.0
        lm = n * (ess / tss)
        df = _rank(_gram_with_constant(sums, zcols), X, zcols) - 1
        pv = float(stats.chi2.sf(lm, df)) if df > 0 else math.nan
    if h_max > 1.0 - 1e-10:
        return lm, df, pv, np.full(k, math.nan)
    inv = A @ inv_s @ A.T                                   # (X'X)^-1 in the original units
    classical = np.einsum("pk,pq,qk->k", Lmat, inv, Lmat) * fit.rss / (n - p)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratios = np.where(classical > 0, np.sqrt(hc3 / classical), math.nan)
    return lm, df, pv, ratios


def _gram_with_constant(sums, zcols: list[int]) -> np.ndarray:
    """[1, Z]'[1, Z] from the centred sums."""
    n = sums.n
    z_mean = sums.mean[zcols]
    centred = np.where(np.logical_or.outer(sums.constant, sums.constant), 0.0, sums.gram)[np.ix_(zcols, zcols)]
    out = np.empty((len(zcols) + 1, len(zcols) + 1))
    out[0, 0] = n
    out[0, 1:] = out[1:, 0] = n * z_mean
    out[1:, 1:] = centred + n * np.outer(z_mean, z_mean)
    return out


def _rank(gram: np.ndarray, X: np.ndarray, zcols: list[int]) -> int:
    """numpy's matrix_rank of [1, Z] (tolerance s_max * n * eps on its singular values), from the
    Gram matrix's eigenvalues when none is near the tolerance."""
    n = X.shape[0]
    eig = np.clip(np.linalg.eigvalsh(gram), 0.0, None)
    sv = np.sqrt(eig)
    tol = sv.max() * max(n, gram.shape[0]) * np.finfo(float).eps
    # singular values from the Gram matrix are accurate to about sqrt(eps) * s_max
    margin = 1e-7 * sv.max()
    if np.all(np.abs(sv - tol) > margin + tol):
        return int((sv > tol).sum())
    Zc = np.column_stack([np.ones(n), X[:, zcols]])
    return int(np.linalg.matrix_rank(Zc))
