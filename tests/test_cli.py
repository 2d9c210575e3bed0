"""The commands end to end, as a user runs them."""
import json
import subprocess
import sys

import pandas as pd
import yaml

from effectmod.cli import main
from effectmod.results import CONTRACT_COLUMNS


def test_demo_writes_the_whole_folder(tmp_path, capsys, no_figures):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "back_perception" in printed or "Back perception" in printed
    for name in ("results.csv", "results.json", "report.html", "manifest.json"):
        assert (out / name).is_file(), name
    table = pd.read_csv(out / "results.csv", keep_default_na=False)
    assert tuple(table.columns[:13]) == CONTRACT_COLUMNS
    linear = table[table["model"] == "linear"]
    assert len(linear) == 32                      # 8 moderators x 2 outcomes x 2 follow-ups
    assert set(linear["timepoint"].astype(str)) == {"18", "52"}
    assert set(table["model"]) >= {"linear", "mixed"}
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "52 weeks" in report                    # the plan's data.time_unit labels the follow-ups
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 2024 and len(manifest["inputs"]["data"]["sha256"]) == 64


def test_demo_refuses_a_non_empty_folder_without_force(tmp_path, capsys):
    out = tmp_path / "demo"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    assert main(["demo", "--out", str(out)]) == 2
    assert "--force" in capsys.readouterr().err
    assert (out / "keep.txt").read_text() == "mine"


def test_simulate_then_analyze_round_trip(tmp_path, no_figures):
    data = tmp_path / "trial.csv"
    assert main(["simulate", "--out", str(data), "--n", "120", "--seed", "5"]) == 0
    plan = tmp_path / "trial.plan.yaml"
    assert plan.is_file() and (tmp_path / "trial.truth.json").is_file()
    assert main(["validate", str(data), "--plan", str(plan)]) == 0
    out = tmp_path / "out"
    assert main(["analyze", str(data), "--plan", str(plan), "--out", str(out), "--quiet", "--seed", "9"]) == 0
    assert json.loads((out / "manifest.json").read_text())["seed"] == 9
    parsed = yaml.safe_load(plan.read_text())
    assert parsed["analysis"]["model"] == "linear"


def test_json_output_is_machine_readable(tmp_path, capsys, no_figures):
    data = tmp_path / "t.csv"
    main(["simulate", "--out", str(data), "--n", "60", "--seed", "1"])
    capsys.readouterr()
    assert main(["analyze", str(data), "--plan", str(tmp_path / "t.plan.yaml"), "--out", str(tmp_path / "o"), "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert {"results", "plan", "data_flow", "models"} <= set(payload)


def test_module_entry_point_and_bad_arguments():
    done = subprocess.run([sys.executable, "-m", "effectmod", "analyze"], capture_output=True, text=True)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    done = subprocess.run([sys.executable, "-m", "effectmod", "--version"], capture_output=True, text=True)
    assert done.returncode == 0 and "effectmod" in done.stdout


def test_init_into_a_missing_folder_is_a_usage_error(tmp_path, capsys):
    data = tmp_path / "t.csv"
    main(["simulate", "--out", str(data), "--n", "40", "--seed", "1"])
    assert main(["init", str(data), "--out", str(tmp_path / "nowhere" / "plan.yaml")]) == 2
    assert "does not exist" in capsys.readouterr().err
