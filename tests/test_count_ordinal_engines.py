"""The count (Poisson, negative binomial) and ordinal (proportional odds) engines against R
(MASS::glm.nb, glm(poisson), ordinal::clm, stored in tests/reference/epil_count and btheb_ordinal)
and against statsmodels, plus their edge cases (zero-count subgroups, no overdispersion, huge
counts, unused categories, the cluster sandwich)."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from effectmod.engines.cluster import cr0_vcov
from effectmod.engines.negbin import fit_negbin
from effectmod.engines.ordinal import fit_ordinal, proportional_odds_lr
from effectmod.engines.poisson import fit_poisson, overdispersion_lr

REF = Path(__file__).parent / "reference"
REL = 1e-6


def _close(got, want, rel=REL):
    assert got == pytest.approx(want, rel=rel, abs=1e-12), (got, want)


def _epil():
    d = pd.read_csv(REF / "epil_count" / "data.csv")
    return d, (d["trt"] == "progabide").to_numpy(float)


def _epil_design(d, t, mod):
    names = ["(Intercept)", "treat", "mod", "baseline", "treat:mod"]
    if mod == "base":
        return np.column_stack([np.ones(len(d)), t, d["base"], t * d["base"]]), [n for n in names if n != "baseline"]
    return np.column_stack([np.ones(len(d)), t, d[mod], d["base"], t * d[mod]]), names


@pytest.mark.parametrize("outcome,col,offset", [("seizures4", "y4", False), ("seizures", "y_obs", True)])
@pytest.mark.parametrize("mod", ["age", "base"])
def test_count_engines_agree_with_r(outcome, col, offset, mod):
    d, t = _epil()
    ref = pd.read_csv(REF / "epil_count" / "reference.csv")
    extras = pd.read_csv(REF / "epil_count" / "extras.csv")
    X, names = _epil_design(d, t, mod)
    off = np.log(d["weeks"].to_numpy(float)) if offset else None
    y = d[col].to_numpy(float)
    for model, fit in (("poisson", fit_poisson(X, y, names, offset=off)), ("negative_binomial", fit_negbin(X, y, names, offset=off))):
        r = ref[(ref.outcome == outcome) & (ref.moderator == mod) & (ref.model == model)].iloc[0]
        c = fit.contrast(np.eye(len(names))[-1])
        _close(c.estimate, r.estimate)
        _close(c.std_error, r.std_error)
        assert abs(c.p_value - r.p_value) < 1e-6
        e = extras[(extras.outcome == outcome) & (extras.moderator == mod) & (extras.model == model)].iloc[0]
        _close(fit.loglik, e.loglik)
        _close(fit.pearson_chi2, e.pearson_chi2)
        assert fit.df_resid == e.df_resid
        if model == "negative_binomial":
            _close(fit.theta, e.theta)
            _close(fit.theta_se, e.theta_se)
            # MASS::glm.nb itself (its default tolerances) agrees to its own precision
            _close(c.estimate, e.glmnb_estimate, rel=1e-6)
            _close(fit.theta, e.glmnb_theta, rel=1e-6)
            lr, p = overdispersion_lr(e.loglik_poisson, fit.loglik)
            assert lr > 10 and p < 1e-3


@pytest.mark.filterwarnings("ignore::statsmodels.tools.sm_exceptions.ConvergenceWarning")
def test_count_engines_agree_with_statsmodels():
    d, t = _epil()
    X, names = _epil_design(d, t, "age")
    y = d["y_obs"].to_numpy(float)
    off = np.log(d["weeks"].to_numpy(float))
    sm_p = sm.GLM(y, X, family=sm.families.Poisson(), offset=off).fit(tol=1e-14)
    fit = fit_poisson(X, y, names, offset=off)
    np.testing.assert_allclose(fit.coef, sm_p.params, rtol=1e-7)
    np.testing.assert_allclose(fit.vcov, sm_p.cov_params(), rtol=1e-6)
    nb = fit_negbin(X, y, names, offset=off)
    sm_nb = sm.NegativeBinomial(y, X, offset=off, loglike_method="nb2").fit(disp=0, method="newton", maxiter=200, tol=1e-14)
    np.testing.assert_allclose(nb.coef, sm_nb.params[:-1], rtol=1e-6)
    _close(nb.theta, 1.0 / sm_nb.params[-1])
    _close(nb.loglik, sm_nb.llf)


def test_count_cluster_sandwich_matches_statsmodels():
    d, t = _epil()
    X, names = _epil_design(d, t, "age")
    y = d["y4"].to_numpy(float)
    cluster = d["age_group"].to_numpy()
    fit = fit_poisson(X, y, names, cluster=cluster)
    codes = pd.factorize(cluster)[0]
    sm_fit = sm.GLM(y, X, family=sm.families.Poisson()).fit(
        tol=1e-14, cov_type="cluster", cov_kwds={"groups": codes, "use_correction": False})
    np.testing.assert_allclose(fit.vcov, sm_fit.cov_params(), rtol=1e-6)
    nb = fit_negbin(X, y, names, cluster=cluster)
    plain = fit_negbin(X, y, names)
    mu, th = plain.mu, plain.theta
    want = cr0_vcov(X * (th * (y - mu) / (th + mu))[:, None], plain.vcov, cluster)
    np.testing.assert_allclose(nb.vcov, want, rtol=1e-8)


def test_zero_count_subgroup_is_flagged_not_a_crash():
    rng = np.random.default_rng(3)
    n = 80
    t = np.repeat([0.0, 1.0], n // 2)
    m = np.tile([0.0, 1.0], n // 2)
    y = rng.poisson(2.0, n).astype(float)
    y[(t == 1) & (m == 1)] = 0.0            # no events among treated with m = 1
    X = np.column_stack([np.ones(n), t, m, t * m])
    for f in (fit_poisson, fit_negbin):
        fit = f(X, y, ["(Intercept)", "treat", "mod", "treat:mod"])
        assert fit.diverged and fit.notes
        assert fit.coef[-1] < -10


def test_no_overdispersion_gives_the_poisson_fit_with_a_note():
    rng = np.random.default_rng(5)
    n = 400
    x = rng.normal(size=n)
    X = np.column_stack([np.ones(n), x])
    y = rng.poisson(np.exp(0.3 + 0.2 * x)).astype(float)
    pois = fit_poisson(X, y)
    nb = fit_negbin(X, y)
    if math.isinf(nb.theta):
        np.testing.assert_allclose(nb.coef, pois.coef)
        assert any("overdispersion" in s for s in nb.notes)
    else:
        assert nb.theta > 5 and abs(nb.loglik - pois.loglik) < 1.0


def test_a_fit_stalling_on_a_flat_likelihood_is_the_poisson_fit():
    """Poisson counts whose negative binomial likelihood is flat in theta (the maximum, theta about
    6,000, is 3e-6 above the Poisson log-likelihood; MASS::glm.nb stops at its theta iteration
    limit there): the fit stalls below LOG_THETA_FLAT and is the Poisson fit with the note, not an error."""
    rng = np.random.default_rng(34)
    n = 200
    t, m = rng.integers(0, 2, n), rng.normal(size=n)
    X = np.column_stack([np.ones(n), t, m, t * m])
    y = rng.poisson(np.exp(0.3 + 0.2 * t + 0.1 * m)).astype(float)
    nb = fit_negbin(X, y)
    assert math.isinf(nb.theta)
    np.testing.assert_allclose(nb.coef, fit_poisson(X, y).coef)
    assert any("overdispersion" in s for s in nb.notes)


def test_huge_counts_fit():
    rng = np.random.default_rng(7)
    n = 200
    t = np.repeat([0.0, 1.0], n // 2)
    x = rng.normal(size=n)
    X = np.column_stack([np.ones(n), t, x, t * x])
    y = rng.negative_binomial(5, 5 / (5 + np.exp(13 + 0.1 * t + 0.2 * x))).astype(float)
    sm_p = sm.GLM(y, X, family=sm.families.Poisson()).fit(tol=1e-14)
    np.testing.assert_allclose(fit_poisson(X, y).coef, sm_p.params, rtol=1e-7)
    nb = fit_negbin(X, y)
    assert 2 < nb.theta < 12


def _btheb(tp, mod):
    d = pd.read_csv(REF / "btheb_ordinal" / "data.csv")
    levels = ["minimal", "mild", "moderate", "severe"]
    t = (d["treatment"] == "BtheB").to_numpy(float)
    base = d["bdi_cat_pre"].map({lv: i + 1 for i, lv in enumerate(levels)}).to_numpy(float)
    m = (d[mod].to_numpy(float) if mod == "bdi_pre" else (d[mod] != {"drug": "No", "length": "<6m"}[mod]).to_numpy(float))
    y = d[f"bdi_cat_{tp}m"].map({lv: i for i, lv in enumerate(levels)}).to_numpy(float)
    ok = ~np.isnan(y) & ~np.isnan(base)
    X = np.column_stack([np.ones(len(d)), t, m, base, t * m])[ok]
    return X, y[ok], ["(Intercept)", "treat", "mod", "baseline", "treat:mod"]


@pytest.mark.parametrize("tp", ["2", "8"])
@pytest.mark.parametrize("mod", ["drug", "length", "bdi_pre"])
def test_ordinal_engine_agrees_with_clm(tp, mod):
    ref = pd.read_csv(REF / "btheb_ordinal" / "reference.csv", dtype={"timepoint": str})
    extras = pd.read_csv(REF / "btheb_ordinal" / "extras.csv", dtype={"timepoint": str})
    X, y, names = _btheb(tp, mod)
    fit = fit_ordinal(X, y, names)
    r = ref[(ref.timepoint == tp) & (ref.moderator == mod)].iloc[0]
    c = fit.contrast(np.eye(len(names))[-1])
    _close(c.estimate, r.estimate)
    _close(c.std_error, r.std_error)
    e = extras[(extras.timepoint == tp) & (extras.moderator == mod)].iloc[0]
    _close(fit.loglik, e.loglik)
    _close(fit.thresholds[0], e.theta_1)
    _close(fit.thresholds[-1], e.theta_last)
    _close(float(fit.coef[1]), e.treat)
    _close(math.sqrt(fit.vcov[1, 1]), e.treat_se)
    lr_t, df, p_t = proportional_odds_lr(X, y, names, ["treat"])
    lr_i, _, p_i = proportional_odds_lr(X, y, names, ["treat:mod"])
    assert df == e.n_categories - 2
    _close(lr_t, e.nominal_lr_treat, rel=1e-5)
    _close(lr_i, e.nominal_lr_interaction, rel=1e-5)
    assert abs(p_t - e.nominal_p_treat) < 1e-6 and abs(p_i - e.nominal_p_interaction) < 1e-6


@pytest.mark.filterwarnings("ignore::statsmodels.tools.sm_exceptions.ConvergenceWarning")
def test_ordinal_agrees_with_statsmodels_and_drops_unused_categories():
    from statsmodels.miscmodels.ordinal_model import OrderedModel
    X, y, names = _btheb("2", "bdi_pre")
    fit = fit_ordinal(X, y, names)
    om = OrderedModel(y, X[:, 1:], distr="logit").fit(method="newton", disp=0, maxiter=200, tol=1e-14)
    np.testing.assert_allclose(fit.coef[1:], om.params[:4], rtol=1e-5)
    # the same data with the codes spread over unused categories (0, 2, 5, 7): the same fit
    spread = np.array([0, 2, 5, 7])[y.astype(int)].astype(float)
    again = fit_ordinal(X, spread, names)
    np.testing.assert_allclose(again.coef, fit.coef, rtol=1e-10, atol=1e-12)
    assert again.categories == (0, 2, 5, 7)
    p = again.probabilities(X[:, 1:] @ again.coef[1:])
    np.testing.assert_allclose(p.sum(axis=1), 1.0)


def test_ordinal_cluster_sandwich_uses_the_score_contributions():
    from scipy import special
    X, y, names = _btheb("2", "drug")
    cluster = np.arange(len(y)) % 9
    plain = fit_ordinal(X, y, names)
    fit = fit_ordinal(X, y, names, cluster=cluster)
    k = np.searchsorted(np.array(plain.categories), y.astype(int))
    Z = X[:, 1:]
    params = np.concatenate([plain.thresholds, plain.coef[1:]])
    n_cut = plain.thresholds.size

    def row_loglik(p):
        cum = special.expit(p[:n_cut][None, :] - (Z @ p[n_cut:])[:, None])
        cum = np.column_stack([np.zeros(len(y)), cum, np.ones(len(y))])
        return np.log(cum[np.arange(len(y)), k + 1] - cum[np.arange(len(y)), k])
    S = np.empty((len(y), params.size))
    for j in range(params.size):
        e = np.zeros_like(params)
        e[j] = 1e-6
        S[:, j] = (row_loglik(params + e) - row_loglik(params - e)) / 2e-6
    assert plain.full_vcov is not None
    want = cr0_vcov(S, plain.full_vcov, cluster)[n_cut:, n_cut:]
    np.testing.assert_allclose(fit.vcov[1:, 1:], want, rtol=1e-6)
    np.testing.assert_allclose(fit.coef, plain.coef)
