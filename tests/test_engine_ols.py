"""The OLS engine against statsmodels: single fits, batched (bootstrap-weighted) fits, stacked fits."""
import numpy as np
import pytest
import statsmodels.api as sm

from effectmod.engines.ols import RankDeficientError, fit_ols, fit_ols_batch, fit_ols_stacked

# both sides solve the same least-squares problem in double precision; 1e-10 relative leaves room
# only for the different factorisations (pivoted QR here, pinv/QR in statsmodels)
REL = 1e-10
# a moderator in units of 1e4 makes X'X condition number ~1e17 for statsmodels' pinv path; its
# sandwich then carries ~1e-10 relative error of its own
REL_BADLY_SCALED = 1e-9


def trial_design(rng, n=120, scale=1.0):
    treat = rng.integers(0, 2, n).astype(float)
    mod = rng.normal(30, 10, n) * scale
    base = rng.normal(20, 5, n)
    X = np.column_stack([np.ones(n), treat, mod, base, treat * mod])
    y = X @ np.array([5.0, -2.0, 0.1, 0.6, 0.05 / scale]) + rng.normal(0, 3, n)
    return X, y


def rel(a, b):
    return np.max(np.abs(np.asarray(a) / np.asarray(b) - 1))


@pytest.mark.parametrize("se,cov_type", [("classical", "nonrobust"), ("HC3", "HC3")])
@pytest.mark.parametrize("scale", [1.0, 1e4])     # raw units can be large: conditioning matters
def test_single_fit_matches_statsmodels(se, cov_type, scale):
    X, y = trial_design(np.random.default_rng(1), scale=scale)
    ours = fit_ols(X, y, se=se)
    ref = sm.OLS(y, X).fit(cov_type=cov_type, use_t=True)     # CONTRACT §3: t on the residual df
    tol = REL if scale == 1.0 else REL_BADLY_SCALED
    assert rel(ours.coef, ref.params) < tol
    assert rel(np.sqrt(np.diag(ours.vcov)), ref.bse) < tol
    c = ours.contrast(np.eye(5)[4])
    assert abs(c.p_value - ref.pvalues[4]) < 1e-10
    assert c.df == ref.df_resid


def test_joint_wald_matches_nested_f_test():
    rng = np.random.default_rng(2)
    n = 150
    treat = rng.integers(0, 2, n).astype(float)
    level = rng.integers(0, 3, n)
    d1, d2 = (level == 1).astype(float), (level == 2).astype(float)
    X = np.column_stack([np.ones(n), treat, d1, d2, treat * d1, treat * d2])
    y = X @ np.array([1, 1, 0.5, -0.5, 1.0, 0.2]) + rng.normal(size=n)
    full = sm.OLS(y, X).fit()
    reduced = sm.OLS(y, X[:, :4]).fit()
    f_ref, p_ref, _ = full.compare_f_test(reduced)
    w = fit_ols(X, y).wald(np.eye(6)[4:])
    assert abs(w.statistic - f_ref) < 1e-9 * f_ref
    assert abs(w.p_value - p_ref) < 1e-12


def test_collinear_columns_are_named():
    X, y = trial_design(np.random.default_rng(3))
    X = np.column_stack([X, 2 * X[:, 2] + 1])
    with pytest.raises(RankDeficientError) as err:
        fit_ols(X, y, names=["(Intercept)", "treat", "mod", "baseline", "treat:mod", "cov[copy]"])
    assert set(err.value.columns) & {"mod", "cov[copy]", "(Intercept)"}


def test_weighted_batch_equals_refits_on_repeated_rows():
    rng = np.random.default_rng(4)
    X, y = trial_design(rng)
    n = len(y)
    counts = rng.multinomial(n, np.full(n, 1 / n), size=25)
    batch = fit_ols_batch(X, y, counts, with_se=True)
    for b in range(25):
        rows = np.repeat(np.arange(n), counts[b])
        ref = sm.OLS(y[rows], X[rows]).fit()
        assert rel(batch.coef[b], ref.params) < REL
        assert rel(batch.std_error[b][1:], ref.bse[1:]) < REL


def test_batch_flags_a_singular_replicate():
    X, y = trial_design(np.random.default_rng(5), n=40)
    counts = np.ones((2, 40))
    counts[1, X[:, 1] == 1] = 0          # no treated participant drawn: treatment not estimable
    batch = fit_ols_batch(X, y, counts)
    assert not batch.singular[0] and batch.singular[1]
    assert np.isfinite(batch.coef[0]).all() and np.isnan(batch.coef[1]).all()


def test_stacked_fits_with_their_own_complete_cases():
    rng = np.random.default_rng(6)
    designs = [trial_design(rng, n=90) for _ in range(6)]
    X = np.stack([d[0] for d in designs])
    y = np.stack([d[1] for d in designs])
    mask = rng.random(y.shape) > 0.15
    y = np.where(mask, y, np.nan)
    fit = fit_ols_stacked(X, y, mask)
    for b in range(6):
        ref = sm.OLS(y[b][mask[b]], X[b][mask[b]]).fit()
        assert rel(fit.coef[b], ref.params) < REL
        assert rel(fit.std_error[b][1:], ref.bse[1:]) < REL
        assert fit.df_resid[b] == ref.df_resid


@pytest.mark.parametrize("se,cov_type", [("classical", "nonrobust"), ("HC3", "HC3")])
def test_many_rows_take_the_normal_equations_path_with_the_same_numbers(se, cov_type, monkeypatch):
    import effectmod.engines.ols as ols
    X, y = trial_design(np.random.default_rng(7), n=3000)
    monkeypatch.setattr(ols, "GRAM_MIN_ROWS", 1000)
    ours = ols.fit_ols(X, y, se=se)
    ref = sm.OLS(y, X).fit(cov_type=cov_type)
    assert rel(ours.coef, ref.params) < REL
    assert rel(np.sqrt(np.diag(ours.vcov)), ref.bse) < REL
    with pytest.raises(RankDeficientError):      # collinearity still named, through the QR
        ols.fit_ols(np.column_stack([X, X[:, 2] * 3]), y)


@pytest.mark.parametrize("se,cov_type", [("classical", "nonrobust"), ("HC3", "HC3")])
def test_full_batch_gives_each_fit_its_whole_covariance(se, cov_type):
    from effectmod.engines.ols import fit_ols_full_batch
    rng = np.random.default_rng(8)
    designs = [trial_design(rng, n=70) for _ in range(5)]
    X, y = np.stack([d[0] for d in designs]), np.stack([d[1] for d in designs])
    coef, vcov, df = fit_ols_full_batch(X, y, se)
    for b in range(5):
        ref = sm.OLS(y[b], X[b]).fit(cov_type=cov_type)
        assert rel(coef[b], ref.params) < REL
        assert np.max(np.abs(vcov[b] - ref.cov_params()) / np.abs(ref.cov_params()).max()) < REL
        assert df == ref.df_resid
    with pytest.raises(RankDeficientError):
        fit_ols_full_batch(np.concatenate([X, X[..., 2:3] * 2], axis=2), y)
