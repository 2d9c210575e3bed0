"""A value the plan names for a column (an ordinal level, a binary event, a reference level, an arm)
is never read as a word for missing there ('none' of a severity scale, an arm called 'None'), and a
word for missing that removes cells is always said: a warning beside text levels, the data flow's
missing_words in a column of numbers (docs/bad-inputs.md)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from effectmod.data.load import read_data
from effectmod.data.prepare import prepare_trial
from effectmod.plan.load import load_plan
from test_bad_inputs import BASE_PLAN, N, plan_dict, trial_frame, with_cells

SEVERITY = ["none", "mild", "moderate", "severe"]


def prepare(frame, raw):
    return prepare_trial(frame, load_plan(raw))


def _severity_frame() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    frame = trial_frame()
    for col in ("sev_0", "sev_12"):
        frame[col] = rng.choice(SEVERITY, N, p=[0.4, 0.3, 0.2, 0.1]).astype(object)
    return frame


def _ordinal_plan(**extra) -> dict:
    return plan_dict(outcomes=[{"name": "sev", "type": "ordinal", "levels": SEVERITY, "baseline": "sev_0",
                                "followups": {"12": "sev_12"}, **extra}])


def test_an_ordinal_level_named_none_is_a_level(tmp_path):
    frame = _severity_frame()
    frame.loc[5, "sev_12"] = "null"            # a real word for missing beside the levels
    frame.to_csv(tmp_path / "t.csv", index=False)
    trial = prepare(read_data(tmp_path / "t.csv"), _ordinal_plan())
    sev = trial.outcomes["sev"]
    expected = np.array([SEVERITY.index(v) if v in SEVERITY else np.nan for v in frame["sev_12"]], dtype=float)
    np.testing.assert_array_equal(sev.followups["12"], expected)
    assert int(np.sum(sev.followups["12"] == 0)) == int(np.sum(frame["sev_12"] == "none")) > 0
    # the baseline takes the outcome's levels: 'none' is level 1, not missing
    np.testing.assert_array_equal(sev.baseline, [SEVERITY.index(v) + 1.0 for v in frame["sev_0"]])
    assert any("column 'sev_12' (plan: outcomes[0].followups['12']): 'null' (1 rows) read as missing" in w
               for w in trial.flow.warnings), trial.flow.warnings


def test_an_ordinal_level_none_in_long_data():
    frame = _severity_frame()
    long = pd.concat([frame[["pid", "arm", "frebaq", "smoker", "age", "sex"]].assign(week=w, sev=frame[c])
                      for w, c in ((0, "sev_0"), (12, "sev_12"))], ignore_index=True)
    raw = plan_dict(data={**BASE_PLAN["data"], "time": "week"},
                    outcomes=[{"name": "sev", "type": "ordinal", "levels": SEVERITY, "baseline": 0, "column": "sev"}])
    trial = prepare(long, raw)
    assert not np.isnan(trial.outcomes["sev"].followups["12"]).any()


def test_a_moderator_reference_none_beside_numbers():
    frame = trial_frame().assign(dose=["None", "0.5", "1"] * (N // 3) + ["None"] * (N % 3))
    raw = plan_dict(moderators=[{"name": "dose", "column": "dose", "type": "categorical", "reference": "None"}])
    trial = prepare(frame, raw)
    dose = trial.moderators["dose"]
    assert dose.levels == ("None", "0.5", "1")
    assert not np.isnan(dose.values).any()


def test_a_binary_moderator_reference_none_beside_a_word_for_missing():
    frame = trial_frame().assign(drug=["None", "Drug"] * (N // 2))
    frame.loc[[2, 7], "drug"] = "N/A"
    raw = plan_dict(moderators=[{"name": "drug", "column": "drug", "type": "binary", "reference": "None"}])
    raw["data"] = {**raw["data"], "missing_codes": []}
    trial = prepare(frame, raw)
    drug = trial.moderators["drug"]
    assert drug.levels == ("None", "Drug")
    assert np.isnan(drug.values[[2, 7]]).all() and int(np.sum(drug.values == 0)) == N // 2 - 1
    assert any("'N/A' (2 rows) read as missing" in w for w in trial.flow.warnings), trial.flow.warnings


def test_a_binary_outcome_event_none():
    frame = trial_frame().assign(ae_12=["none", "serious"] * (N // 2))
    frame.loc[3, "ae_12"] = "n/a"
    raw = plan_dict(outcomes=[{"name": "ae", "type": "binary", "event": "none", "followups": {"12": "ae_12"}}])
    trial = prepare(frame, raw)
    ae = trial.outcomes["ae"].followups["12"]
    assert np.isnan(ae[3]) and np.nansum(ae) == N // 2 and int(np.sum(ae == 0)) == N // 2 - 1


def test_a_binary_outcome_event_none_beside_numbers():
    frame = trial_frame().assign(ae_12=["None", "1"] * (N // 2))
    raw = plan_dict(outcomes=[{"name": "ae", "type": "binary", "event": "None", "followups": {"12": "ae_12"}}])
    trial = prepare(frame, raw)
    np.testing.assert_array_equal(trial.outcomes["ae"].followups["12"], [1.0, 0.0] * (N // 2))


def test_a_control_arm_named_none_beside_a_number_arm():
    frame = trial_frame().assign(arm=["1", "None"] * (N // 2))
    trial = prepare(frame, plan_dict(data={**BASE_PLAN["data"], "treated": 1, "control": "None"}))
    assert trial.flow.arms == {"treated": N // 2, "control": N // 2}


def test_a_covariate_reference_none_beside_numbers():
    frame = trial_frame().assign(prior=["none", "1", "2", "3"] * (N // 4))
    raw = plan_dict(covariates=["age", {"column": "prior", "type": "categorical", "reference": "none"}])
    trial = prepare(frame, raw)
    assert trial.covariates.references["prior"] == "none"


def test_r_na_named_as_a_reference_is_a_level():
    """Without data.missing_codes R's NA is missing, except where the plan names it for the column."""
    frame = trial_frame().assign(region=["NA", "Europe"] * (N // 2))
    raw = plan_dict(moderators=[{"name": "region", "column": "region", "type": "binary", "reference": "NA"}])
    trial = prepare(frame, raw)
    assert trial.moderators["region"].levels == ("NA", "Europe")
    assert not np.isnan(trial.moderators["region"].values).any()


def test_words_removing_numbers_are_recorded_in_the_data_flow():
    frame = with_cells("frebaq", {0: "None", 1: "null", 2: "none"})
    trial = prepare(frame, plan_dict())
    assert np.isnan(trial.moderators["frebaq"].values[:3]).all()
    assert trial.flow.warnings == []
    assert trial.flow.missing_words == [
        "column 'frebaq' (plan: moderators[0].column): 'None' (1 rows), 'none' (1 rows), 'null' (1 rows) read as missing "
        "(a word for a missing value in a column of numbers)"]
    assert trial.flow.as_dict()["missing_words"] == trial.flow.missing_words


def test_a_level_listed_in_missing_codes_is_said():
    frame = _severity_frame()
    trial = prepare(frame, _ordinal_plan() | {"data": {**BASE_PLAN["data"], "missing_codes": ["none"]}})
    n = int(np.sum(frame["sev_12"] == "none"))
    assert int(np.isnan(trial.outcomes["sev"].followups["12"]).sum()) == n
    assert any(f"column 'sev_12': 'none' ({n} rows) is listed in data.missing_codes and named by the plan" in w
               for w in trial.flow.warnings), trial.flow.warnings


def test_validate_prints_the_words_read_as_missing(tmp_path, capsys):
    from effectmod.cli import main
    from test_bad_inputs import write

    code = main(write(tmp_path, with_cells("frebaq", {0: "None", 1: "None"}), command="validate"))
    out = capsys.readouterr().out
    assert code == 0
    assert "  missing: column 'frebaq' (plan: moderators[0].column): 'None' (2 rows) read as missing" in out
