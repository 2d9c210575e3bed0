"""Nothing lost, nothing half-written, nothing executed: inputs untouched, output folders whole
or absent, Ctrl-C clean, plan and data values never run as code or as markup, runs reproducible."""
from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import effectmod as em
from effectmod.cli import main
from test_bad_inputs import BASE_PLAN, N, plan_dict, trial_frame, write

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
EVIL_MOD = "__import__('os').system('touch pwned')"
EVIL_COV = "__import__('os').system('touch pwned_cov')"
STARTUP_TIMEOUT = 120   # seconds for a subprocess to reach its slow step on a loaded 2-core machine


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    """One full run (report included) whose plan and data carry code and markup in every string."""
    tmp = tmp_path_factory.mktemp("hostile")
    frame = trial_frame().rename(columns={"frebaq": EVIL_MOD, "age": EVIL_COV})
    frame["smoker"] = frame["smoker"].map({"no": "no", "yes": IMG})
    plan = plan_dict(
        title=f"Trial {SCRIPT}",
        outcomes=[{**BASE_PLAN["outcomes"][0], "label": f"Pain {SCRIPT}"}],
        moderators=[{"name": "frebaq", "column": EVIL_MOD, "type": "continuous", "label": f"FreBAQ {SCRIPT}",
                     "rationale": f"Because {SCRIPT}", "hypothesised_direction": "less_benefit_when_higher"},
                    {"name": "smoker", "column": "smoker", "type": "binary", "reference": "no", "label": f"Smoker {IMG}"}],
        covariates=[EVIL_COV, "sex"])
    args = write(tmp, frame, plan)
    data, plan_path = Path(args[1]), Path(args[3])
    before = {p: (sha(p), p.stat().st_mtime_ns) for p in (data, plan_path)}
    cwd = os.getcwd()
    os.chdir(tmp)   # a formula evaluated as code would touch its files here
    try:
        code = main(args)
    finally:
        os.chdir(cwd)
    return {"tmp": tmp, "code": code, "out": tmp / "out", "before": before}


def test_hostile_names_are_data_not_code(hostile_run):
    assert hostile_run["code"] == 0
    tmp = hostile_run["tmp"]
    assert not list(tmp.rglob("pwned*")) and not list(Path.cwd().glob("pwned*"))
    table = pd.read_csv(hostile_run["out"] / "results.csv", keep_default_na=False)
    assert set(table["tier"]) <= {"evidence", "hypothesis-generating", "none"}
    assert len(table) == 4 and (table["n"] == N).all()


def test_inputs_are_not_changed(hostile_run):
    for path, (digest, mtime) in hostile_run["before"].items():
        assert sha(path) == digest and path.stat().st_mtime_ns == mtime


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.scripts, self.attrs, self.tags, self._in_script = [], [], [], False

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += [(tag, k, v or "") for k, v in attrs]
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts.append(data)


def test_report_escapes_every_string(hostile_run):
    page = (hostile_run["out"] / "report.html").read_text(encoding="utf-8")
    assert SCRIPT not in page and IMG not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    parsed = _Collector()
    parsed.feed(page)
    assert not any("alert(" in s for s in parsed.scripts)
    assert not any(k.startswith("on") and "alert(" in v for _, k, v in parsed.attrs)
    assert not any(tag == "img" and k == "src" and v == "x" for tag, k, v in parsed.attrs)


def test_report_loads_nothing_from_the_network(hostile_run):
    page = (hostile_run["out"] / "report.html").read_text(encoding="utf-8")
    parsed = _Collector()
    parsed.feed(page)
    fetching = [(t, k, v) for t, k, v in parsed.attrs
                if k in ("src", "href", "srcset", "data", "poster", "action", "xlink:href")
                and re.match(r"\s*(https?:)?//", v, re.I)]
    assert not fetching
    assert not re.search(r"url\(\s*['\"]?\s*(https?:)?//|@import", page, re.I)


def test_manifest_records_hashes_versions_and_seed(hostile_run):
    manifest = json.loads((hostile_run["out"] / "manifest.json").read_text())
    digests = {p.name: d for p, (d, _) in hostile_run["before"].items()}
    assert manifest["inputs"]["data"] == {"source": "trial.csv", "sha256": digests["trial.csv"]}
    assert manifest["inputs"]["plan"] == {"source": "plan.yaml", "sha256": digests["plan.yaml"]}
    assert manifest["effectmod_version"] == em.__version__
    assert manifest["dependencies"]["numpy"] == np.__version__ and manifest["dependencies"]["pandas"] == pd.__version__
    assert manifest["seed"] == 2024 and manifest["python"]


def test_dataframe_input_is_not_modified():
    frame = trial_frame()
    frame.loc[3, "pain_12"] = None
    copy = frame.copy(deep=True)
    em.analyze(frame, plan_dict())
    pd.testing.assert_frame_equal(frame, copy)


def test_same_inputs_and_seed_give_identical_files(tmp_path, capsys, results_only):
    args = write(tmp_path, trial_frame(), plan_dict(analysis={"bootstrap": 200, "seed": 11}))
    outs = []
    for k in range(2):
        out = tmp_path / f"out{k}"
        assert main(args[:-1] + [str(out)]) == 0
        outs.append(out)
    for name in ("results.csv", "results.json"):
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes()
    table = pd.read_csv(outs[0] / "results.csv")
    assert table["boot_ci_low"].notna().all()
    # and the seed matters: a different one gives other bootstrap limits
    assert main(args[:-1] + [str(tmp_path / "out2"), "--seed", "12"]) == 0
    other = pd.read_csv(tmp_path / "out2" / "results.csv")
    assert not np.allclose(table["boot_ci_low"], other["boot_ci_low"])


