"""effectmod's MICE steps (effectmod.data.impute) against mice's own internals.

tests/reference/mice_steps/ref.R computes, on the fixed inputs of inputs.csv (40 rows: an
intercept, predictors x1, x2 and a skewed binary x3; a continuous, a binary and a 3-level
categorical y, each with 10 missing), the deterministic pieces of mice 3.15's steps and the
distributions of its stochastic steps over 4000 calls. Deterministic pieces must agree to 1e-8
unless a documented difference says otherwise; distributions must agree within 4 Monte Carlo
standard errors (effectmod: 2000 chains here, 20000 in the slow version).

Documented differences from mice, each checked below rather than hidden:

* ``.norm.draw``: mice's ``estimice`` uses ``lm.fit`` (``ls.meth = "qr"``) and adds its ridge
  (1e-5 times the diagonal of X'X) only when X'X is singular; effectmod always adds it, i.e. it
  computes ``estimice(ls.meth = "ridge")``. It matches that to 1e-8; it differs from the qr
  coefficients by ~1e-5 (far inside the posterior spread, so the draws' distribution is mice's).
* ``mice.impute.logreg``: ``glm.fit`` stops at a relative deviance change below 1e-8 and returns
  ``cov.unscaled`` from the weights of its last-but-one iterate; effectmod iterates Newton to
  1e-10 and takes the information at its final estimate. The coefficients agree to 1e-8 with
  mice's own call; the covariance agrees to 1e-8 with glm.fit converged tightly and to ~3e-8
  with mice's call.
* ``mice.impute.polyreg``: ``nnet::multinom`` (BFGS, maxit = 100) stops ~2e-5 from the maximum
  likelihood; BFGS pushed to its limit still stops ~1e-7 from it. effectmod's Newton fit reaches
  the maximum (score 0), so it is compared to 2e-6 with the tight nnet fit, its objective must be
  no worse than nnet's, and to 1e-4 with mice's call.
* ``mice.impute.polyreg`` draws the levels from the fitted probabilities themselves: it does NOT
  draw the coefficients from their posterior, as ``logreg`` does. effectmod's ``_polyreg`` does
  draw them (a proper imputation, like its ``_logreg``), so its imputed levels are more spread
  than mice's; only the fit and the plug-in probabilities are compared.
* effectmod's ``norm`` truncates draws to a declared range and rounds on an integer scale, and
  ``_logreg`` always augments both levels 0 and 1: the inputs here declare no range and observe
  both levels, so none of these binds.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from effectmod.data import impute as im

REF = Path(__file__).parent / "reference" / "mice_steps"
DATA = pd.read_csv(REF / "inputs.csv")
X = DATA[["intercept", "x1", "x2", "x3"]].to_numpy()[None]  # (1, n, q): one chain
Z_MAX = 4.0  # Monte Carlo standard errors
V_COLS = ["v1", "v2", "v3", "v4"]


def _y(name: str) -> tuple[np.ndarray, np.ndarray]:
    y = DATA[name].to_numpy(dtype=float)
    return y, ~np.isnan(y)


def test_inputs_are_as_described():
    assert X.shape == (1, 40, 4)
    for name in ("y_cont", "y_bin", "y_cat"):
        assert DATA[name].isna().sum() == 10
    assert set(DATA["y_bin"].dropna()) == {0.0, 1.0}
    assert set(DATA["y_cat"].dropna()) == {0.0, 1.0, 2.0}


def test_norm_fit_is_estimice_with_its_ridge():
    y, obs = _y("y_cont")
    coef, fit_o, ss, df, chol, live = im._norm_fit(X[:, obs], y[obs])
    est = pd.read_csv(REF / "estimice.csv")
    ridge, qr = est[est.ls_meth == "ridge"], est[est.ls_meth == "qr"]
    np.testing.assert_allclose(coef[0], ridge.coef, rtol=0, atol=1e-8)
    np.testing.assert_allclose(ss[0], ridge.ss.iloc[0], rtol=1e-10)
    assert df == ridge.df.iloc[0] == 26
    assert (live == 1).all()
    # estimice's v (the posterior shape of beta): effectmod draws through C with C C' = v^-1
    V = np.linalg.inv(chol[0] @ chol[0].T)
    np.testing.assert_allclose(V, ridge[V_COLS].to_numpy(), rtol=0, atol=1e-8)
    resid = pd.read_csv(REF / "estimice_resid.csv")
    np.testing.assert_array_equal(np.flatnonzero(obs) + 1, resid.row)
    np.testing.assert_allclose(y[obs] - fit_o[0], resid.resid_ridge, rtol=0, atol=1e-8)
    # The documented difference: mice's default (qr, no ridge) differs by the ridge only.
    gap = np.abs(coef[0] - qr.coef.to_numpy()).max()
    assert 1e-7 < gap < 1e-4


@pytest.mark.parametrize("variable, codes", [("y_bin", [0.0, 1.0]), ("y_cat", [0.0, 1.0, 2.0])])
def test_augment_is_mices(variable, codes):
    aug = pd.read_csv(REF / "augment.csv")
    ref = aug[aug.variable == variable]
    Xa, ya, wa = im._augment(X, np.array(codes))
    assert Xa.shape == (1, len(ref), 4)
    np.testing.assert_array_equal(Xa[0, :, 0], 1.0)
    np.testing.assert_allclose(Xa[0, :, 1:], ref[["x1", "x2", "x3"]].to_numpy(), rtol=0, atol=1e-12)
    np.testing.assert_array_equal(ya, ref.y)
    np.testing.assert_allclose(wa, ref.w, rtol=0, atol=1e-15)
    # x3's mean - sd/2 lies below 0: augment's clipping to the range binds here
    assert (ref.x3 == 0).any()


def test_logreg_fit_is_mices_glm():
    y, obs = _y("y_bin")
    beta, H = im._logreg_fit(X, obs, y[obs])
    fits = pd.read_csv(REF / "logreg_fit.csv")
    mice, tight = fits[fits.fit == "mice"], fits[fits.fit == "tight"]
    V = np.linalg.inv(H[0])
    np.testing.assert_allclose(beta[0], mice.coef, rtol=0, atol=1e-8)
    np.testing.assert_allclose(beta[0], tight.coef, rtol=0, atol=1e-8)
    np.testing.assert_allclose(V, tight[V_COLS].to_numpy(), rtol=0, atol=1e-8)
    # mice's own cov.unscaled comes from glm.fit's last-but-one weights (documented above)
    np.testing.assert_allclose(V, mice[V_COLS].to_numpy(), rtol=0, atol=1e-6)


def _multinom_objective(beta: np.ndarray, codes: np.ndarray) -> float:
    """nnet's objective for multinom: the weighted negative log-likelihood (augmented data)."""
    y, obs = _y("y_cat")
    Xa, ya, wa = im._augment(X, codes)
    Xf = np.concatenate([X[0, obs], Xa[0]])
    yf = np.concatenate([y[obs], ya])
    w = np.concatenate([np.ones(obs.sum()), wa])
    eta = np.column_stack([np.zeros(len(yf)), Xf @ beta])
    logp = eta - np.logaddexp.reduce(eta, axis=1, keepdims=True)
    return float(-(w * logp[np.arange(len(yf)), np.searchsorted(codes, yf)]).sum())


