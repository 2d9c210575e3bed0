"""Sufficient statistics of one linear model, accumulated block by block, and the OLS fit from them.

Each block contributes its row count, column means and centred cross-products of ``[X, y]``; blocks
are merged with the pairwise update of Chan, Golub and LeVeque (the means' difference carries the
between-block part), so no raw, uncentred X'X is ever formed and the sums from separate files (or
separate machines) combine in any order. The fit is ``engines.ols_large.fit_ols_blocks``'s: the
Gram matrix of the centred, scaled design passed through the same gates (``linalg.gram_inverse``
and the eigenvalue test), solved by Cholesky, the classical variance carried back to the original
columns by ``linalg.jacobian``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np


@dataclass
class Moments:
    """n, means and centred cross-products of the columns ``[X, y]`` (y last), and which columns are
    constant (``low == high``, their value; otherwise -inf and inf): the intercept."""
    k: int
    n: int = 0
    mean: np.ndarray = field(default_factory=lambda: np.zeros(0))
    comoment: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    low: np.ndarray = field(default_factory=lambda: np.zeros(0))
    high: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def __post_init__(self) -> None:
        if self.mean.size == 0:
            self.mean = np.zeros(self.k)
            self.comoment = np.zeros((self.k, self.k))
            self.low = np.full(self.k, np.inf)
            self.high = np.full(self.k, -np.inf)

    def add_block(self, Z: np.ndarray) -> None:
        """Add the rows of one block (m x k, no missing values)."""
        m = Z.shape[0]
        if m == 0:
            return
        mean = Z.mean(axis=0)
        D = Z - mean
        # a column's range only says whether it is constant: its value if so, else (-inf, inf)
        same = (Z == Z[0]).all(axis=0)
        low = np.where(same, Z[0], -np.inf)
        high = np.where(same, Z[0], np.inf)
        self.merge(Moments(self.k, m, mean, D.T @ D, low, high))

    def merge(self, other: Moments) -> None:
        if other.n == 0:
            return
        if self.n == 0:
            self.n, self.mean, self.comoment = other.n, other.mean.copy(), other.comoment.copy()
            self.low, self.high = other.low.copy(), other.high.copy()
            return
        n = self.n + other.n
        delta = other.mean - self.mean
        self.comoment = self.comoment + other.comoment + np.outer(delta, delta) * (self.n * other.n / n)
        self.mean = self.mean + delta * (other.n / n)
        self.n = n
        self.low = np.minimum(self.low, other.low)
        self.high = np.maximum(self.high, other.high)


@dataclass(frozen=True)
class SumsFit:
    coef: np.ndarray
    vcov: np.ndarray
    df_resid: float
    sigma2: float
    r_squared: float
    # the standardised fit, for a further pass over the rows (HC3): Xs = (X - centre) / scale
    centre: np.ndarray
    scale: np.ndarray
    coef_s: np.ndarray
    inv_s: np.ndarray
    jacobian: np.ndarray

    def hc3(self, meat_s: np.ndarray) -> np.ndarray:
        """The HC3 covariance in the original columns from the standardised meat
        sum_i xs_i xs_i' e_i^2 / (1 - h_i)^2 (``engines.variance.hc3``)."""
        vcov_s = self.inv_s @ meat_s @ self.inv_s
        return self.jacobian @ vcov_s @ self.jacobian.T

    def meat_block(self, Z: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        """One block's part of the HC3 meat (Z: the block's complete rows of [X, y]), its residuals
        and its largest leverage."""
        p = self.coef_s.size
        Xs = (Z[:, :p] - self.centre) / self.scale
        e = Z[:, p] - Xs @ self.coef_s
        h = np.einsum("ij,jk,ik->i", Xs, self.inv_s, Xs, optimize=True)
        u = e / (1.0 - h)
        return (Xs * (u * u)[:, None]).T @ Xs, e, float(h.max()) if h.size else -np.inf


def fit_from_moments(mom: Moments, condition_limit: float) -> SumsFit | str:
    """The classical OLS fit of y on X from the sums, or the reason it cannot be estimated."""
    import scipy.linalg

    from ..engines import variance
    from ..engines.base import PERFECT_FIT_RSS
    from ..engines.linalg import gram_inverse, jacobian
    p = mom.k - 1
    n = mom.n
    if n <= p:
        return f"{n} complete cases for {p} coefficients"
    constant = mom.low[:p] == mom.high[:p]
    intercept = np.flatnonzero(constant)
    first = np.where(constant, mom.low[:p], 0.0)
    centre = np.where(constant, 0.0, mom.mean[:p])
    C = mom.comoment
    # centred Gram (X - c)'(X - c): a constant column keeps its raw values (centre 0)
    gram = C[:p, :p].copy()
    gram[np.ix_(constant, constant)] = n * np.outer(first[constant], first[constant])
    gram[np.ix_(constant, ~constant)] = 0.0
    gram[np.ix_(~constant, constant)] = 0.0
    xty = C[:p, p].copy()
    xty[constant] = first[constant] * n * mom.mean[p]
    sd = np.sqrt(np.diag(gram) / n)
    scale = np.where(constant, np.abs(first), sd)
    scale[scale == 0] = 1.0
    g = gram / np.outer(scale, scale)
    if len(intercept) > 1 or not gram_inverse(g[None])[1][0]:
        return "design columns are collinear (a column constant or determined by others in the complete cases)"
    eig = np.linalg.eigvalsh(g)
    if not eig[0] > eig[-1] / condition_limit:
        return "the design is too ill-conditioned to be solved from sums (streamed analysis)"
    factor = scipy.linalg.cho_factor(g)
    coef_s = scipy.linalg.cho_solve(factor, xty / scale)
    inv_s = scipy.linalg.cho_solve(factor, np.eye(p))
    tss = float(C[p, p])
    # residual sum of squares from the sums: tss minus the fitted part of the centred columns
    moving = ~constant
    b = coef_s[moving] / scale[moving]
    rss = tss - float(C[:p, p][moving] @ b) if moving.any() else tss
    if rss <= PERFECT_FIT_RSS * tss or rss <= 1e-9 * tss:
        return "the outcome is fitted (nearly) exactly by the model's terms; nothing to test"
    df = n - p
    vcov_s = variance.classical(inv_s, rss, df)
    A = jacobian(p, centre, scale, intercept)
    return SumsFit(A @ coef_s, A @ vcov_s @ A.T, float(df), rss / df, 1.0 - rss / tss if tss > 0 else math.nan,
                   centre, scale, coef_s, inv_s, A)
