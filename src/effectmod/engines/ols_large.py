"""One OLS fit with very many rows from one pass of sums over row blocks (the classical variance).

The same fit as ``ols.fit_ols``'s normal-equations path (``GRAM_MIN_ROWS`` rows and more): columns
centred and scaled, the Gram matrix of the standardised design checked by the same gates
(``linalg.gram_inverse`` and the eigenvalue test) and solved by Cholesky, the classical variance
carried back to the original columns. Only the arithmetic is arranged differently:

* the cross-products of [X, y] are accumulated over blocks of rows about the first block's means
  (shifted data), then centred: one read of the rows instead of one for the means and one for the
  centred products. When a mean of all rows is far from the first block's (rows sorted by that
  column), the correction would cost digits: such a design gets the centred second pass
  (``_SHIFT_LIMIT``). A column constant over the first block is shifted by its value: constant
  throughout (the intercept), its shifted sums are exactly zero;
* the residual sum of squares comes from the same sums (``tss - 2 b'X'y + b'X'Xb`` of the centred
  system, which errs only to second order in the solve's error) unless the fit is close to exact,
  where a residual pass decides, as before;
* each block's product is small enough for one BLAS thread (threads spin-wait on a busy machine),
  and the standardised n x p design is never formed.

A fit that the gates send to the QR, or that comes close to an exact fit, returns None: the caller
then runs the row-level path, which decides (and names the columns) as before. The fit's sums
(``BlockFit.sums``) serve the heteroscedasticity check (``inference.heteroscedasticity_large``),
which then needs one more pass, not three.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

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
# below this R^2 complement the residual sum of squares is summed from the residuals (the sums'
# formula loses about eps * tss / rss of its relative accuracy)
_RSS_FROM_SUMS = 1e-3
# centring sums taken about a shift costs about eps * (1 + z^2) of relative accuracy, z the shift's
# distance from the column mean in SDs (amplified by the design's conditioning in the solve): beyond
# this z^2 the centred pass is taken
_SHIFT_LIMIT = 1.0


def blocks(n: int) -> list[slice]:
    return [slice(s, min(n, s + BLOCK_ROWS)) for s in range(0, n, BLOCK_ROWS)]


@dataclass(frozen=True)
class CentredSums:
    """The centred cross-products of a design and its outcome, from one pass over the rows.

    ``gram`` is (X - centre)'(X - centre) with constant columns left uncentred (their cross-products
    with the centred columns are zero), ``xty`` the cross-products with y (uncentred y for a constant
    column, centred otherwise), ``tss`` the centred sum of squares of y. ``scale`` is what
    ``linalg.standardise`` divides by: the column SD, the magnitude of a constant column.
    """

    n: int
    mean: np.ndarray            # the column means (a constant column's value)
    centre: np.ndarray
    scale: np.ndarray
    constant: np.ndarray
    gram: np.ndarray
    xty: np.ndarray
    y_mean: float
    tss: float


@dataclass(frozen=True)
class BlockFit:
    """``fit_ols``'s classical fit, with what the heteroscedasticity check reuses."""

    coef: np.ndarray
    vcov: np.ndarray
    df_resid: float
    sigma2: float
    r_squared: float
    rss: float
    sums: CentredSums
    gram_s: np.ndarray          # the standardised Gram matrix (X_s'X_s), X_s = (X - centre) / scale
    chol_s: np.ndarray          # its lower Cholesky factor
    coef_s: np.ndarray          # the coefficients of X_s

    def as_tuple(self) -> tuple[np.ndarray, np.ndarray, float, float, float]:
        return self.coef, self.vcov, self.df_resid, self.sigma2, self.r_squared


def centred_sums(X: np.ndarray, y: np.ndarray) -> CentredSums:
    """The centred cross-products of [X, y]: one pass about the first block's means, or two when
    the means of all rows turn out far from them (rows sorted by a column)."""
    n, p = X.shape
    head = np.column_stack([X[:BLOCK_ROWS], y[:BLOCK_ROWS]])
    # a column constant over the first block is shifted by its value: constant throughout, its
    # shifted sums are exactly zero
    same = np.ptp(head, axis=0) == 0
    shift = np.where(same, head[0], head.mean(axis=0))
    gram, total = _shifted_products(X, y, shift)
    constant = same[:p] & (np.diag(gram)[:p] == 0)
    mean = shift + total / n
    centred = gram - np.outer(total, total) / n
    spread = np.diag(centred)
    with np.errstate(divide="ignore", invalid="ignore"):
        z2 = (total / n) ** 2 * n / spread
    keep = np.append(~constant, True)
    if np.any(keep & (spread > 0) & ~(z2 <= _SHIFT_LIMIT)):
        again, total = _shifted_products(X, y, np.where(np.append(constant, False), 0.0, mean))
        centred = again - np.outer(total, total) / n
    centre = np.where(constant, 0.0, mean[:p])
    gram_x = centred[:p, :p].copy()
    xty = centred[:p, p].copy()
    for k in np.flatnonzero(constant):
        # a constant column c: c'(x - m) = 0 and c'c = n c^2 exactly; its product with y is c * sum(y)
        gram_x[k, :] = gram_x[:, k] = 0.0
        gram_x[k, k] = n * shift[k] ** 2
        xty[k] = shift[k] * n * mean[p]
    sd = np.sqrt(np.clip(np.diag(gram_x), 0.0, None) / n)
    scale = np.where(constant, np.abs(shift[:p]), sd)
    scale[scale == 0] = 1.0
    return CentredSums(n, mean[:p], centre, scale, constant, gram_x, xty, float(mean[p]), float(max(centred[p, p], 0.0)))


