"""Rubin's rules: pool one model fitted on each of m multiply imputed datasets.

The numbers follow R's ``mice::pool`` (mice 3.x) and ``mitml::testModels(method = "D1")``,
which ``mice::D1`` calls, so that a pooled row can be checked against R to rounding error:

* ``Qbar`` = mean of the m estimates, ``Ubar`` = mean of the m covariance matrices,
  ``B`` = sample covariance (denominator m - 1) of the estimates, and the total variance
  ``T = Ubar + (1 + 1/m) B``.
* For one contrast: ``riv = (1 + 1/m) b / ubar``, ``lambda = (1 + 1/m) b / t`` and mice's
  ``fmi = (riv + 2 / (df + 3)) / (riv + 1)``.
* Barnard–Rubin (1999) degrees of freedom, as ``mice:::barnard.rubin``: lambda is floored at
  1e-4, ``nu_old = (m - 1) / lambda^2``, ``nu_obs = (nu_com + 1) / (nu_com + 3) nu_com (1 - lambda)``,
  ``df = nu_old nu_obs / (nu_old + nu_obs)``; with an infinite complete-data df (a Wald z
  model), ``df = nu_old``.  mice itself never passes an infinite ``dfcom`` for a glm: it takes
  the residual df (n - p) from the fit. Callers who want mice's numbers for a logistic model
  pass ``df_complete = n - p``; passing ``inf`` gives the classical Rubin (1987) df.

One deliberate departure: when the m estimates of a contrast are identical (B = 0, no missing
information), mice's lambda floor would still report df slightly below the complete-data df and
``fmi = 2 / (df + 3)``. Here the pooled result is then exactly the complete-data analysis:
``df = df_complete``, ``riv = lambda = fmi = 0``.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from effectmod.engines.base import Contrast, Fit, WaldTest

# mice:::barnard.rubin floors lambda here so that nu_old stays finite.
_LAMBDA_FLOOR = 1e-4
# Between-imputation variance below this fraction of the within variance is rounding noise from
# averaging identical estimates, not missing information (lambda would be < 1e-20).
_ZERO_B = 1e-20


@dataclass(frozen=True)
class PooledContrast(Contrast):
    """A pooled contrast: a ``Contrast`` whose ``df`` is the Barnard–Rubin df, plus Rubin's
    diagnostics: ``riv`` (relative increase in variance due to nonresponse), ``lambda_``
    (proportion of the total variance due to missingness) and ``fmi`` (fraction of missing
    information, mice's definition)."""

    riv: float = 0.0
    lambda_: float = 0.0
    fmi: float = 0.0
    m: int = 1


def barnard_rubin_df(m: int, b: float, t: float, df_complete: float) -> float:
    """Barnard–Rubin (1999) degrees of freedom for one pooled scalar, as mice computes them.

    ``b`` is the between-imputation variance, ``t`` the total variance. Returns
    ``df_complete`` when ``b`` is zero (no missing information).
    """
    if b <= 0.0:
        return float(df_complete)
    lam = max((1.0 + 1.0 / m) * b / t, _LAMBDA_FLOOR)
    nu_old = (m - 1) / lam**2
    if math.isinf(df_complete):
        return float(nu_old)
    nu_obs = (df_complete + 1.0) / (df_complete + 3.0) * df_complete * (1.0 - lam)
    return float(nu_old * nu_obs / (nu_old + nu_obs))


def _d1_denominator_df(k: int, m: int, r: float, df_complete: float) -> float:
    """Denominator df of the D1 test, as ``mitml:::.D1``.

    With a finite complete-data df: Reiter (2007). Reiter's expansion needs k (m - 1) > 4; below
    that (where mitml would divide by zero or return a negative df) we use Li, Raghunathan &
    Rubin's (1991) df, as mitml does when no complete-data df is given.
    """
    if r <= 0.0:
        return float(df_complete)
    t = k * (m - 1)
    if not math.isinf(df_complete) and t > 4:
        a = r * t / (t - 2)
        vstar = (df_complete + 1.0) / (df_complete + 3.0) * df_complete
        c0 = 1.0 / (t - 4)
        c1 = vstar - 2.0 * (1.0 + a)
        c2 = vstar - 4.0 * (1.0 + a)
        z = (
            1.0 / c2
            + c0 * (a**2 * c1 / ((1.0 + a) ** 2 * c2))
            + c0 * (8.0 * a**2 * c1 / ((1.0 + a) * c2**2) + 4.0 * a**2 / ((1.0 + a) * c2))
            + c0 * (4.0 * a**2 / (c2 * c1) + 16.0 * a**2 * c1 / c2**3)
            + c0 * (8.0 * a**2 / c2**2)
        )
        return float(4.0 + 1.0 / z)
    if t > 4:
        return float(4.0 + (t - 4) * (1.0 + (1.0 - 2.0 / t) / r) ** 2)
    return float(t * (1.0 + 1.0 / k) * (1.0 + 1.0 / r) ** 2 / 2.0)


@dataclass(frozen=True)
class PooledFit:
    """One model pooled over m imputations; satisfies the ``Fit`` protocol.

    ``vcov`` is the total variance ``T = within + (1 + 1/m) between``; ``within`` is the mean
    of the m covariance matrices and ``between`` the covariance of the m coefficient vectors.
    ``df_complete`` is the complete-data df (``inf`` for a Wald z model).
    """

    coef: np.ndarray
    vcov: np.ndarray
    names: tuple[str, ...]
    m: int
    df_complete: float
    within: np.ndarray
    between: np.ndarray

    def contrast(self, L: np.ndarray) -> PooledContrast:
        """Pool the scalar contrast L'b (L a vector of length p) with Rubin's rules."""
        L = np.asarray(L, dtype=float).ravel()
        m = self.m
        ubar = float(L @ self.within @ L)
        b = float(L @ self.between @ L)
        if b <= _ZERO_B * ubar:
            b = 0.0
        t = ubar + (1.0 + 1.0 / m) * b
        est = float(L @ self.coef)
        if b == 0.0:
            return PooledContrast(est, math.sqrt(t), float(self.df_complete), 0.0, 0.0, 0.0, m)
        df = barnard_rubin_df(m, b, t, self.df_complete)
        riv = (1.0 + 1.0 / m) * b / ubar
        lam = (1.0 + 1.0 / m) * b / t
        fmi = (riv + 2.0 / (df + 3.0)) / (riv + 1.0)
        return PooledContrast(est, math.sqrt(t), df, riv, lam, fmi, m)

    def wald(self, L: np.ndarray) -> WaldTest:
        """D1 test of L b = 0 (Li, Raghunathan & Rubin 1991), as ``mice::D1`` /
        ``mitml::testModels(method = "D1")``.

        ``r = (1 + 1/m) tr(B_L Ubar_L^-1) / k`` and ``F = Qbar_L' ((1 + r) Ubar_L)^-1 Qbar_L / k``
        on (k, v) df, where v is Reiter's (2007) small-sample df when ``df_complete`` is finite,
        else LRR's. When the rows of L carry no between-imputation variance the test is the
        complete-data Wald test on ``df_complete``; with an infinite ``df_complete`` that is a
        chi-square test, as for a single logistic fit.
        """
        L = np.atleast_2d(np.asarray(L, dtype=float))
        k, m = L.shape[0], self.m
        q = L @ self.coef
        ubar = L @ self.within @ L.T
        bl = L @ self.between @ L.T
        r = float((1.0 + 1.0 / m) * np.trace(np.linalg.solve(ubar, bl)) / k)
        if r <= _ZERO_B:
            r = 0.0
        stat = float(q @ np.linalg.solve((1.0 + r) * ubar, q)) / k
        if r == 0.0 and math.isinf(self.df_complete):
            chi = stat * k
            return WaldTest(chi, k, math.inf, float(stats.chi2.sf(chi, k)))
        v = _d1_denominator_df(k, m, r, self.df_complete)
        return WaldTest(stat, k, v, float(stats.f.sf(stat, k, v)))


def pool(fits: Sequence[Fit], df_complete: float) -> PooledFit:
    """Pool the same model fitted on each of m >= 2 completed datasets (Rubin's rules).

    ``df_complete`` is the model's complete-data degrees of freedom (residual df for OLS,
    ``math.inf`` for a Wald z model such as logistic regression; see the module notes).
    """
    fits = list(fits)
    m = len(fits)
    if m < 2:
        raise ValueError(f"pool() needs at least 2 fits (one per imputation); got {m}.")
    names = tuple(fits[0].names)
    for i, f in enumerate(fits[1:], start=2):
        if tuple(f.names) != names:
            raise ValueError(
                f"Fit {i} has coefficients {tuple(f.names)} but fit 1 has {names}; "
                "pool the same model fitted on each imputed dataset."
            )
    Q = np.stack([np.asarray(f.coef, dtype=float) for f in fits])
    U = np.stack([np.asarray(f.vcov, dtype=float) for f in fits])
    qbar = Q.mean(axis=0)
    within = U.mean(axis=0)
    dev = Q - qbar
    between = dev.T @ dev / (m - 1)
    total = within + (1.0 + 1.0 / m) * between
    return PooledFit(
        coef=qbar,
        vcov=total,
        names=names,
        m=m,
        df_complete=float(df_complete),
        within=within,
        between=between,
    )
