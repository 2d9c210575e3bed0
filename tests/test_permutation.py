"""Freedman–Lane permutation test: batched equals a loop of single fits; pipeline column."""
import numpy as np
import pytest

import effectmod as em
from effectmod.engines.ols import fit_ols
from effectmod.inference.permutation import LINEAR_ONLY, freedman_lane_t, permutation_column, permutation_p, within_arm_permutations
from effectmod.simulation import simulate

# Batched and single fits solve the same least-squares problems in double precision.
AGREEMENT = 1e-10
# With 276 roughly normal residuals the permutation p and the t-test p estimate the same
# probability; 999 permutations have Monte Carlo SE <= 0.016, and the test families differ a
# little, so 0.06 is about 4 MC standard errors.
P_CLOSENESS = 0.06
PERMUTATIONS = 999


@pytest.fixture(scope="module")
def sim():
    return simulate("resolve", 276, 3)


def test_within_arm_permutations_keep_arms_and_are_permutations():
    treat = np.repeat([0.0, 1.0, 0.0], [5, 7, 4])
    idx = within_arm_permutations(treat, 50, np.random.default_rng(1))
    assert idx.shape == (50, 16)
    for row in idx:
        assert sorted(row) == list(range(16))
        np.testing.assert_array_equal(treat[row], treat)
    assert len({tuple(r) for r in idx}) > 40


