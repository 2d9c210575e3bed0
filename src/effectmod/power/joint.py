"""Joint tests of a categorical moderator's interactions in simulated trials.

The analysis tests a categorical moderator by one joint Wald test of its k - 1 treatment x level
interactions (an F test on the residual df for linear models, chi-square for logistic ones:
``engines.base.wald_from_vcov``); power for such a moderator is the power of that test, from each
simulated trial's own covariance as the stacked engines return it (``fit_ols_stacked``'s
``vcov``, ``fit_logistic_stacked_vcov``).
"""
from __future__ import annotations

import numpy as np
from scipy import stats


def joint_statistics(coef: np.ndarray, vcov: np.ndarray, cols) -> np.ndarray:
    """b_c' V_cc^-1 b_c per trial (B,) for the coefficients ``cols``; NaN where it cannot be formed."""
    cols = list(cols)
    b = coef[:, cols]
    V = vcov[:, cols][:, :, cols]
    out = np.full(len(b), np.nan)
    ok = np.all(np.isfinite(b), axis=1) & np.all(np.isfinite(V), axis=(1, 2))
    if ok.any():
        with np.errstate(all="ignore"):
            try:
                solved = np.linalg.solve(V[ok], b[ok][..., None])[..., 0]
            except np.linalg.LinAlgError:
                return out
        out[ok] = (b[ok] * solved).sum(axis=1)
    return out


def f_pvalues(coef: np.ndarray, vcov: np.ndarray, df, cols) -> np.ndarray:
    """P of the F test that the coefficients ``cols`` are all 0, per trial (residual df ``df``)."""
    q = len(list(cols))
    return stats.f.sf(joint_statistics(coef, vcov, cols) / q, q, df)


def chi2_pvalues(coef: np.ndarray, vcov: np.ndarray, cols) -> np.ndarray:
    """P of the Wald chi-square test that the coefficients ``cols`` are all 0, per trial."""
    return stats.chi2.sf(joint_statistics(coef, vcov, cols), len(list(cols)))


def rejections(p: np.ndarray, alpha: float) -> np.ndarray:
    """P below alpha; NaN (a fit that could not be tested) never rejects."""
    return np.nan_to_num(p, nan=1.0) < alpha
