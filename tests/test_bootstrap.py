"""Batched bootstrap: equal to a loop of single fits driven by the same resample indices."""
import numpy as np
import pytest

from effectmod.data.prepare import prepare_trial
from effectmod.engines.ols import fit_ols, fit_ols_batch
from effectmod.inference.bootstrap import bootstrap_draws
from effectmod.inference.resample import counts_to_indices, stratified_bootstrap_counts
from effectmod.models.fit import fit_model
from effectmod.models.spec import model_specs
from effectmod.plan.schema import Plan
from effectmod.simulation import simulate

# Both paths solve the same least-squares problems in double precision on centred, scaled
# columns (condition numbers of order 10-100), so they agree to rounding error.
AGREEMENT = 1e-10
REPLICATES = 60   # per model; 4 models x 60 single refits keep the loop check near a second


@pytest.fixture(scope="module")
def resolve():
    sim = simulate("resolve", 276, 11)
    plan = dict(sim.plan)
    plan["analysis"] = {**plan["analysis"], "sensitivity": []}
    plan_obj = Plan.model_validate(plan)
    trial = prepare_trial(sim.data, plan_obj)
    fitted = [fit_model(s, trial, plan_obj) for s in model_specs(plan_obj, trial)]
    return plan_obj, trial, fitted


def _loop_counts(treat, replicates, rng):
    """The replicate-by-replicate construction the vectorised one replaces."""
    counts = np.zeros((replicates, len(treat)), dtype=np.int32)
    for arm in (0.0, 1.0):
        members = np.flatnonzero(treat == arm)
        draws = rng.integers(0, members.size, size=(replicates, members.size))
        for b in range(replicates):
            counts[b, members] += np.bincount(draws[b], minlength=members.size)
    return counts


def test_counts_vectorised_equal_loop_and_keep_arm_sizes(resolve):
    _, trial, _ = resolve
    fast = stratified_bootstrap_counts(trial.treat, 300, np.random.default_rng(5))
    slow = _loop_counts(trial.treat, 300, np.random.default_rng(5))
    np.testing.assert_array_equal(fast, slow)
    for arm in (0.0, 1.0):
        assert np.all(fast[:, trial.treat == arm].sum(axis=1) == (trial.treat == arm).sum())
    assert not np.array_equal(fast[0], fast[1])


def test_batched_bootstrap_equals_loop_of_single_fits(resolve):
    plan, trial, fitted = resolve
    counts = stratified_bootstrap_counts(trial.treat, REPLICATES, np.random.default_rng(7))
    for model in fitted[::8]:   # a spread of outcomes, follow-ups and moderators
        d = model.design
        draws = bootstrap_draws(model, counts, plan)
        column = d.index(f"treat:{d.mod_names[0]}")
        position = np.full(trial.n, -1)
        position[d.rows] = np.arange(d.rows.size)
        for b in range(REPLICATES):
            picks = position[counts_to_indices(counts[b])]
            picks = picks[picks >= 0]
            single = fit_ols(d.X[picks], d.y[picks], d.names)
            assert abs(draws[(model.spec.timepoint, "")][b] - single.coef[column]) < AGREEMENT


def test_batched_coefficients_and_se_equal_single_fits_for_responses():
    rng = np.random.default_rng(3)
    X = np.column_stack([np.ones(80), rng.integers(0, 2, 80), rng.normal(30, 9, 80)])
    X = np.column_stack([X, X[:, 1] * X[:, 2]])
    Y = rng.normal(size=(25, 80)) + X @ np.array([1.0, 0.5, 0.1, -0.05])
    batch = fit_ols_batch(X, Y, with_se=True)
    for b in range(25):
        single = fit_ols(X, Y[b])
        np.testing.assert_allclose(batch.coef[b], single.coef, rtol=0, atol=AGREEMENT)
        np.testing.assert_allclose(batch.std_error[b, 1:], np.sqrt(np.diag(single.vcov))[1:], rtol=AGREEMENT)


def test_singular_replicate_is_nan_not_garbage():
    rng = np.random.default_rng(4)
    treat = np.repeat([0.0, 1.0], 20)
    mod = rng.normal(size=40)
    X = np.column_stack([np.ones(40), treat, mod, treat * mod])
    y = rng.normal(size=40)
    W = np.ones((3, 40))
    W[1, 20:] = 0          # no treated participant: treat and treat:mod are all zero
    W[2, :] = 0
    W[2, [0, 1, 20, 21, 22]] = 1   # 5 rows: full rank only just (4 columns)
    fit = fit_ols_batch(X, y, W)
    assert fit.singular.tolist() == [False, True, False]
    assert np.isnan(fit.coef[1]).all() and np.isfinite(fit.coef[[0, 2]]).all()


# Both converge to the maximum-likelihood estimate to a relative change of 1e-10 (CONTRACT §3);
# the estimates then agree to about that, times the condition of the information.
LOGISTIC_AGREEMENT = 1e-7


def test_batched_logistic_bootstrap_equals_loop_of_single_fits():
    import pandas as pd

    from effectmod.engines.logistic import fit_logistic
    rng = np.random.default_rng(6)
    n = 160
    treat = np.repeat([1, 0], n // 2)
    mod = rng.normal(30, 8, n)
    eta = -0.5 + 0.6 * treat + 0.03 * (mod - 30) - 0.04 * treat * (mod - 30)
    frame = pd.DataFrame({"pid": range(n), "arm": np.where(treat == 1, "t", "c"), "m": mod,
                          "y1": (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(int)})
    plan = Plan.model_validate({
        "data": {"id": "pid", "treatment": "arm", "treated": "t", "control": "c"},
        "outcomes": [{"name": "event", "type": "binary", "followups": {"1": "y1"}}],
        "moderators": [{"name": "mod", "column": "m", "type": "continuous"}],
        "analysis": {"model": "linear", "binary_method": "firth_if_separated"}})
    trial = prepare_trial(frame, plan)
    (model,) = [fit_model(s, trial, plan) for s in model_specs(plan, trial)]
    assert model.spec.kind == "logistic"
    counts = stratified_bootstrap_counts(trial.treat, 40, np.random.default_rng(2))
    draws = bootstrap_draws(model, counts, plan)[("1", "")]
    d = model.design
    column = d.index("treat:mod")
    assert np.isfinite(draws).all()
    for b in range(40):
        picks = counts_to_indices(counts[b])
        single = fit_logistic(d.X[picks], d.y[picks])
        assert abs(draws[b] - single.coef[column]) < LOGISTIC_AGREEMENT * max(1.0, abs(single.coef[column]))


def test_separated_replicates_are_flagged_for_the_engine():
    from effectmod.engines.logistic import fit_logistic_stacked
    x = np.arange(20, dtype=float)
    X = np.column_stack([np.ones(20), x])
    y = (x >= 10).astype(float)            # x separates the outcome perfectly
    W = np.ones((2, 20))
    W[1, [9, 10]] = 0                      # a resample without the two boundary rows: still separated
    coef, _, converged = fit_logistic_stacked(X, y, W)
    assert not converged.any()
    mixed = np.where(np.arange(20) % 3 == 0, 1.0 - y, y)   # overlapping classes: converges
    coef, _, converged = fit_logistic_stacked(X, mixed, np.ones((1, 20)))
    assert converged.all() and np.isfinite(coef).all()
