"""Batched bootstrap refits of Poisson, negative binomial and ordinal models (frequency weights on
the shared design) give the draws of the loop of single fits on resampled rows, including the
replicates the batch hands back to the loop (a category missing from a resample, a zero-event
subgroup): their NaN pattern and values are the loop's."""
import numpy as np
import pandas as pd
import pytest

from effectmod.data.inputs import load_inputs
from effectmod.engines.count_batch import negbin_weighted, ordinal_weighted, poisson_weighted
from effectmod.inference.bootstrap import _refit_loop, bootstrap_draws
from effectmod.inference.resample import stratified_bootstrap_counts
from effectmod.models.fit import fit_model
from effectmod.models.spec import model_specs
from effectmod.simulation import simulate

AGREEMENT = 1e-8
B = 40


def _model(data, plan, kind):
    plan_obj, _, trial = load_inputs(data, plan)
    fm = next(f for f in (fit_model(s, trial, plan_obj) for s in model_specs(plan_obj, trial)) if f.spec.kind == kind)
    assert fm.fit is not None
    counts = stratified_bootstrap_counts(trial.treat, B, np.random.default_rng(5))
    return fm, plan_obj, counts


def _simulated(kind, n=120):
    sim = simulate("status" if kind == "ordinal" else "epilepsy", n, 3)
    plan = dict(sim.plan)
    if kind == "poisson":
        plan["analysis"] = {**plan["analysis"], "count_model": "poisson"}
    return sim.data.copy(), plan


def _batched(fm, counts):
    d = fm.design
    W = counts[:, d.rows].astype(float)
    if fm.spec.kind == "poisson":
        return poisson_weighted(d.X, d.y, W, d.offset, fm.fit.coef)
    if fm.spec.kind == "negative_binomial":
        return negbin_weighted(d.X, d.y, W, d.offset, fm.fit.coef, fm.fit.theta)
    return ordinal_weighted(d.X, d.y, d.names, W, fm.fit.thresholds, fm.fit.coef)


def _assert_same_draws(fm, plan, counts):
    got = bootstrap_draws(fm, counts, plan)
    want = _refit_loop(fm, counts, plan)
    assert got.keys() == want.keys()
    for key in want:
        np.testing.assert_array_equal(np.isnan(got[key]), np.isnan(want[key]))
        np.testing.assert_allclose(got[key], want[key], rtol=AGREEMENT, atol=AGREEMENT, equal_nan=True)


@pytest.mark.parametrize("kind", ["poisson", "negative_binomial", "ordinal"])
def test_batched_draws_equal_the_loop(kind):
    fm, plan, counts = _model(*_simulated(kind), kind)
    coef, done = _batched(fm, counts)
    assert done.mean() > 0.9                     # the batch, not the loop, made these draws
    j = fm.design.index("treat:mod")
    single = _refit_loop(fm, counts[done][:5], plan)
    np.testing.assert_allclose(coef[done][:5, j], next(iter(single.values())), rtol=AGREEMENT, atol=AGREEMENT)
    _assert_same_draws(fm, plan, counts)


def test_ordinal_resamples_missing_a_category_go_to_the_loop():
    data, plan = _simulated("ordinal")
    rare = data.index[data["status_12"] == "excellent"]
    data.loc[rare[3:], "status_12"] = "good"                 # three participants in the top category
    fm, plan_obj, counts = _model(data, plan, "ordinal")
    _, done = _batched(fm, counts)
    assert 0 < (~done).sum() < B
    _assert_same_draws(fm, plan_obj, counts)


def test_poisson_resamples_with_a_zero_event_subgroup_go_to_the_loop():
    rng = np.random.default_rng(11)
    n = 120
    arm = np.where(np.arange(n) % 2 == 0, "active", "control")
    flag = (rng.random(n) < 0.25).astype(float)
    events = rng.poisson(2.0, n).astype(float)
    cell = np.flatnonzero((arm == "active") & (flag == 1))
    events[cell] = 0.0
    events[cell[0]] = 1.0                                     # one event in the cell: estimable, fragile
    data = pd.DataFrame({"pid": np.arange(n), "arm": arm, "flag": flag, "events": events})
    plan = {"data": {"id": "pid", "treatment": "arm", "treated": "active", "control": "control"},
            "outcomes": [{"name": "events", "type": "count", "followups": {"end": "events"}}],
            "moderators": [{"name": "flag", "column": "flag", "type": "binary"}],
            "analysis": {"count_model": "poisson"}}
    fm, plan_obj, counts = _model(data, plan, "poisson")
    _, done = _batched(fm, counts)
    assert 0 < (~done).sum() < B
    _assert_same_draws(fm, plan_obj, counts)


@pytest.mark.parametrize("kind", ["poisson", "negative_binomial", "ordinal"])
def test_multi_arm_categorical_moderator_draws_equal_the_loop(kind):
    """Every comparison of a three-arm trial; a negative binomial replicate whose likelihood is
    flat in theta (the single fit stops unconverged there) is the loop's too."""
    rng = np.random.default_rng(2)
    n = 300
    arm = rng.choice(["control", "a", "b"], n)
    age = rng.normal(40, 10, n)
    site = rng.choice(["x", "y", "z"], n)
    events = rng.poisson(np.exp(1 + 0.3 * (arm == "a") - 0.2 * (arm == "b") + 0.01 * (age - 40)))
    level = np.clip(np.round(1.5 + 0.5 * (arm != "control") + 0.02 * (age - 40) + rng.normal(0, 1, n)), 0, 3)
    data = pd.DataFrame({"pid": np.arange(n), "arm": arm, "site": site, "events": events.astype(float),
                         "status": np.array(["p", "f", "g", "e"])[level.astype(int)]})
    outcome = ({"name": "status", "type": "ordinal", "levels": ["p", "f", "g", "e"], "followups": {"1": "status"}}
               if kind == "ordinal" else {"name": "events", "type": "count", "followups": {"1": "events"}})
    plan = {"data": {"id": "pid", "treatment": "arm", "treated": ["a", "b"], "control": "control"},
            "outcomes": [outcome], "moderators": [{"name": "site", "column": "site", "type": "categorical", "reference": "x"}],
            "analysis": {"count_model": "poisson" if kind == "ordinal" else kind}}
    plan_obj, _, trial = load_inputs(data, plan)
    fm = fit_model(model_specs(plan_obj, trial)[0], trial, plan_obj)
    counts = stratified_bootstrap_counts(trial.treat, B, np.random.default_rng(3))
    _assert_same_draws(fm, plan_obj, counts)
