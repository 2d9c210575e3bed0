"""`effectmod simulate --scenario cluster`: a cluster-randomised trial with its CR2 plan and truth
(simulation.cluster.simulated_cluster_trial), its options and their bad values."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml

import effectmod as em
from effectmod.cli.app import main
from effectmod.simulation.cluster import simulate_cluster_trial


def test_writes_data_plan_and_truth(tmp_path):
    out = tmp_path / "c.csv"
    assert main(["simulate", "--scenario", "cluster", "--out", str(out), "--clusters", "12", "--cluster-size", "5-9",
                 "--icc", "0.1", "--moderator-icc", "0.3", "--interaction", "0.25", "--seed", "7"]) == 0
    data = pd.read_csv(out)
    assert list(data.columns) == ["id", "cluster", "arm", "x", "y"]
    sizes = data.groupby("cluster").size()
    assert len(sizes) == 12 and sizes.between(5, 9).all()
    arms = data.groupby("cluster")["arm"].nunique()
    assert (arms == 1).all()                                  # randomised by cluster
    assert (data.groupby("cluster")["arm"].first() == "treated").sum() == 6
    # the same options and seed give the same data as the library function
    again = simulate_cluster_trial(12, (5, 9), icc=0.1, moderator_icc=0.3, interaction=0.25, seed=7)
    assert np.allclose(again["y"].to_numpy(), data["y"].to_numpy(), rtol=1e-12)
    plan = em.load_plan(yaml.safe_load((tmp_path / "c.plan.yaml").read_text()))
    assert plan.data.cluster == "cluster" and plan.analysis.se == "CR2"
    truth = json.loads((tmp_path / "c.truth.json").read_text())
    assert truth["scenario"] == "cluster" and truth["n"] == len(data)
    assert truth["parameters"]["clusters"] == 12 and truth["parameters"]["cluster_size"] == [5, 9]
    assert truth["interactions"][0]["estimand"] == 0.25
    res = em.analyze(out, tmp_path / "c.plan.yaml")
    row = res.table.iloc[0]
    assert row["model"] == "linear" and int(row["n"]) == len(data)
    assert np.isfinite(row["df"]) and row["df"] < 12        # Satterthwaite df of a 12-cluster CR2 test


def test_defaults_and_large_trial_estimate_the_truth():
    """40 x 20 by default; with 400 clusters the estimate is within a few SEs of the truth."""
    from effectmod.simulation.cluster import simulated_cluster_trial
    trial = simulated_cluster_trial(400, 20, icc=0.05, moderator_icc=0.2, interaction=0.4, seed=1)
    d = trial.data
    a = (d["arm"] == "treated").to_numpy(float)
    x = d["x"].to_numpy()
    X = np.column_stack([np.ones(len(d)), a, x, a * x])
    b = np.linalg.lstsq(X, d["y"].to_numpy(), rcond=None)[0]
    assert abs(b[3] - 0.4) < 0.1 and abs(b[1] - 0.3) < 0.1


@pytest.mark.parametrize("argv, message", [
    (["--scenario", "cluster", "--n", "50"], "--n: not used with --scenario cluster"),
    (["--scenario", "cluster", "--clusters", "2"], "--clusters 2: give a whole number of at least 4"),
    (["--scenario", "cluster", "--cluster-size", "9-3"], "--cluster-size 9-3: give a whole number"),
    (["--scenario", "cluster", "--icc", "1"], "--icc 1.0: give a number in [0, 1)"),
    (["--scenario", "cluster", "--dropout", "mar"], "--dropout: not used with --scenario cluster"),
    (["--scenario", "cluster", "--clusters", "4", "--cluster-size", "2"], "8 participants; a simulated trial needs at least 20"),
    (["--icc", "0.1"], "--icc: only used with --scenario cluster"),
])
def test_bad_options_exit_2_with_one_line(tmp_path, capsys, argv, message):
    assert main(["simulate", "--out", str(tmp_path / "s.csv"), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert all(line.startswith("effectmod: ") for line in err.strip().splitlines())
    assert not (tmp_path / "s.csv").exists()