def _shifted_products(X: np.ndarray, y: np.ndarray, shift: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(D'D, 1'D) of D = [X, y] - shift, accumulated over row blocks."""
    n, p = X.shape
    xx = np.zeros((p, p))
    xy = np.zeros(p)
    yy = 0.0
    x_total = np.zeros(p)
    y_total = 0.0
    ones = np.ones(BLOCK_ROWS)
    for s, D in shifted_blocks(X, shift[:p]):
        dy = y[s] - shift[p]
        xx += D.T @ D
        xy += dy @ D
        yy += float(dy @ dy)
        x_total += ones[:D.shape[0]] @ D
        y_total += float(dy.sum())
    gram = np.empty((p + 1, p + 1))
    gram[:p, :p] = xx
    gram[:p, p] = gram[p, :p] = xy
    gram[p, p] = yy
    return gram, np.append(x_total, y_total)


def shifted_blocks(X: np.ndarray, shift: np.ndarray):
    """(rows, X[rows] - shift) block by block; the block array is reused, so read it before the next.

    The subtraction runs on the flattened block against a tiled shift: numpy's broadcast over a
    row of a few columns is several times slower than one contiguous subtraction.
    """
    n, p = X.shape
    flat = np.ascontiguousarray(X).reshape(-1)
    tiled = np.tile(np.asarray(shift, dtype=float), BLOCK_ROWS)
    buffer = np.empty(BLOCK_ROWS * p)
    for s in blocks(n):
        size = (s.stop - s.start) * p
        out = buffer[:size]
        np.subtract(flat[s.start * p:s.stop * p], tiled[:size], out=out)
        yield s, out.reshape(-1, p)


def fit_ols_blocks_full(X: np.ndarray, y: np.ndarray, condition_limit: float) -> BlockFit | None:
    """``fit_ols``'s classical fit of a design with very many rows, or None to let the row-level path decide."""
    n, p = X.shape
    sums = centred_sums(X, y)
    scale = sums.scale
    g = sums.gram / np.outer(scale, scale)
    if not gram_inverse(g[None])[1][0]:
        return None
    eig = np.linalg.eigvalsh(g)
    if not eig[0] > eig[-1] / condition_limit:
        return None
    chol = scipy.linalg.cholesky(g, lower=True)
    xty_s = sums.xty / scale
    coef_s = scipy.linalg.cho_solve((chol, True), xty_s)
    inv_s = scipy.linalg.cho_solve((chol, True), np.eye(p))
    tss = sums.tss
    # the centred system: a constant column's coefficient carries y's mean and no residual
    free = ~sums.constant
    b, c = coef_s[free], xty_s[free]
    rss = tss - 2.0 * float(b @ c) + float(b @ g[np.ix_(free, free)] @ b)
    if not rss > _RSS_FROM_SUMS * tss:
        step = coef_s / scale
        rss = 0.0
        for s in blocks(n):
            r = y[s] - (X[s] - sums.centre) @ step
            rss += float(r @ r)
    if not rss > _HAND_OVER_RSS * tss or rss <= PERFECT_FIT_RSS * tss:
        return None
    df = n - p
    vcov_s = variance.classical(inv_s, rss, df)
    A = jacobian(p, sums.centre, scale, np.flatnonzero(sums.constant))
    coef = A @ coef_s
    vcov = A @ vcov_s @ A.T
    return BlockFit(coef, vcov, float(df), rss / df, 1.0 - rss / tss if tss > 0 else math.nan, rss,
                    sums, g, chol, coef_s)


def fit_ols_blocks(X: np.ndarray, y: np.ndarray, condition_limit: float):
    """(coef, vcov, df_resid, sigma2, r_squared) of ``ols.fit_ols`` with the classical variance,
    or None to let the row-level path decide."""
    fit = fit_ols_blocks_full(X, y, condition_limit)
    return None if fit is None else fit.as_tuple()
