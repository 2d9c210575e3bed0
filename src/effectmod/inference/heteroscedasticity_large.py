"""The heteroscedasticity check of a linear model with very many rows, in two passes over row blocks.

The same statistics as ``heteroscedasticity.breusch_pagan`` and ``se_ratios`` (Koenker's
Breusch-Pagan n R^2 and the HC3 / classical SE ratio of each contrast), from sums accumulated over
blocks of rows instead of n x p temporaries and an SVD of the million-row variance design:

* R^2 of the squared residuals on [1, Z] is ESS / TSS with ESS = c' S^-1 c from the centred
  cross-products (S = Z_c'Z_c, c = Z_c'e2_c), which is what the least-squares fit's 1 - RSS/TSS
  equals, without the cancellation of 1 - RSS/TSS when R^2 is small;
* the rank (the test's df) is that of [1, Z], from the eigenvalues of its Gram matrix when they
  are clearly away from numpy's matrix_rank tolerance (otherwise matrix_rank itself decides);
* the leverages and the contrasts' rows come block by block from (X'X)^-1 of unit-SD columns.
"""
from __future__ import annotations

import math

import numpy as np
from scipy import stats

# blocks small enough that OpenBLAS runs each product on one thread (below m*n*k = 65536 * 4, as
# engines.linalg's _single_thread_matmul): threads on a busy machine spin-wait and cost 3-5x
BLOCK_ROWS = 8_192


def _blocks(n: int):
    return [slice(s, min(n, s + BLOCK_ROWS)) for s in range(0, n, BLOCK_ROWS)]


def check_large(X: np.ndarray, y: np.ndarray, coef: np.ndarray, zcols: list[int],
                Ls: list[np.ndarray]) -> tuple[float, int, float, np.ndarray]:
    """(LM, df, p, HC3/classical SE ratio per contrast) of one linear fit."""
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    coef = np.asarray(coef, dtype=float)
    n, p = X.shape
    q = len(zcols)
    resid = np.empty(n)
    e2_sum = 0.0
    gram = np.zeros((p, p))                  # X'X, in the original units
    x_sum = np.zeros(p)
    ones = np.ones(BLOCK_ROWS)
    for s in _blocks(n):
        Xb = X[s]
        r = y[s] - Xb @ coef
        resid[s] = r
        e2_sum += float(r @ r)
        gram += Xb.T @ Xb
        x_sum += ones[:Xb.shape[0]] @ Xb
    gram_zc = np.empty((q + 1, q + 1))       # [1, Z]'[1, Z], for the rank
    gram_zc[0, 0] = n
    gram_zc[0, 1:] = gram_zc[1:, 0] = x_sum[zcols]
    gram_zc[1:, 1:] = gram[np.ix_(zcols, zcols)]
    z_mean = x_sum[zcols] / n
    e2_mean = e2_sum / n
    # unit-SD columns (constant ones by their root mean square): only the conditioning depends on it
    rms = np.sqrt(np.diag(gram) / n)
    sd = np.sqrt(np.clip(rms ** 2 - (x_sum / n) ** 2, 0.0, None))
    scale = np.where(sd > 1e-8 * rms, sd, rms)
    scale[scale == 0] = 1.0
    inv = np.linalg.inv(gram / np.outer(scale, scale))
    Lmat = np.column_stack([np.asarray(L, dtype=float) / scale for L in Ls]) if Ls else np.zeros((p, 0))
    BL = inv @ Lmat
    # pass 2: centred cross-products of the variance regression; leverages and contrast rows
    S = np.zeros((q, q))
    c = np.zeros(q)
    tss = 0.0
    hc3 = np.zeros(Lmat.shape[1])
    asq = np.zeros(Lmat.shape[1])
    h_max = -np.inf
    for s in _blocks(n):
        Xb = X[s]
        r = resid[s]
        e2c = r * r - e2_mean
        Zc = Xb[:, zcols] - z_mean
        S += Zc.T @ Zc
        c += e2c @ Zc
        tss += float(e2c @ e2c)
        Xs = Xb / scale
        h = np.einsum("ij,ij->i", Xs @ inv, Xs)
        h_max = max(h_max, float(h.max()))
        a = Xs @ BL                                   # L'(X'X)^-1 x_i in the original units
        a *= a
        u = r / (1.0 - h)
        hc3 += (u * u) @ a
        asq += ones[:Xb.shape[0]] @ a
    if not tss > 0:
        lm, df, pv = 0.0, q, 1.0
    else:
        ess = float(c @ np.linalg.solve(S, c)) if q else 0.0
        lm = n * (ess / tss)
        df = _rank(gram_zc, X, zcols) - 1
        pv = float(stats.chi2.sf(lm, df)) if df > 0 else math.nan
    if h_max > 1.0 - 1e-10:
        return lm, df, pv, np.full(len(Ls), math.nan)
    rss = float(resid @ resid)
    classical = asq * rss / (n - p)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratios = np.where(classical > 0, np.sqrt(hc3 / classical), math.nan)
    return lm, df, pv, ratios


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