def test_batched_freedman_lane_equals_loop_of_single_fits():
    rng = np.random.default_rng(8)
    n = 120
    treat = np.repeat([0.0, 1.0], n // 2)
    mod = rng.normal(20, 6, n)
    base = rng.normal(5, 2, n)
    X = np.column_stack([np.ones(n), treat, mod, base, treat * mod])
    y = X @ [1.0, 0.4, 0.05, 0.6, 0.03] + rng.normal(size=n)
    idx = within_arm_permutations(treat, 40, rng)
    t_obs, t_perm = freedman_lane_t(X, y, 4, idx)
    reduced = fit_ols(X[:, :4], y)
    fitted = X[:, :4] @ reduced.coef
    resid = y - fitted
    full = fit_ols(X, y)
    assert abs(t_obs - full.coef[4] / np.sqrt(full.vcov[4, 4])) < AGREEMENT
    for b in range(40):
        single = fit_ols(X, fitted + resid[idx[b]])
        assert abs(t_perm[b] - single.coef[4] / np.sqrt(single.vcov[4, 4])) < AGREEMENT


def test_permutation_p_counts_the_observed_once():
    assert permutation_p(2.0, np.array([0.5, -3.0, 2.0, 1.0])) == 3 / 5
    assert permutation_p(10.0, np.zeros(99)) == 1 / 100
    assert np.isnan(permutation_p(np.nan, np.zeros(3)))


def test_pipeline_reports_p_permutation_close_to_t_test_and_reproducible(sim):
    plan = dict(sim.plan)
    plan["analysis"] = {**plan["analysis"], "permutations": PERMUTATIONS}
    res = em.analyze(sim.data, plan)
    t = res.table
    assert "p_permutation" in t.columns
    assert list(t.columns[:13]) == ["outcome", "timepoint", "moderator", "term", "model", "estimate",
                                    "std_error", "ci_low", "ci_high", "p_value", "p_adjusted", "n", "tier"]
    linear = t[t["model"] == "linear"]
    assert linear["p_permutation"].notna().all()
    assert (linear["p_permutation"] >= 1 / (PERMUTATIONS + 1)).all()
    assert np.max(np.abs(linear["p_permutation"] - linear["p_value"])) < P_CLOSENESS
    mixed = t[t["model"] == "mixed"]
    assert len(mixed) and mixed["p_permutation"].isna().all()
    assert mixed["note"].str.contains(LINEAR_ONLY).all()
    # the column is a function of the plan seed only: recomputed from it, it is identical
    seed = plan["analysis"]["seed"]
    again, _ = permutation_column(t, res.fitted, PERMUTATIONS, np.random.default_rng(seed).spawn(1)[0])
    np.testing.assert_array_equal(again, t["p_permutation"])
    other, _ = permutation_column(t, res.fitted, PERMUTATIONS, np.random.default_rng(seed + 1).spawn(1)[0])
    assert not np.array_equal(other[t["model"] == "linear"], linear["p_permutation"])


@pytest.mark.slow
def test_null_permutation_p_is_uniform():
    # 200 null trials, one interaction each: the permutation test's rejection rate at 0.05
    # must lie within 3 binomial SEs of 0.05.
    rejections = []
    for seed in range(200):
        rng = np.random.default_rng(seed)
        n = 60
        treat = np.repeat([0.0, 1.0], n // 2)
        mod = rng.exponential(1.0, n)
        X = np.column_stack([np.ones(n), treat, mod, treat * mod])
        y = X[:, :3] @ [0.0, 0.5, 0.3] + rng.standard_t(3, n)
        t_obs, t_perm = freedman_lane_t(X, y, 3, within_arm_permutations(treat, 199, rng))
        rejections.append(permutation_p(t_obs, t_perm) < 0.05)
    assert abs(np.mean(rejections) - 0.05) < 3 * np.sqrt(0.05 * 0.95 / 200)


def test_categorical_moderator_gets_level_p_and_a_note_on_the_joint_row():
    sim = simulate("resolve", 120, 2)
    data = sim.data.copy()
    data["site"] = np.random.default_rng(1).choice(["a", "b", "c"], len(data))
    plan = dict(sim.plan)
    plan["moderators"] = [{"name": "site", "column": "site", "type": "categorical"}]
    plan["analysis"] = {**plan["analysis"], "permutations": 99, "sensitivity": []}
    t = em.analyze(data, plan).table
    levels = t[t["term"] != "joint"]
    assert len(levels) == 8 and levels["p_permutation"].between(0.01, 1).all()
    joint = t[t["term"] == "joint"]
    assert joint["p_permutation"].isna().all() and joint["note"].str.contains("joint").all()


def test_batched_freedman_lane_hc3_equals_loop_of_single_hc3_fits():
    rng = np.random.default_rng(18)
    n = 90
    treat = np.repeat([0.0, 1.0], n // 2)
    mod = rng.normal(20, 6, n)
    base = rng.normal(5, 2, n)
    X = np.column_stack([np.ones(n), treat, mod, base, treat * mod])
    y = X @ [1.0, 0.4, 0.05, 0.6, 0.03] + np.exp((mod - 20) / 6) * rng.normal(size=n)
    idx = within_arm_permutations(treat, 30, rng)
    t_obs, t_perm = freedman_lane_t(X, y, 4, idx, se="HC3")
    reduced = fit_ols(X[:, :4], y)
    fitted = X[:, :4] @ reduced.coef
    resid = y - fitted
    full = fit_ols(X, y, se="HC3")
    assert abs(t_obs - full.coef[4] / np.sqrt(full.vcov[4, 4])) < AGREEMENT
    classical = fit_ols(X, y)
    assert abs(t_obs - classical.coef[4] / np.sqrt(classical.vcov[4, 4])) > 0.01
    for b in range(30):
        single = fit_ols(X, fitted + resid[idx[b]], se="HC3")
        assert abs(t_perm[b] - single.coef[4] / np.sqrt(single.vcov[4, 4])) < AGREEMENT


def test_pipeline_permutes_the_hc3_t_when_the_plan_asks_for_hc3():
    from effectmod.inference.permutation import model_permutation_p
    sim = simulate("resolve", 120, 4)
    plan = dict(sim.plan)
    plan["analysis"] = {**plan["analysis"], "permutations": 99, "se": "HC3", "sensitivity": []}
    res = em.analyze(sim.data, plan)
    model = next(f for f in res.fitted if f.spec.kind == "linear")
    assert model.fit.se_type == "HC3"
    seed = plan["analysis"]["seed"]
    p, _ = permutation_column(res.table, [model], 99, np.random.default_rng(seed))
    hc3 = model_permutation_p(model, 99, np.random.default_rng(seed).spawn(1)[0], "HC3")[""]
    classical = model_permutation_p(model, 99, np.random.default_rng(seed).spawn(1)[0], "classical")[""]
    assert hc3 != classical
    row = np.flatnonzero(((res.table["model"] == "linear") & (res.table["outcome"] == model.spec.outcome)
                          & (res.table["timepoint"] == model.spec.timepoint)
                          & (res.table["moderator"] == model.spec.moderator)).to_numpy())
    assert p[row[0]] == hc3


def _heteroscedastic_size(replicates: int, permutations: int, seed: int) -> dict[str, float]:
    """Rejection rate at 0.05 of the Freedman-Lane test of a null interaction when the error SD
    grows with the moderator (sd = exp(mod)), for the classical and the HC3 t statistic."""
    rng = np.random.default_rng(seed)
    n = 100
    treat = np.repeat([0.0, 1.0], n // 2)
    rejected = {"classical": 0, "HC3": 0}
    for _ in range(replicates):
        mod = rng.normal(size=n)
        base = rng.normal(size=n)
        y = 0.5 * base + 0.3 * treat + 0.2 * mod + np.exp(mod) * rng.normal(size=n)
        X = np.column_stack([np.ones(n), treat, mod, base, treat * mod])
        idx = within_arm_permutations(treat, permutations, rng)
        for se in rejected:
            t_obs, t_perm = freedman_lane_t(X, y, 4, idx, se=se)
            rejected[se] += permutation_p(t_obs, t_perm) < 0.05
    return {se: k / replicates for se, k in rejected.items()}


# 150 null trials: binomial SE of a 0.05 rate is 0.018, so 0.12 is ~4 SE above it; the
# classical statistic's rate under this error model is about 0.3.
FAST_SIZE_LIMIT = 0.12


def test_hc3_permutation_keeps_its_size_under_heteroscedastic_errors():
    size = _heteroscedastic_size(150, 199, 2024)
    assert size["HC3"] < FAST_SIZE_LIMIT
    assert size["classical"] > 0.15    # the old statistic: far too liberal


@pytest.mark.slow
def test_hc3_permutation_size_1000_replicates():
    # 1000 null trials: binomial SE 0.0069; within 3.5 SE of 0.05
    size = _heteroscedastic_size(1000, 499, 7)
    assert abs(size["HC3"] - 0.05) < 3.5 * np.sqrt(0.05 * 0.95 / 1000)
    assert size["classical"] > 0.15
