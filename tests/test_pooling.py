"""Rubin pooling (effectmod.inference.pooling) against R's mice::pool and mice::D1 / mitml.

The reference folder tests/reference/mi_pool/ holds ref.R, the 10 completed nhanes2 datasets it
wrote, and the numbers mice computed from them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from effectmod.engines.base import Contrast, WaldTest, wald_from_vcov
from effectmod.inference.pooling import PooledContrast, barnard_rubin_df, pool

REF = Path(__file__).parent / "reference" / "mi_pool"
# The CSVs carry 17 significant digits and the arithmetic is the same closed form as mice's;
# what is left is floating-point rounding of a least-squares fit and a few sums (~1e-12).
REL_TOL = 1e-8
ABS_TOL = 1e-10
M = 10


@dataclass(frozen=True)
class _Fit:
    coef: np.ndarray
    vcov: np.ndarray
    names: tuple[str, ...]

    def contrast(self, L):  # pragma: no cover - the protocol only; pool() reads coef/vcov
        raise NotImplementedError

    def wald(self, L):  # pragma: no cover
        raise NotImplementedError


def _ols(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    resid = y - X @ beta
    df = X.shape[0] - X.shape[1]
    sigma2 = resid @ resid / df
    return beta, sigma2 * np.linalg.inv(X.T @ X)


def _lm_fits(columns: list[str]) -> list[_Fit]:
    fits = []
    for i in range(1, M + 1):
        d = pd.read_csv(REF / f"completed_{i:02d}.csv")
        X = np.column_stack([np.ones(len(d))] + [d[c].to_numpy(float) for c in columns])
        beta, vcov = _ols(X, d["chl"].to_numpy(float))
        fits.append(_Fit(beta, vcov, ("intercept", *columns)))
    return fits


def _glm_fits() -> list[_Fit]:
    g = pd.read_csv(REF / "glm_fits.csv", skipinitialspace=True)
    fits = []
    for _, d in g.groupby("imputation", sort=True):
        vcov = d[[c for c in d.columns if c.startswith("v")]].to_numpy(float)
        fits.append(_Fit(d["estimate"].to_numpy(float), vcov, tuple(d["term"])))
    return fits


def _ref(name: str) -> pd.DataFrame:
    return pd.read_csv(REF / name, skipinitialspace=True)


def _check_rows(pooled, ref: pd.DataFrame) -> None:
    p = len(pooled.coef)
    for j in range(p):
        L = np.zeros(p)
        L[j] = 1.0
        c = pooled.contrast(L)
        r = ref.iloc[j]
        got = [c.estimate, c.std_error, c.df, c.riv, c.lambda_, c.fmi, c.p_value]
        want = [r.estimate, r.std_error, r.df, r.riv, r["lambda"], r.fmi, r.p_value]
        np.testing.assert_allclose(got, want, rtol=REL_TOL, atol=ABS_TOL, err_msg=r.term)
        np.testing.assert_allclose(
            [pooled.within[j, j], pooled.between[j, j]], [r.ubar, r.b], rtol=REL_TOL
        )


def test_lm_pool_matches_mice():
    pooled = pool(_lm_fits(["age2", "age3", "bmi", "hyp"]), df_complete=20)
    assert pooled.m == M
    _check_rows(pooled, _ref("pool_lm.csv"))


def test_glm_pool_infinite_dfcom_matches_mice():
    # Includes separated age terms whose lambda falls under mice's 1e-4 floor (df = 9e8).
    pooled = pool(_glm_fits(), df_complete=math.inf)
    _check_rows(pooled, _ref("pool_glm_inf.csv"))


def test_glm_pool_residual_dfcom_matches_mice_default():
    pooled = pool(_glm_fits(), df_complete=21)
    _check_rows(pooled, _ref("pool_glm_dfres.csv"))


def _age_L(p: int) -> np.ndarray:
    L = np.zeros((2, p))
    L[0, 1] = L[1, 2] = 1.0
    return L


@pytest.mark.parametrize(
    ("case", "df_complete", "source"),
    [("lm_reiter", 20, "lm"), ("glm_lrr", math.inf, "glm"), ("glm_reiter", 21, "glm")],
)
def test_d1_matches_mitml(case, df_complete, source):
    fits = _lm_fits(["age2", "age3", "bmi", "hyp"]) if source == "lm" else _glm_fits()
    pooled = pool(fits, df_complete=df_complete)
    w = pooled.wald(_age_L(len(pooled.coef)))
    r = _ref("d1.csv").set_index("case").loc[case]
    assert isinstance(w, WaldTest)
    np.testing.assert_allclose(
        [w.statistic, w.df_num, w.df_den, w.p_value], [r.F, r.df1, r.df2, r.p_value], rtol=REL_TOL
    )


def test_pooled_fit_vcov_is_total_variance_and_contrast_of_a_combination():
    pooled = pool(_lm_fits(["age2", "age3", "bmi", "hyp"]), df_complete=20)
    np.testing.assert_allclose(pooled.vcov, pooled.within + 1.1 * pooled.between, rtol=1e-14)
    L = np.array([0.0, 1.0, -1.0, 0.0, 0.0])
    c = pooled.contrast(L)
    assert isinstance(c, Contrast) and isinstance(c, PooledContrast)
    assert c.std_error == pytest.approx(math.sqrt(L @ pooled.vcov @ L), rel=1e-12)
    assert c.df == pytest.approx(barnard_rubin_df(M, L @ pooled.between @ L, c.std_error**2, 20))
    lo, hi = c.ci(0.95)
    assert lo < c.estimate < hi


def test_no_missing_information_gives_the_complete_data_analysis():
    X = np.column_stack([np.ones(6), np.arange(6.0)])
    beta, vcov = _ols(X, np.array([1.0, 2.5, 2.0, 4.5, 4.0, 6.0]))
    fit = _Fit(beta, vcov, ("intercept", "x"))
    pooled = pool([fit] * 5, df_complete=4)
    c = pooled.contrast(np.array([0.0, 1.0]))
    assert (c.df, c.riv, c.lambda_, c.fmi) == (4.0, 0.0, 0.0, 0.0)
    assert c.std_error == pytest.approx(math.sqrt(vcov[1, 1]), rel=1e-14)
    L = np.eye(2)
    w = pooled.wald(L)
    ref = wald_from_vcov(beta, vcov, L, 4.0)
    assert (w.df_num, w.df_den) == (2, 4.0)
    assert w.statistic == pytest.approx(ref.statistic, rel=1e-12)
    wz = pool([fit] * 3, df_complete=math.inf).wald(L)
    assert math.isinf(wz.df_den) and wz.statistic == pytest.approx(2 * ref.statistic, rel=1e-12)


def test_pool_rejects_mismatched_or_single_fits():
    fits = _lm_fits(["age2", "age3", "bmi", "hyp"])
    with pytest.raises(ValueError, match="at least 2"):
        pool(fits[:1], df_complete=20)
    other = _Fit(fits[1].coef, fits[1].vcov, ("a", "b", "c", "d", "e"))
    with pytest.raises(ValueError, match="same model"):
        pool([fits[0], other], df_complete=20)
