"""One OLS fit with very many rows from sums over row blocks (the classical variance).

The same fit as ``ols.fit_ols``'s normal-equations path (``GRAM_MIN_ROWS`` rows and more): columns
centred and scaled, the Gram matrix of the standardised design checked by the same gates
(``linalg.gram_inverse`` and the eigenvalue test) and solved by Cholesky, the classical variance
carried back to the original columns. Only the arithmetic is arranged differently: the centred
cross-products are accumulated over blocks of rows, each product small enough for one BLAS thread
(threads spin-wait on a busy machine), and the standardised n x p design is never formed. A fit
that the gates send to the QR, or that comes close to an exact fit, returns None: the caller then
runs the row-level path, which decides (and names the columns) as before.
"""
from __future__ import annotations

import math

import numpy as np
import scipy.linalg

from . import variance
from .base import PERFECT_FIT_RSS
from .linalg import gram_inverse, jacobian

# rows per block: m*n*k of each product stays below OpenBLAS's one-thread threshold for p <= 5,
# and a block of a few columns stays in the cache
BLOCK_ROWS = 8_192
# exact fits are decided by the row-level path: hand over well before PERFECT_FIT_RSS
_HAND_OVER_RSS = 1e-6


def _blocks(n: int):
    return [slice(s, min(n, s + BLOCK_ROWS)) for s in range(0, n, BLOCK_ROWS)]


def fit_ols_blocks(X: np.ndarray, y: np.ndarray, condition_limit: float):
    """(coef, vcov, df_resid, sigma2, r_squared) of ``ols.fit_ols`` with the classical variance,
    or None to let the row-level path decide."""
    n, p = X.shape
    ones = np.ones(BLOCK_ROWS)
    # pass 1: column sums, and sums of squares about the first row (zero: a constant column)
    total = np.zeros(p)
    spread = np.zeros(p)
    first = X[0].copy()
    for s in _blocks(n):
        Xb = X[s]
        total += ones[:Xb.shape[0]] @ Xb
        D = Xb - first
        D *= D
        spread += ones[:Xb.shape[0]] @ D
    constant = spread == 0
    intercept = np.flatnonzero(constant)
    centre = np.where(constant, 0.0, total / n)
    # pass 2: centred cross-products (X - c)'(X - c) and (X - c)'y
    gram = np.zeros((p, p))
    xty = np.zeros(p)
    for s in _blocks(n):
        D = X[s] - centre
        gram += D.T @ D
        xty += y[s] @ D
    sd = np.sqrt(np.diag(gram) / n)
    scale = np.where(constant, np.abs(first), sd)
    scale[scale == 0] = 1.0
    g = gram / np.outer(scale, scale)
    if not gram_inverse(g[None])[1][0]:
        return None
    eig = np.linalg.eigvalsh(g)
    if not eig[0] > eig[-1] / condition_limit:
        return None
    factor = scipy.linalg.cho_factor(g)
    coef_s = scipy.linalg.cho_solve(factor, xty / scale)
    inv_s = scipy.linalg.cho_solve(factor, np.eye(p))
    # pass 3: residuals (rss) about the fitted values of the centred, scaled design
    step = coef_s / scale
    rss = 0.0
    for s in _blocks(n):
        r = y[s] - (X[s] - centre) @ step
        rss += float(r @ r)
    yc = y - y.mean()
    tss = float(yc @ yc)
    if not rss > _HAND_OVER_RSS * tss or rss <= PERFECT_FIT_RSS * tss:
        return None
    df = n - p
    vcov_s = variance.classical(inv_s, rss, df)
    A = jacobian(p, centre, scale, intercept)
    coef = A @ coef_s
    vcov = A @ vcov_s @ A.T
    return coef, vcov, float(df), rss / df, 1.0 - rss / tss if tss > 0 else math.nan
