"""Simulation-based power: a known answer, batched fits equal single fits, determinism, CLI, Dask."""
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from effectmod.cli import main
from effectmod.engines.logistic import fit_logistic_stacked
from effectmod.engines.ols import fit_ols
from effectmod.power import (
    POWER_COLUMNS,
    TARGET_COLUMNS,
    PowerGrid,
    ScenarioSource,
    Size,
    pilot_source,
    simulate_power,
    stacked_t,
    target_table,
    wilson,
)

# Monte Carlo error: a power estimate from R trials has SE sqrt(p(1-p)/R); 4 SEs keep the
# known-answer check from failing by chance (two-sided, about 1 in 16,000).
MC_SIGMAS = 4.0
# batched and single fits solve the same least-squares problems in double precision
AGREEMENT = 1e-8
# the batched logistic fits converge to a relative change of 1e-8, so they match the
# reference engine's coefficients and SEs to about that
LOGISTIC_AGREEMENT = 1e-6


def _pilot(n=80, effect=0.6, seed=0, binary=False):
    rng = np.random.default_rng(seed)
    treat = np.repeat([1, 0], n // 2)
    mod = rng.normal(10, 3, n)
    y = effect * treat + 0.1 * mod + 0.05 * treat * (mod - 10) + rng.normal(0, 1, n)
    if binary:
        y = (rng.random(n) < 1 / (1 + np.exp(-(y - 1)))).astype(int)
    frame = pd.DataFrame({"pid": range(n), "arm": np.where(treat == 1, "a", "b"), "y1": y, "m": mod})
    plan = {"data": {"id": "pid", "treatment": "arm", "treated": "a", "control": "b"},
            "outcomes": [{"name": "y", "type": "binary" if binary else "continuous", "followups": {"1": "y1"}}],
            "moderators": [{"name": "mod", "column": "m", "type": "continuous"}],
            "analysis": {"model": "linear"}}
    return frame, plan


def test_average_effect_power_matches_noncentral_t():
    frame, plan = _pilot()
    source = pilot_source(frame, plan, errors="normal")
    ate = next(m for m in source.models if m.moderator == "")
    assert ate.rows.shape[1] == 2          # intercept and treatment: a two-sample t-test
    grid = PowerGrid((40, 100), (Size(1.0),), replicates=2000, seed=5)
    table = simulate_power(source, grid, workers=1)
    for n, row in table.set_index("n").iterrows():
        delta = ate.coef[ate.treat_col]
        df = n - 2
        ncp = delta / (ate.sigma * np.sqrt(4 / n))
        q = stats.t.ppf(0.975, df)
        analytic = stats.nct.sf(q, df, ncp) + stats.nct.cdf(-q, df, ncp)
        assert 0.2 < analytic < 0.95       # a case where power is not trivially 0 or 1
        assert abs(row["ate_power"] - analytic) < MC_SIGMAS * row["ate_mcse"], (n, row["ate_power"], analytic)
        assert row["true_ate"] == pytest.approx(delta)


def test_stacked_t_equals_single_fits():
    rng = np.random.default_rng(2)
    B, n = 6, 50
    treat = rng.permuted(np.tile(np.repeat([0.0, 1.0], n // 2), (B, 1)), axis=1)
    mod, base = rng.normal(5, 2, (B, n)), rng.normal(0, 1, (B, n))
    y = treat + 0.2 * mod + 0.3 * treat * mod + base + rng.normal(size=(B, n))
    y[:, :7] = np.nan                      # dropout: complete cases only
    cols = np.stack([treat, base, mod, treat * mod], axis=-1)
    (t_ate, t_int), count = stacked_t(cols, y, ~np.isnan(y), [([0, 1], 0), ([0, 2, 1, 3], 3)])
    assert (count == n - 7).all()
    for b in range(B):
        X = np.column_stack([np.ones(n), treat[b], mod[b], base[b], treat[b] * mod[b]])[7:]
        single = fit_ols(X, y[b, 7:])
        assert abs(t_int[b] - single.coef[4] / np.sqrt(single.vcov[4, 4])) < AGREEMENT
        ate = fit_ols(X[:, [0, 1, 3]], y[b, 7:])
        assert abs(t_ate[b] - ate.coef[1] / np.sqrt(ate.vcov[1, 1])) < AGREEMENT


def test_stacked_logistic_equals_single_fits():
    from effectmod.engines.logistic import fit_logistic
    rng = np.random.default_rng(3)
    B, n = 4, 120
    X = np.stack([np.column_stack([np.ones(n), rng.integers(0, 2, n), rng.normal(3, 1, n)]) for _ in range(B)])
    y = (rng.random((B, n)) < 1 / (1 + np.exp(-(X @ [-0.5, 0.8, 0.3])))).astype(float)
    coef, se, conv = fit_logistic_stacked(X, y)
    assert conv.all()
    for b in range(B):
        single = fit_logistic(X[b], y[b])
        np.testing.assert_allclose(coef[b], single.coef, rtol=LOGISTIC_AGREEMENT, atol=LOGISTIC_AGREEMENT)
        np.testing.assert_allclose(se[b], np.sqrt(np.diag(single.vcov)), rtol=LOGISTIC_AGREEMENT)


def test_binary_pilot_power_runs_and_is_a_probability():
    frame, plan = _pilot(n=200, binary=True, seed=4)
    source = pilot_source(frame, plan)
    assert all(m.binary for m in source.models)
    table = simulate_power(source, PowerGrid((200,), (Size(1.0),), replicates=100, seed=1), workers=1)
    assert table["power"].between(0, 1).all() and table["ate_power"].between(0, 1).all()
    assert table["ate_power"].iloc[0] > 0.3   # a clear effect on the log-odds scale at n=200


def test_deterministic_and_independent_of_workers_and_chunking():
    source = ScenarioSource("resolve")
    grid = PowerGrid((100,), (Size(1.0),), replicates=300, seed=9)
    serial = simulate_power(source, grid, workers=1)
    assert list(serial.columns) == list(POWER_COLUMNS)
    assert len(serial) == 32
    again = simulate_power(source, grid, workers=1)
    pd.testing.assert_frame_equal(serial, again)
    other = simulate_power(source, PowerGrid((100,), (Size(1.0),), replicates=300, seed=10), workers=1)
    assert not serial["power"].equals(other["power"])
    parallel = simulate_power(source, grid, workers=2)
    pd.testing.assert_frame_equal(serial, parallel)


def test_power_grows_with_n_and_interaction_size():
    source = ScenarioSource("resolve", dropout="none")
    grid = PowerGrid((60, 400), (Size(1.0), Size(2.0)), replicates=250, seed=3)
    t = simulate_power(source, grid, workers=1)
    p = t[t["moderator"] == "back_perception"].groupby(["scale", "n"])["power"].mean()
    assert p[(2.0, 400)] > p[(2.0, 60)] + 0.2
    assert p[(2.0, 400)] > p[(1.0, 400)] + 0.1
    true = t[t["moderator"] == "back_perception"].groupby("scale")["true_interaction"].mean()
    assert true[2.0] == pytest.approx(2 * true[1.0], rel=0.2)   # the estimand scales (nearly) with the DGP


def test_dask_local_cluster_equals_local_run():
    distributed = pytest.importorskip("dask.distributed")
    source = ScenarioSource("resolve")
    grid = PowerGrid((80,), (Size(1.0),), replicates=500, seed=4)
    local = simulate_power(source, grid, workers=1)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, protocol="tcp", host="127.0.0.1",
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        remote = simulate_power(source, grid, client=client)
    pd.testing.assert_frame_equal(local, remote)


def test_cli_writes_csv_and_figures(tmp_path, capsys):
    out = tmp_path / "pw"
    code = main(["power", "--n", "60,100", "--moderator", "back_perception", "--outcome", "pain",
                 "--interaction", "0.15", "--replicates", "50", "--workers", "1", "--out", str(out)])
    assert code == 0
    table = pd.read_csv(out / "power.csv")
    assert list(table.columns) == list(POWER_COLUMNS)
    assert set(table["moderator"]) == {"back_perception"}
    assert len(table) == 2 * 4              # 2 n x (2 outcomes x 2 follow-ups)
    pain = table[table["outcome"] == "pain"]
    # the latent-scale 0.15 is the DGP; the estimand on the rounded, clipped scale is near it
    assert pain["true_interaction"].between(0.1, 0.2).all()
    assert (out / "power.svg").stat().st_size > 1000 and (out / "power.png").stat().st_size > 1000
    printed = capsys.readouterr().out
    assert "Power" in printed
    # the generating value (what --interaction set) and the analysis model's estimand, labelled apart
    assert (pain["generating_interaction"] == 0.15).all()
    assert (table["analysis_estimand"] == table["true_interaction"]).all()
    assert "generating interaction" in printed and "analysis estimand" in printed
    assert main(["power", "--interaction", "0.1", "--out", str(tmp_path / "x")]) == 2
    assert main(["power", "--moderator", "nope", "--interaction", "0.1", "--out", str(tmp_path / "y")]) == 2
    assert main(["power", "--n", "60", "--replicates", "20", "--out", str(out)]) == 2   # not empty, no --force


def _curve(powers, ns=(50, 100, 200, 400), replicates=400, **extra):
    return pd.DataFrame({"outcome": "pain", "timepoint": "18", "moderator": "age", "n": list(ns), "scale": 1.0,
                         "generating_interaction": 0.1, "analysis_estimand": 0.12, "power": powers,
                         "replicates": replicates, **extra})


def test_target_smallest_n_interpolation_and_wilson_interval():
    t = target_table(_curve([0.30, 0.60, 0.85, 0.97]), 0.8)
    assert list(t.columns) == list(TARGET_COLUMNS)
    (r,) = t.to_dict("records")
    assert r["n_reached"] == 200 and r["power"] == 0.85
    # Wilson 95% interval of 340/400, as statsmodels computes it
    from statsmodels.stats.proportion import proportion_confint
    lo, hi = proportion_confint(340, 400, alpha=0.05, method="wilson")
    assert (r["power_ci_low"], r["power_ci_high"]) == pytest.approx((lo, hi), abs=1e-12)
    assert wilson(340, 400) == pytest.approx((lo, hi), abs=1e-12)
    # linear between n = 100 (0.60) and n = 200 (0.85): 0.8 is reached 4/5 of the way
    assert r["n_interpolated"] == pytest.approx(180.0)
    # the interval: where the upper and the lower Wilson bounds cross the target
    assert r["n_interval_low"] < r["n_interpolated"] < r["n_interval_high"]
    up100, up200 = wilson(240, 400)[1], wilson(340, 400)[1]
    assert r["n_interval_low"] == pytest.approx(100 + (0.8 - up100) * 100 / (up200 - up100))
    assert r["note"] == ""


def test_target_not_reached_and_reached_at_the_first_n():
    t = target_table(pd.concat([_curve([0.1, 0.2, 0.3, 0.4]),
                                _curve([0.9, 0.95, 0.99, 1.0]).assign(moderator="sex")]), 0.8)
    never, first = t.to_dict("records")
    assert pd.isna(never["n_reached"]) and np.isnan(never["n_interpolated"]) and "not reached" in never["note"]
    assert first["n_reached"] == 50 and first["n_interpolated"] == 50 and "smallest n" in first["note"]


def test_cli_target_writes_target_csv(tmp_path, capsys):
    frame, plan = _pilot(n=120, effect=0.8, seed=2)
    data, plan_file = tmp_path / "pilot.csv", tmp_path / "plan.yaml"
    frame.to_csv(data, index=False)
    import yaml
    plan_file.write_text(yaml.safe_dump(plan))
    out = tmp_path / "pw"
    assert main(["power", "--pilot", str(data), "--plan", str(plan_file), "--n", "40,80", "--scale", "1,8",
                 "--replicates", "40", "--workers", "1", "--target", "0.8", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    power = pd.read_csv(out / "power.csv")
    # a pilot's analysis model is its generating model: the two values agree
    assert np.allclose(power["generating_interaction"], power["analysis_estimand"])
    target = pd.read_csv(out / "target.csv")
    assert list(target.columns) == list(TARGET_COLUMNS)
    assert len(target) == 2 and set(target["scale"]) == {1.0, 8.0}
    assert "Smallest n reaching power 0.8" in printed and "Wilson" in printed
    assert main(["power", "--target", "1.5", "--out", str(tmp_path / "z")]) == 2
    assert "--target" in capsys.readouterr().err