def test_polyreg_fit_is_nnet_multinom():
    y, obs = _y("y_cat")
    codes = np.array([0.0, 1.0, 2.0])
    beta, H = im._polyreg_fit(X, obs, y[obs], codes)
    fits = pd.read_csv(REF / "polyreg_fit.csv")
    assert (fits.convergence == 0).all()

    def ref(fit: str) -> np.ndarray:
        f = fits[fits.fit == fit]
        return np.column_stack([f[f.level == lev].coef.to_numpy() for lev in (1, 2)])

    np.testing.assert_allclose(beta[0], ref("tight"), rtol=0, atol=2e-6)
    np.testing.assert_allclose(beta[0], ref("mice"), rtol=0, atol=1e-4)
    # The objective as nnet computes it, at nnet's coefficients, is nnet's reported value ...
    for fit in ("mice", "tight"):
        value = fits[fits.fit == fit].value.iloc[0]
        assert _multinom_objective(ref(fit), codes) == pytest.approx(value, rel=1e-12)
    # ... and effectmod's maximum is at least as good as nnet's best.
    assert _multinom_objective(beta[0], codes) <= fits[fits.fit == "tight"].value.iloc[0] + 1e-12
    # Plug-in probabilities of the missing rows: mice.impute.polyreg draws from these.
    probs = pd.read_csv(REF / "polyreg_probs.csv")
    np.testing.assert_array_equal(np.flatnonzero(~obs) + 1, probs.row)
    P1 = im._softmax_ref0(X[0, ~obs] @ beta[0])
    P = np.column_stack([1.0 - P1.sum(axis=1), P1])
    np.testing.assert_allclose(P, probs[["p0", "p1", "p2"]].to_numpy(), rtol=0, atol=1e-4)


# ---- distributions of the stochastic steps ---------------------------------------------------


