"""Simulation checks of the interaction test: type I error under the null scenario and CI coverage
of the true interaction under the RESOLVE-like scenario, every simulated trial fitted by the batched
engine (one stacked least-squares call per moderator x outcome x follow-up)."""
import numpy as np
import pytest
from scipy import stats

from effectmod.engines.ols import fit_ols_stacked
from effectmod.simulation import simulate, simulate_arrays

LEVEL = 0.95


def interaction_tests(scenario: str, reps: int, seed: int):
    """For each of the 32 analyses: (p values, CI covers the estimand) over `reps` trials."""
    draw, truth = simulate_arrays(scenario, n=276, reps=reps, seed=seed)
    plan = simulate(scenario, n=276, seed=seed).plan
    estimand = {(r["moderator"], r["outcome"], r["timepoint"]): r["estimand"] for r in truth["interactions"]}
    out = {}
    for o in plan["outcomes"]:
        base = draw.baseline[o["baseline"]]
        for t, col in o["followups"].items():
            y = draw.outcomes[col]
            for m in plan["moderators"]:
                mod = draw.baseline[m["column"]]
                cols = [np.ones_like(y), draw.treat, mod, draw.treat * mod]
                if m["column"] != o["baseline"]:          # the baseline enters once
                    cols.append(base)
                X = np.stack(cols, axis=-1)
                mask = ~np.isnan(y)
                fit = fit_ols_stacked(X, np.where(mask, y, 0.0), mask)
                b, se, df = fit.coef[:, 3], fit.std_error[:, 3], fit.df_resid
                p = 2 * stats.t.sf(np.abs(b / se), df)
                q = stats.t.ppf(0.5 + LEVEL / 2, df)
                true = estimand[(m["name"], o["name"], t)]
                out[(m["name"], o["name"], t)] = (p, np.abs(b - true) <= q * se)
    return out


def binomial_band(rate: float, trials: int, sigmas: float = 4.0) -> tuple[float, float]:
    half = sigmas * np.sqrt(rate * (1 - rate) / trials)
    return rate - half, rate + half


def test_null_scenario_rejects_at_the_nominal_rate():
    reps = 400
    results = interaction_tests("null", reps, seed=11)
    rejections = np.array([np.mean(p < 0.05) for p, _ in results.values()])
    lo, hi = binomial_band(0.05, reps)
    assert ((rejections > lo) & (rejections < hi)).all(), rejections
    pooled = np.mean([p < 0.05 for p, _ in results.values()])
    # 32 tests x 400 trials; tests within a trial are correlated, so allow a wider band than iid
    assert 0.040 < pooled < 0.060, pooled


def test_resolve_scenario_ci_covers_the_true_interaction():
    reps = 400
    results = interaction_tests("resolve", reps, seed=12)
    coverage = np.array([np.mean(c) for _, c in results.values()])
    lo, hi = binomial_band(LEVEL, reps)
    assert ((coverage > lo) & (coverage < hi)).all(), coverage
    assert 0.935 < coverage.mean() < 0.965, coverage.mean()


@pytest.mark.slow
def test_calibration_with_many_trials():
    for scenario, seed in (("null", 21), ("resolve", 22)):
        results = interaction_tests(scenario, 4000, seed=seed)
        if scenario == "null":
            rate = np.mean([np.mean(p < 0.05) for p, _ in results.values()])
            assert 0.045 < rate < 0.055, rate
        else:
            cover = np.mean([np.mean(c) for _, c in results.values()])
            assert 0.945 < cover < 0.955, cover
