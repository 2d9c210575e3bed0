"""The R reference cases (lm, sandwich, lmerTest) through the command line, every number compared."""
from pathlib import Path

import pandas as pd
import pytest

from compare import mismatches
from effectmod.cli import main

REFERENCE = Path(__file__).parent / "reference"
CASES = ["btheb_linear", "btheb_hc3", "btheb_mixed"]


@pytest.mark.parametrize("case", CASES)
def test_reference_case_agrees_with_r(case, tmp_path, monkeypatch, no_figures):
    folder = REFERENCE / case
    monkeypatch.chdir(folder)           # as the acceptance check runs it: inside the case folder
    out = tmp_path / "out"
    assert main(["analyze", "data.csv", "--plan", "plan.yaml", "--out", str(out), "--force", "--quiet"]) == 0
    results = pd.read_csv(out / "results.csv", keep_default_na=False, na_values=[""])
    reference = pd.read_csv(folder / "reference.csv", keep_default_na=False, na_values=[""])
    assert list(results.columns[:13]) == list(reference.columns)
    assert mismatches(results, reference) == []
    # tiers follow the raw p (CONTRACT §3)
    merged = reference.merge(results, on=["outcome", "timepoint", "moderator"], suffixes=("_ref", ""))
    assert (merged["tier"] == merged["tier_ref"]).all()


def test_comparison_catches_a_wrong_number():
    reference = pd.read_csv(REFERENCE / "btheb_linear" / "reference.csv", keep_default_na=False, na_values=[""])
    wrong = reference.copy()
    wrong.loc[3, "std_error"] *= 1 + 1e-5
    assert len(mismatches(wrong, reference)) == 1
