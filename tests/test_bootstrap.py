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
from effectmod.simulate import simulate

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
