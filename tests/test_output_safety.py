"""What effectmod writes never costs the user a file, and what it writes and prints is safe to
open and to read: output folders replace only earlier output folders, files are not
overwritten without --force, CSV text cells are not run as spreadsheet formulas, terminal
control sequences from the data are shown, not obeyed, and output follows the umask."""
from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pandas as pd
import pytest

from effectmod.cli import main
from effectmod.cli.console import printable
from effectmod.errors import UsageError
from effectmod.writing import spreadsheet_text, write_csv, write_file, write_folder
from test_bad_inputs import plan_dict, trial_frame, write


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# ------------------------------------------------------------------ 14 (a) --force and inputs

@pytest.mark.parametrize("where", ["data", "plan", "both", "nested"])
def test_force_never_replaces_a_folder_holding_the_inputs(tmp_path, capsys, results_only, where):
    study = tmp_path / "study"
    sub = study / "raw" if where == "nested" else study
    sub.mkdir(parents=True)
    args = write(tmp_path, trial_frame())
    data, plan = Path(args[1]), Path(args[3])
    if where in ("data", "both", "nested"):
        data = data.rename(sub / "trial.csv")
    if where in ("plan", "both"):
        plan = plan.rename(sub / "plan.yaml")
    (study / "manifest.json").write_text("{}")     # even when it looks like an earlier output folder
    before = sorted(p.relative_to(study).as_posix() for p in study.rglob("*"))
    code = main(["analyze", str(data), "--plan", str(plan), "--out", str(study), "--force"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "holds the input file" in err and "choose another output folder" in err and "Traceback" not in err
    assert sorted(p.relative_to(study).as_posix() for p in study.rglob("*")) == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_force_never_replaces_a_folder_effectmod_did_not_write(tmp_path, capsys, results_only):
    args = write(tmp_path, trial_frame())
    home = tmp_path / "home"
    home.mkdir()
    (home / "thesis.docx").write_text("years of work")
    assert main(args[:-1] + [str(home), "--force"]) == 2
    err = capsys.readouterr().err
    assert "not an effectmod output folder (it has no manifest.json)" in err and "delete this one yourself" in err
    assert names(home) == ["thesis.docx"]
    # an earlier output folder is replaced
    out = tmp_path / "out"
    assert main(args) == 0
    (out / "results.csv").write_text("stale")
    assert main(args + ["--force"]) == 0
    assert (out / "results.csv").read_text() != "stale"


def test_power_folder_can_be_replaced_with_force(tmp_path):
    args = ["power", "--n", "40", "--replicates", "10", "--workers", "1", "--quiet", "--out", str(tmp_path / "pw")]
    pytest.importorskip("matplotlib")
    assert main(args) == 0
    manifest = json.loads((tmp_path / "pw" / "manifest.json").read_text())
    assert manifest["command"] == "power" and manifest["seed"] == 2024
    assert main(args) == 2
    assert main(args + ["--force"]) == 0


# ------------------------------------------------------------------ 14 (b) the final rename

def test_folder_filled_while_computing_is_kept(tmp_path, capsys, monkeypatch):
    """Someone (another program, the user) puts a file into --out while the analysis runs:
    without --force it is kept, nothing is written, and no temporary folder is left."""
    import effectmod.report.html
    import effectmod.report.outputs
    args = write(tmp_path, trial_frame())
    out = tmp_path / "out"

    def meanwhile(results, folder):
        out.mkdir()
        (out / "mine.txt").write_text("precious")
        return []
    monkeypatch.setattr(effectmod.report.outputs, "write_extra_outputs", meanwhile)
    monkeypatch.setattr(effectmod.report.html, "render_report", lambda results, *figures: "<!doctype html>")
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "created or filled by something else while effectmod was computing" in err
    assert names(out) == ["mine.txt"] and (out / "mine.txt").read_text() == "precious"
    assert names(tmp_path) == ["out", "plan.yaml", "trial.csv"]


def test_two_runs_to_the_same_folder_do_not_both_succeed(tmp_path, capsys, monkeypatch):
    """A second run that finishes while the first is still computing: the first then fails
    (exit 2) instead of deleting the second's results."""
    import effectmod.report.html
    import effectmod.report.outputs
    args = write(tmp_path, trial_frame())
    out = tmp_path / "out"
    inner = []

    def meanwhile(results, folder):
        if not inner:
            inner.append("running")
            inner[0] = main(args + ["--quiet"])         # the other run, started and finished now
        return []
    monkeypatch.setattr(effectmod.report.outputs, "write_extra_outputs", meanwhile)
    monkeypatch.setattr(effectmod.report.html, "render_report", lambda results, *figures: "<!doctype html>")
    assert main(args) == 2
    assert inner == [0]
    assert (out / "manifest.json").is_file() and (out / "results.csv").is_file()
    assert names(tmp_path) == ["out", "plan.yaml", "trial.csv"]


def test_force_rechecks_the_folder_at_the_final_step(tmp_path):
    """--force was given for an earlier output folder, but by the time the new one is ready the
    folder holds something else: it is kept."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "manifest.json").write_text("{}")

    def fill(folder):
        (folder / "results.csv").write_text("new")
        (out / "manifest.json").unlink()             # replaced meanwhile by someone's own files
        (out / "notes.txt").write_text("mine")
    with pytest.raises(UsageError, match="not an effectmod output folder"):
        write_folder(out, True, fill)
    assert names(out) == ["notes.txt"]
    assert names(tmp_path) == ["out"]


# ------------------------------------------------------------------ 14 (c) simulate --out FILE

@pytest.mark.parametrize("existing", ["trial.csv", "trial.plan.yaml", "trial.truth.json"])
def test_simulate_does_not_overwrite_without_force(tmp_path, capsys, existing):
    (tmp_path / existing).write_text("mine")
    data = tmp_path / "trial.csv"
    assert main(["simulate", "--out", str(data), "--n", "40"]) == 2
    err = capsys.readouterr().err
    assert f"{existing}: exists; choose another name or pass --force" in err and "Traceback" not in err
    assert names(tmp_path) == [existing] and (tmp_path / existing).read_text() == "mine"
    assert main(["simulate", "--out", str(data), "--n", "40", "--force"]) == 0
    assert names(tmp_path) == ["trial.csv", "trial.plan.yaml", "trial.truth.json"]
    assert (tmp_path / existing).read_text() != "mine"


def test_a_file_that_appears_while_writing_is_kept(tmp_path):
    target = tmp_path / "plan.yaml"

    def meanwhile(tmp):
        tmp.write_text("draft")
        target.write_text("mine")
    with pytest.raises(UsageError, match="exists; choose another name"):
        write_file(target, meanwhile)
    assert names(tmp_path) == ["plan.yaml"] and target.read_text() == "mine"


# ------------------------------------------------------------------ 18 (a) CSV formula injection

HOSTILE = ["=HYPERLINK(\"http://evil.example\",\"click\")", "+cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0",
           "-2+3+cmd|' /C calc'!A0", "\t=1+1", "\r=1+1"]


def test_spreadsheet_text_neutralises_formulas_but_not_numbers():
    for text in HOSTILE + ["=1", "-", "@"]:
        assert spreadsheet_text(text) == "'" + text
    for text in ["-0.12", "+3", "-1e-05", "12", "pain", "", "a=b", " =x"]:
        assert spreadsheet_text(text) == text
    assert spreadsheet_text(-0.12) == -0.12 and spreadsheet_text(None) is None


def test_write_csv_keeps_numbers_and_neutralises_text(tmp_path):
    frame = pd.DataFrame({"name": HOSTILE, "estimate": [-0.12, 0.5, float("nan"), -1e-5, 3.0, -7.25],
                          "n": [-3, 1, 2, 3, 4, 5], "level": ["-1", "0", "1", "+2", "x", "y"],
                          "=bad header": ["a"] * 6})
    write_csv(frame, tmp_path / "t.csv")
    back = pd.read_csv(tmp_path / "t.csv", keep_default_na=False, dtype=str)
    assert list(back["name"]) == ["'" + t.replace("\r", "\n") for t in HOSTILE]   # a lone CR would split the row
    assert list(back["estimate"]) == ["-0.12", "0.5", "", "-1e-05", "3.0", "-7.25"]
    assert list(back["n"]) == ["-3", "1", "2", "3", "4", "5"]
    assert list(back["level"]) == ["-1", "0", "1", "+2", "x", "y"]
    assert list(back.columns) == ["name", "estimate", "n", "level", "'=bad header"]


def test_results_csv_level_names_from_the_data_are_not_formulas(tmp_path, capsys, results_only):
    frame = trial_frame()
    levels = ["=HYPERLINK(\"http://evil.example\")", "@SUM(1)", "-1+cmd|'/C calc'!A0", "ok"]
    frame["site"] = [levels[i % 4] for i in range(len(frame))]
    plan = plan_dict(moderators=[{"name": "site", "column": "site", "type": "categorical", "reference": "ok"},
                                 {"name": "frebaq", "column": "frebaq", "type": "continuous"}])
    args = write(tmp_path, frame, plan)
    assert main(args + ["--quiet"]) == 0
    raw = pd.read_csv(tmp_path / "out" / "results.csv", keep_default_na=False, dtype=str)
    terms = set(raw["term"]) - {"", "joint"}
    assert terms == {"'" + lv for lv in levels[:3]}
    numbers = pd.read_csv(tmp_path / "out" / "results.csv")
    assert pd.api.types.is_float_dtype(numbers["estimate"]) and pd.api.types.is_float_dtype(numbers["p_value"])
    # results.json keeps the raw text
    payload = json.loads((tmp_path / "out" / "results.json").read_text(encoding="utf-8"))
    assert {r["term"] for r in payload["results"]} - {"", "joint"} == set(levels[:3])


# ------------------------------------------------------------------ 18 (b) terminal control characters

def test_printable_shows_control_characters():
    assert printable("sham\x1b[2J\x1b]0;owned\x07") == "sham\\x1b[2J\\x1b]0;owned\\x07"
    assert printable("a\nb\rc\x9bd\x7f") == "a\\x0ab\\x0dc\\x9bd\\x7f"
    assert printable("Schmerz β (0–10)") == "Schmerz β (0–10)"


def test_validate_and_errors_print_no_escape_sequences(tmp_path, capsys):
    frame = trial_frame()
    frame.loc[:3, "arm"] = "waitlist\x1b[2J\x1b]0;owned\x07"          # a third arm, excluded and named
    args = write(tmp_path, frame, command="validate")
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out
    assert "waitlist\\x1b[2J\\x1b]0;owned\\x07" in out
    # a plan error naming a column from the data
    frame = trial_frame().rename(columns={"frebaq": "frebaq\x1b[31m"})
    args = write(tmp_path, frame, command="validate")
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "\x1b" not in err and "frebaq\\x1b[31m" in err
    assert all(line.startswith("effectmod: ") for line in err.splitlines())


def test_console_table_prints_no_escape_sequences(tmp_path, capsys, results_only):
    plan = plan_dict(title="Trial \x1b]0;owned\x07", moderators=[
        {"name": "frebaq", "column": "frebaq", "type": "continuous", "label": "FreBAQ \x1b[8m[bold]hidden"}])
    args = write(tmp_path, trial_frame(), plan)
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out
    # labels reach the console as every writer shows them (U+FFFD for a control character), the
    # title as visible escapes; '[bold]' stays literal text, not rich markup
    assert "FreBAQ \ufffd[8m[bold]hidden" in out and "Trial \\x1b]0;owned\\x07" in out


# ------------------------------------------------------------------ 18 (c) permissions follow the umask

@pytest.fixture(params=[0o022, 0o002, 0o077])
def umask(request):
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_output_folder_follows_the_umask(tmp_path, capsys, results_only, umask):
    args = write(tmp_path, trial_frame())
    assert main(args + ["--quiet"]) == 0
    out = tmp_path / "out"
    assert mode(out) == 0o777 & ~umask
    for p in out.rglob("*"):
        assert mode(p) == (0o777 if p.is_dir() else 0o666) & ~umask, p


def test_simulated_files_and_plans_follow_the_umask(tmp_path, capsys, umask):
    data = tmp_path / "trial.csv"
    assert main(["simulate", "--out", str(data), "--n", "40"]) == 0
    assert main(["init", str(data), "--out", str(tmp_path / "draft.yaml")]) == 0
    for p in tmp_path.iterdir():
        assert mode(p) == 0o666 & ~umask, p
