"""Records shared by every engine: a contrast with its reference distribution, a Wald test."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from scipy import stats


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
        q = 1.0 - (1.0 - level) / 2.0
        return float(stats.norm.ppf(q) if math.isinf(self.df) else stats.t.ppf(q, self.df))

    def ci(self, level: float) -> tuple[float, float]:
        half = self.quantile(level) * self.std_error
        return self.estimate - half, self.estimate + half

    @property
    def statistic(self) -> float:
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
    """What the inference layer needs from any fitted model."""

    coef: np.ndarray
    vcov: np.ndarray
    names: tuple[str, ...]

    def contrast(self, L: np.ndarray) -> Contrast: ...

    def wald(self, L: np.ndarray) -> WaldTest: ...


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