def test_existing_folder_kept_without_force_and_replaced_with_it(tmp_path, capsys, results_only):
    """Without --force nothing is replaced; --force replaces an earlier output folder (it has a
    manifest.json), never a folder effectmod did not write."""
    args = write(tmp_path, trial_frame())
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.txt").write_text("precious")
    assert main(args) == 2
    assert (out / "mine.txt").read_text() == "precious" and len(list(out.iterdir())) == 1
    assert main(args + ["--force"]) == 2
    assert "not an effectmod output folder (it has no manifest.json)" in capsys.readouterr().err
    assert (out / "mine.txt").read_text() == "precious" and len(list(out.iterdir())) == 1
    (out / "mine.txt").unlink()
    assert main(args) == 0                       # an empty folder is filled without --force
    (out / "stale.txt").write_text("from an earlier run")
    assert main(args) == 2
    assert main(args + ["--force"]) == 0
    assert not (out / "stale.txt").exists() and (out / "results.csv").exists()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_unwritable_output_place_is_a_usage_error(tmp_path, capsys, results_only):
    args = write(tmp_path, trial_frame())
    (tmp_path / "afile").write_text("x")
    assert main(args[:-1] + [str(tmp_path / "afile" / "out")]) == 2
    err = capsys.readouterr().err
    assert "afile/out: cannot write the output folder there (" in err and "nothing was written" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile", "plan.yaml", "trial.csv"]


@pytest.mark.parametrize("failure", [RuntimeError("disk full"), KeyboardInterrupt()])
def test_failure_mid_write_leaves_nothing(tmp_path, monkeypatch, failure):
    """A failure after some files are written leaves neither a partial folder nor a temporary sibling,
    and an existing folder being replaced (--force) stays as it was."""
    res = em.analyze(trial_frame(), plan_dict())
    import effectmod.report.outputs

    def broken(*a, **k):
        raise failure
    # results.csv and results.json are written before the figures
    monkeypatch.setattr(effectmod.report.outputs, "write_extra_outputs", broken)
    with pytest.raises(type(failure)):
        res.write(tmp_path / "out")
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "results.csv").write_text("old")
    (tmp_path / "old" / "manifest.json").write_text("{}")
    with pytest.raises(type(failure)):
        res.write(tmp_path / "old", force=True)
    assert [p.name for p in tmp_path.iterdir()] == ["old"]
    assert (tmp_path / "old" / "results.csv").read_text() == "old"


SLOW_RUN = textwrap.dedent("""
    import sys, time
    import effectmod.analysis, effectmod.report.outputs
    step = sys.argv[1]
    def slow(*a, **k):
        sys.stderr.write("SLOW STEP\\n"); sys.stderr.flush()
        time.sleep(600)
    if step == "fit":
        effectmod.analysis.fit_model = slow
    else:  # results.csv and results.json are already in the temporary folder by then
        effectmod.report.outputs.write_extra_outputs = slow
    from effectmod.cli import main
    sys.exit(main(sys.argv[2:]))
""")


@pytest.mark.parametrize("step, sig", [("fit", signal.SIGINT), ("write", signal.SIGTERM)])
def test_interrupt_leaves_no_folder(tmp_path, step, sig):
    """Ctrl-C (or a scheduler's SIGTERM) while fitting or while writing: exit 130, nothing left behind."""
    args = write(tmp_path, trial_frame())
    proc = subprocess.Popen([sys.executable, "-c", SLOW_RUN, step, *args], stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + STARTUP_TIMEOUT
        line = ""
        while "SLOW STEP" not in line and time.time() < deadline:
            line = proc.stderr.readline()
            if not line and proc.poll() is not None:
                break
        assert "SLOW STEP" in line, proc.stderr.read()
        proc.send_signal(sig)
        err = proc.communicate(timeout=60)[1]
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "interrupted; no output folder was left behind" in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.yaml", "trial.csv"]


@pytest.mark.slow
def test_ctrl_c_during_a_real_long_bootstrap(tmp_path):
    """The real thing: 100000 bootstrap replicates (the plan's limit) of 120 models, interrupted part way."""
    rng = np.random.default_rng(5)
    frame = trial_frame().assign(**{f"m{j}": rng.normal(size=N) for j in range(58)})
    moderators = BASE_PLAN["moderators"] + [{"name": f"m{j}", "column": f"m{j}", "type": "continuous"} for j in range(58)]
    args = write(tmp_path, frame, plan_dict(moderators=moderators, analysis={"bootstrap": 100000}))
    started = time.time()
    proc = subprocess.Popen([sys.executable, "-m", "effectmod", *args, "--quiet"], stderr=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    time.sleep(8)
    assert proc.poll() is None, "the bootstrap finished before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    err = proc.communicate(timeout=120)[1]
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.yaml", "trial.csv"]
    assert time.time() - started < 120


def test_init_interrupted_leaves_no_temporary_plan(tmp_path, capsys, monkeypatch):
    trial_frame().to_csv(tmp_path / "trial.csv", index=False)
    real = Path.write_text

    def interrupted(self, *a, **k):
        real(self, "half a pl", encoding="utf-8")
        raise KeyboardInterrupt
    monkeypatch.setattr(Path, "write_text", interrupted)
    assert main(["init", str(tmp_path / "trial.csv"), "--out", str(tmp_path / "draft.yaml")]) == 130
    assert sorted(p.name for p in tmp_path.iterdir()) == ["trial.csv"]