def _chains(n: int) -> np.ndarray:
    return np.repeat(X, n, axis=0)


def _assert_moments(draws: np.ndarray, method: str) -> None:
    """Per imputed value: mean and variance within Z_MAX Monte Carlo SEs of mice's."""
    ref = pd.read_csv(REF / "draws.csv")
    ref = ref[ref.method == method]
    n = draws.shape[0]
    mean = draws.mean(axis=0)
    cen = draws - mean
    var, m4 = (cen**2).mean(axis=0), (cen**4).mean(axis=0)
    se_mean = np.sqrt(ref["var"] / ref.n + var / n)
    z_mean = np.abs(mean - ref["mean"]) / se_mean
    assert z_mean.max() < Z_MAX, (method, "mean", z_mean.round(2).tolist())
    if method != "logreg":  # a 0/1 value's variance is a function of its mean
        se_var = np.sqrt((ref.m4 - ref["var"] ** 2) / ref.n + (m4 - var**2) / n)
        z_var = np.abs(var - ref["var"]) / se_var
        assert z_var.max() < Z_MAX, (method, "variance", z_var.round(2).tolist())


def _norm_draws(n: int, seed: int) -> np.ndarray:
    y, obs = _y("y_cont")
    X_ = _chains(n)
    values, raw = im._pmm(X_[:, obs], y[obs], X_[:, ~obs], np.random.default_rng(seed), "norm")
    np.testing.assert_array_equal(values, raw)  # no declared range, no integer scale
    return values


def _pmm_draws(n: int, seed: int) -> np.ndarray:
    y, obs = _y("y_cont")
    X_ = _chains(n)
    values, _ = im._pmm(X_[:, obs], y[obs], X_[:, ~obs], np.random.default_rng(seed), "pmm")
    return values


def _logreg_draws(n: int, seed: int) -> np.ndarray:
    y, obs = _y("y_bin")
    X_ = _chains(n)
    return im._logreg(X_, obs, y[obs], X_[:, ~obs], np.random.default_rng(seed))


def _assert_donor_shares(draws: np.ndarray) -> None:
    """Per imputed value, the share of each observed value as its donor, within Z_MAX MC SEs."""
    y, obs = _y("y_cont")
    ref = pd.read_csv(REF / "pmm_donors.csv")
    n_ref = int(pd.read_csv(REF / "draws.csv").query("method == 'pmm'").n.iloc[0])
    donors = np.unique(y[obs])
    assert np.isin(draws, donors).all()
    rows = np.flatnonzero(~obs) + 1
    p_ref = np.zeros((rows.size, donors.size))
    p_ref[np.searchsorted(rows, ref.row), np.searchsorted(donors, ref.donor)] = ref.share
    np.testing.assert_allclose(p_ref.sum(axis=1), 1.0, atol=1e-12)
    p = (draws[:, :, None] == donors[None, None, :]).mean(axis=0)
    se = np.sqrt(p_ref * (1 - p_ref) / n_ref + p * (1 - p) / draws.shape[0])
    both = se > 0
    assert (p[~both] == p_ref[~both]).all()
    z = np.abs(p - p_ref)[both] / se[both]
    assert z.max() < Z_MAX, z.max()


@pytest.mark.parametrize("n, seed", [(2000, 11), pytest.param(20000, 12, marks=pytest.mark.slow)])
def test_norm_draws_match_mice_impute_norm(n, seed):
    _assert_moments(_norm_draws(n, seed), "norm")


@pytest.mark.parametrize("n, seed", [(2000, 21), pytest.param(20000, 22, marks=pytest.mark.slow)])
def test_pmm_draws_match_mice_impute_pmm(n, seed):
    draws = _pmm_draws(n, seed)
    _assert_moments(draws, "pmm")
    _assert_donor_shares(draws)


@pytest.mark.parametrize("n, seed", [(2000, 31), pytest.param(20000, 32, marks=pytest.mark.slow)])
def test_logreg_draws_match_mice_impute_logreg(n, seed):
    _assert_moments(_logreg_draws(n, seed), "logreg")


def test_checks_detect_a_different_distribution(monkeypatch):
    """The distributional checks can fail: a norm draw whose mean is shifted by a quarter of
    its SD, or predictive mean matching with 1 donor instead of mice's 5, is caught."""
    draws = _norm_draws(2000, 11)
    with pytest.raises(AssertionError):
        _assert_moments(draws + 0.25 * draws.std(axis=0), "norm")
    monkeypatch.setattr(im, "_DONORS", 1)
    with pytest.raises(AssertionError):
        _assert_donor_shares(_pmm_draws(2000, 21))
