"""The R reference scripts in tests/reference: one regeneration script runs all of them, the
cases read their plans instead of carrying a hand copy, and the R versions are recorded."""
import re
from pathlib import Path

REFERENCE = Path(__file__).parent / "reference"


def _listed_cases() -> dict[str, list[str]]:
    text = (REFERENCE / "regenerate.sh").read_text(encoding="utf-8")
    block = re.search(r'CASES="\n(.*?)\n"', text, re.S).group(1)
    return {case: scripts.split(",") for case, scripts in (line.split(":") for line in block.split())}


def _case_folders() -> dict[str, set[str]]:
    return {d.name: {p.name for p in d.glob("*.R")} for d in REFERENCE.iterdir() if d.is_dir() and list(d.glob("*.R"))}


def test_regenerate_runs_every_r_script():
    listed = _listed_cases()
    assert {case: set(scripts) for case, scripts in listed.items()} == _case_folders()


def test_every_case_records_its_r_and_package_versions():
    for case in _case_folders():
        text = (REFERENCE / case / "versions.txt").read_text(encoding="utf-8")
        assert re.search(r"^R: R version \d+\.\d+\.\d+", text, re.M), case
        assert re.search(r"^packages.*:\n(  \S+ \S+\n)+", text, re.M), case


def test_cases_with_a_plan_read_it():
    for case in _case_folders():
        plans = sorted(p.name for p in (REFERENCE / case).glob("plan*.yaml"))
        if not plans:
            continue
        script = (REFERENCE / case / "ref.R").read_text(encoding="utf-8")
        assert "SPEC <- list(" not in script, case          # the old hand copy of plan.yaml
        assert "read_yaml" in script or "plan_spec(" in script, case
        for plan in plans:
            assert f'"{plan}"' in script, f"{case}: {plan}"


def test_shared_helpers_are_sourced_not_pasted():
    for case in _case_folders():
        script = (REFERENCE / case / "ref.R").read_text(encoding="utf-8")
        if "run_case(" in script:
            assert 'source("../common.R")' in script, case
            assert "run_case <- function" not in script, case
