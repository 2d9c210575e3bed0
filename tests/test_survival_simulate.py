"""`effectmod simulate --scenario survival`: writes data, plan and truth; the written plan analyses
(Cox and RMST rows) and the Cox row recovers the true interaction on a large trial."""
from __future__ import annotations

import json

import pandas as pd
import yaml

import effectmod as em
from effectmod.cli.app import main


def test_cli_writes_a_survival_trial_whose_plan_recovers_the_interaction(tmp_path):
    out = tmp_path / "s.csv"
    assert main(["simulate", "--scenario", "survival", "--n", "3000", "--seed", "8", "--out", str(out)]) == 0
    data = pd.read_csv(out)
    assert list(data.columns) == ["id", "arm", "risk", "time", "event"] and len(data) == 3000
    assert (data.arm == "intervention").sum() == 1500 and 0 < data.event.mean() < 1
    plan = yaml.safe_load((tmp_path / "s.plan.yaml").read_text())
    assert plan["outcomes"][0]["type"] == "time_to_event" and plan["analysis"]["seed"] == 8
    truth = json.loads((tmp_path / "s.truth.json").read_text())
    assert truth["scenario"] == "survival" and truth["n"] == 3000
    (want,) = truth["interactions"]
    res = em.analyze(out, tmp_path / "s.plan.yaml")
    assert set(res.table.model) == {"cox", "rmst"}
    cox = res.table[res.table.model == "cox"].iloc[0]
    assert abs(cox.estimate - want["value"]) < 4 * cox.std_error and cox.std_error < 0.15
    # the same seed gives the same trial through the library
    again = em.simulate("survival", n=3000, seed=8)
    assert again.data["time"].round(6).equals(data["time"]) and again.truth == truth


def test_survival_scenario_takes_no_dropout_override(tmp_path, capsys):
    assert main(["simulate", "--scenario", "survival", "--dropout", "mar", "--out", str(tmp_path / "s.csv")]) == 2
    assert "the survival scenario takes no overrides (dropout)" in capsys.readouterr().err
