"""Joint tests of a categorical moderator's interactions in simulated trials.

The analysis tests a categorical moderator by one joint Wald test of its k - 1 treatment x level
interactions (an F test on the residual df for linear models, chi-square for logistic ones:
``engines.base.wald_from_vcov``); power for such a moderator is the power of that test. Each
simulated trial's covariance comes from its own design: s^2 (X'X)^-1 for least squares, the
inverse information X'WX at the fitted probabilities for logistic regression.
"""
from __future__ import annotations

import numpy as np
from scipy import special, stats


def joint_statistics(coef: np.ndarray, vcov: np.ndarray, cols) -> np.ndarray:
    """b_c' V_cc^-1 b_c per trial (B,) for the coefficients ``cols``; NaN where V_cc is singular."""
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


def ols_joint_pvalues(X: np.ndarray, y: np.ndarray, coef: np.ndarray, cols) -> np.ndarray:
    """P of the F test that the coefficients ``cols`` are all 0, per trial: X (B, n, p), y (B, n),
    coef (B, p) least-squares fits (NaN rows: singular fits, P = NaN)."""
    B, n, p = X.shape
    resid = y - np.einsum("bnp,bp->bn", X, np.nan_to_num(coef))
    df = n - p
    s2 = (resid * resid).sum(axis=1) / df
    with np.errstate(all="ignore"):
        vcov = np.linalg.pinv(np.einsum("bnp,bnq->bpq", X, X), hermitian=True) * s2[:, None, None]
    q = len(list(cols))
    F = joint_statistics(coef, vcov, cols) / q
    return stats.f.sf(F, q, df)


def logistic_joint_pvalues(X: np.ndarray, coef: np.ndarray, cols) -> np.ndarray:
    """P of the Wald chi-square test that the coefficients ``cols`` are all 0, per trial: X (B, n, p),
    coef (B, p) maximum-likelihood fits."""
    mu = special.expit(np.einsum("bnp,bp->bn", X, np.nan_to_num(coef)))
    info = np.einsum("bnp,bn,bnq->bpq", X, mu * (1.0 - mu), X)
    with np.errstate(all="ignore"):
        vcov = np.linalg.pinv(info, hermitian=True)
    return stats.chi2.sf(joint_statistics(coef, vcov, cols), len(list(cols)))


def rejections(p: np.ndarray, alpha: float) -> np.ndarray:
    """P below alpha; NaN (a fit that could not be tested) never rejects."""
    return np.nan_to_num(p, nan=1.0) < alpha
