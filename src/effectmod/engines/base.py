"""Records shared by every engine: a contrast with its reference distribution, a Wald test."""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from scipy import stats

from .errors import PerfectFitError  # noqa: F401 (re-exported: its older home)


@functools.lru_cache(maxsize=1024)
def _two_sided_quantile(level: float, df: float) -> float:
    """The reference distribution's two-sided quantile, once per (level, df): every contrast of
    a linear model has the model's residual df, and the interpretation asks for hundreds."""
    q = 1.0 - (1.0 - level) / 2.0
    return float(stats.norm.ppf(q) if math.isinf(df) else stats.t.ppf(q, df))


@dataclass(frozen=True)
class Contrast:
    """One linear combination L'b of a model's coefficients.

    ``df`` is the t reference distribution's degrees of freedom; ``math.inf`` means a normal
    (Wald z) reference, as for logistic models.
    """

    estimate: float
    std_error: float
    df: float

    def quantile(self, level: float) -> float:
        try:
            return _two_sided_quantile(level, self.df)
        except TypeError:                   # a df that is not hashable (an array): not cached
            return _two_sided_quantile.__wrapped__(level, self.df)

    def ci(self, level: float) -> tuple[float, float]:
        half = self.quantile(level) * self.std_error
        return self.estimate - half, self.estimate + half

    @property
    def statistic(self) -> float:
        # a zero or non-finite SE (fitted risks of exactly 0 or 1 under separation) tests nothing
        if not (math.isfinite(self.std_error) and self.std_error > 0):
            return math.nan
        return self.estimate / self.std_error

    @property
    def p_value(self) -> float:
        z = abs(self.statistic)
        if math.isinf(self.df):
            return float(2.0 * stats.norm.sf(z))
        return float(2.0 * stats.t.sf(z, self.df))


@dataclass(frozen=True)
class WaldTest:
    """A joint test of several contrasts: F (df_den finite) or chi-square (df_den infinite)."""

    statistic: float
    df_num: float
    df_den: float
    p_value: float


class Fit(Protocol):
    """What the inference layer needs from any fitted model (read-only: the records are frozen)."""

    @property
    def coef(self) -> np.ndarray: ...

    @property
    def vcov(self) -> np.ndarray: ...

    @property
    def names(self) -> tuple[str, ...]: ...

    def contrast(self, L: np.ndarray) -> Contrast: ...

    def wald(self, L: np.ndarray) -> WaldTest: ...



class WaldZ:
    """Contrasts and joint tests with a normal reference (Wald z, chi-square): the shared part of
    every likelihood fit record (logistic, count, ordinal, Cox), which supplies ``coef`` and ``vcov``."""

    coef: np.ndarray
    vcov: np.ndarray

    def contrast(self, L: np.ndarray) -> Contrast:
        """Estimate and Wald standard error of L'b (``df`` infinite: a normal reference)."""
        L = np.asarray(L, dtype=float).ravel()
        est = float(L @ self.coef)
        se = float(math.sqrt(max(float(L @ self.vcov @ L), 0.0)))
        return Contrast(est, se, math.inf)

    def wald(self, L: np.ndarray) -> WaldTest:
        """Joint Wald chi-square test of L b = 0."""
        return wald_from_vcov(self.coef, self.vcov, L, math.inf)

    @property
    def std_errors(self) -> np.ndarray:
        return np.sqrt(np.diag(self.vcov))

def wald_from_vcov(coef: np.ndarray, vcov: np.ndarray, L: np.ndarray, df_den: float) -> WaldTest:
    """Wald test of L b = 0 with a fixed reference: F(q, df_den), or chi-square(q) when df_den is inf."""
    L = np.atleast_2d(np.asarray(L, dtype=float))
    q = L.shape[0]
    lb = L @ coef
    w = float(lb @ np.linalg.solve(L @ vcov @ L.T, lb))
    if math.isinf(df_den):
        return WaldTest(w, q, math.inf, float(stats.chi2.sf(w, q)))
    f = w / q
    return WaldTest(f, q, df_den, float(stats.f.sf(f, q, df_den)))


# A model whose residual sum of squares is below this share of the outcome's total sum of squares
# fits the outcome exactly: its residual SD is under 1e-5 of the outcome's SD, far below the
# measurement precision of any trial outcome and far above the rounding noise of an exact fit
# in double precision (RSS/TSS ~ n eps^2 ~ 1e-29). Its standard errors, t statistics and p
# values would be made of that rounding noise, so the model is not estimable.
PERFECT_FIT_RSS = 1e-10


def exact_fit_terms(X: np.ndarray, y: np.ndarray, coef: np.ndarray, names) -> list[str]:
    """The columns whose part of the fitted values is not negligible (the intercept only when it
    stands alone), in design order: what reproduces the outcome of an exact fit."""
    contrib = np.abs(coef) * np.sqrt(np.mean((X - X.mean(axis=0)) ** 2, axis=0))
    scale = max(float(np.std(y)), 1e-300)
    terms = [nm for nm, c in zip(names, contrib) if c > 1e-6 * scale]
    return terms or [nm for nm, c in zip(names, coef) if abs(c) > 1e-6 * max(abs(float(np.mean(y))), 1e-300)]
