"""Reading every supported format, coding arms and levels, counting exclusions, and collecting
every data problem at once."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from effectmod.data.inputs import load_inputs, plan_columns
from effectmod.data.load import DEFAULT_MAX_BYTES, max_bytes, read_data
from effectmod.data.prepare import prepare_trial
from effectmod.errors import DataError
from effectmod.plan.load import load_plan
from test_bad_inputs import BASE_PLAN, LONG_PLAN, N, long_frame, plan_dict, trial_frame, with_cells

PLAN = load_plan(plan_dict())


def prepare(frame, raw=None):
    return prepare_trial(frame, load_plan(raw or plan_dict()))


def data_problems(frame, raw=None) -> list[str]:
    with pytest.raises(DataError) as info:
        prepare(frame, raw)
    return info.value.problems


def _writers():
    import pyreadstat

    def sav(frame, path):
        pyreadstat.write_sav(frame, str(path))

    def dta(frame, path):
        pyreadstat.write_dta(frame, str(path))
    return {
        "trial.csv": lambda f, p: f.to_csv(p, index=False),
        "trial.tsv": lambda f, p: f.to_csv(p, index=False, sep="\t"),
        "trial.txt": lambda f, p: f.to_csv(p, index=False, sep=";"),
        "trial.parquet": lambda f, p: f.to_parquet(p, index=False),
        "trial.xlsx": lambda f, p: f.to_excel(p, index=False),
        "trial.sav": sav,
        "trial.dta": dta,
    }


@pytest.mark.parametrize("name", list(_writers()))
def test_every_format_gives_the_same_trial(tmp_path, name):
    frame = trial_frame()
    frame.loc[2, "pain_12"] = np.nan
    path = tmp_path / name
    _writers()[name](frame, path)
    trial = prepare_trial(read_data(path), PLAN)
    reference = prepare(frame)
    assert trial.flow.arms == reference.flow.arms == {"treated": N // 2, "control": N // 2}
    for t in ("12", "52"):
        np.testing.assert_array_equal(trial.outcomes["pain"].followups[t], reference.outcomes["pain"].followups[t])
    np.testing.assert_array_equal(trial.moderators["smoker"].values, reference.moderators["smoker"].values)
    assert np.isnan(trial.outcomes["pain"].followups["12"][2])


@pytest.mark.parametrize("treated, control", [(1, 0), ("1", "0"), (1.0, 0.0), (True, False)])
def test_plan_values_match_data_values_as_text(treated, control):
    arm = [1, 0] * (N // 2) if not isinstance(treated, bool) else ["true", "false"] * (N // 2)
    frame = trial_frame().assign(arm=arm)
    frame["arm"] = frame["arm"].astype(float) if isinstance(treated, float) else frame["arm"]
    trial = prepare(frame, plan_dict(data={**BASE_PLAN["data"], "treated": treated, "control": control}))
    assert trial.flow.arms == {"treated": N // 2, "control": N // 2}
    np.testing.assert_array_equal(trial.treat, [1.0, 0.0] * (N // 2))


def test_exclusions_are_counted_with_reasons():
    frame = with_cells("arm", {0: "waitlist", 2: "waitlist", 4: None, 6: ""})
    frame = with_cells("pid", {8: ""}, frame)
    trial = prepare(frame)
    reasons = dict(trial.flow.excluded)
    assert reasons == {"participant id (pid) missing": 1, "treatment (arm) missing": 2,
                       "in arm 'waitlist', not one of the two analysed arms": 2}
    assert trial.flow.randomised == N - 5 == trial.n
    assert trial.flow.participants_in_file == N - 1 and trial.flow.rows_in_file == N


def test_binary_and_categorical_levels():
    frame = trial_frame().assign(grade=["3", "10", "2"] * 13 + ["2"])
    raw = plan_dict(moderators=[{"name": "smoker", "column": "smoker", "type": "binary", "reference": "yes"},
                                {"name": "grade", "column": "grade", "type": "categorical"}])
    trial = prepare(frame, raw)
    smoker, grade = trial.moderators["smoker"], trial.moderators["grade"]
    assert smoker.levels == ("yes", "no")
    np.testing.assert_array_equal(smoker.values, (frame["smoker"] == "no").astype(float))
    assert grade.levels == ("2", "3", "10")       # numeric order, not text order
    assert grade.column_names == ("3", "10")


def test_declared_missing_codes_become_missing_everywhere():
    frame = with_cells("pain_12", {0: -99, 1: "999", 2: "."})
    frame = with_cells("frebaq", {3: -99}, frame)
    trial = prepare(frame, plan_dict(data={**BASE_PLAN["data"], "missing_codes": [-99, 999, "."]}))
    assert np.isnan(trial.outcomes["pain"].followups["12"][:3]).all()
    assert np.isnan(trial.moderators["frebaq"].values[3])
    assert trial.flow.warnings == []


def test_suspicious_values_are_warned_not_dropped():
    frame = with_cells("frebaq", {1: 999})
    frame = with_cells("pain_12", {4: "."}, frame)
    trial = prepare(frame)
    assert trial.moderators["frebaq"].values[1] == 999          # analysed as written ...
    assert np.isnan(trial.outcomes["pain"].followups["12"][4])  # '.' is missing in SAS and Stata
    assert len(trial.flow.warnings) == 2                        # ... and both said out loud
    assert "999 (1 rows) look like missing-value codes" in trial.flow.warnings[1 if "'.'" in trial.flow.warnings[0] else 0]


def test_every_data_problem_at_once():
    frame = with_cells("pid", {5: "P001"})
    frame = with_cells("pain_0", {7: 12}, frame)
    frame = with_cells("smoker", {0: "former"}, frame)
    frame = with_cells("pain_12", {9: "seven"}, frame).drop(columns="sex")
    found = data_problems(frame)
    assert len(found) == 5, found
    for expected in ("column 'sex' (plan: covariates[1]) is not in the data",
                     "ids occurring more than once: 'P001'",
                     "values outside the declared range [0, 10]: '12' (row 8)",
                     "found text 'seven' (row 10)",
                     "declared binary but has 3 levels"):
        assert any(expected in line for line in found), (expected, found)


def test_missing_id_column_stops_early_but_lists_all_missing_columns():
    found = data_problems(trial_frame().drop(columns=["pid", "frebaq"]))
    assert found == ["column 'pid' (plan: data.id) is not in the data.",
                     "column 'frebaq' (plan: moderators[0].column) is not in the data."]


def test_long_data_follow_up_labels_and_baseline():
    frame = long_frame()
    frame["week"] = frame["week"].astype(float)
    trial = prepare(frame, LONG_PLAN)
    pain = trial.outcomes["pain"]
    assert list(pain.followups) == ["12", "52"]
    wide = trial_frame()
    np.testing.assert_array_equal(pain.baseline, wide["pain_0"].astype(float))
    np.testing.assert_array_equal(pain.followups["52"], wide["pain_52"].astype(float))


def test_long_data_baseline_characteristic_must_not_vary():
    frame = long_frame()
    frame.loc[(frame["pid"] == "P002") & (frame["week"] == 52), "frebaq"] = 99
    found = data_problems(frame, LONG_PLAN)
    assert any("column 'frebaq': a baseline characteristic must be the same on every row of a participant; "
               "it varies for ids 'P002'" in line for line in found), found


def test_size_limit_from_the_environment(monkeypatch):
    monkeypatch.delenv("EFFECTMOD_MAX_DATA_BYTES", raising=False)
    assert max_bytes() == DEFAULT_MAX_BYTES
    monkeypatch.setenv("EFFECTMOD_MAX_DATA_BYTES", "5e6")
    assert max_bytes() == 5_000_000
    monkeypatch.setenv("EFFECTMOD_MAX_DATA_BYTES", "lots")
    assert max_bytes() == DEFAULT_MAX_BYTES


def test_large_text_file_is_read_for_the_plan_columns_only(tmp_path, monkeypatch):
    frame = trial_frame().assign(**{f"extra{i}": "x" * 50 for i in range(40)})
    path = tmp_path / "big.csv"
    frame.to_csv(path, index=False)
    size = path.stat().st_size
    monkeypatch.setenv("EFFECTMOD_MAX_DATA_BYTES", str(size // 4))
    small = read_data(path, columns=plan_columns(PLAN))
    assert list(small.columns) == [c for c in trial_frame().columns]
    with pytest.raises(DataError, match="is more than effectmod reads at once"):
        read_data(path)
    monkeypatch.setenv("EFFECTMOD_MAX_DATA_BYTES", "100")   # binary formats cannot be read column by column here
    frame.to_parquet(tmp_path / "big.parquet")
    with pytest.raises(DataError, match="is more than effectmod reads at once"):
        read_data(tmp_path / "big.parquet", columns=plan_columns(PLAN))


def test_a_2gb_file_is_refused_before_reading(tmp_path, monkeypatch):
    """No 2 GB file is made: the size the guard sees is faked."""
    import effectmod.data.load as load

    path = tmp_path / "huge.xlsx"
    path.write_bytes(b"not really a workbook")
    real_stat = type(path).stat

    class Big:
        def __init__(self, st):
            self.st_size, self.st_mode, self.st_mtime = 2 * 1024 ** 3, st.st_mode, st.st_mtime

    monkeypatch.setattr(type(path), "stat", lambda self, **k: Big(real_stat(self, **k)) if self.name == "huge.xlsx" else real_stat(self, **k))
    monkeypatch.setattr(load, "_read", lambda *a, **k: pytest.fail("the file was read"))
    with pytest.raises(DataError) as info:
        read_data(path)
    assert info.value.problems == ["data file huge.xlsx: 2.0 GB is more than effectmod reads at once (limit 1.0 GB); "
                                   "save only the analysed rows and columns to a smaller file, or raise the limit with the "
                                   "environment variable EFFECTMOD_MAX_DATA_BYTES (bytes) if this machine has the memory"]


def test_load_inputs_collects_plan_and_data_problems_together(tmp_path):
    raw = plan_dict(analysis={"modle": "linear"})
    frame = with_cells("pain_12", {0: "seven"})
    with pytest.raises(Exception) as info:
        load_inputs(frame, raw)
    assert [line.split(":")[0] for line in info.value.problems] == ["plan", "column 'pain_12' (plan"]


def test_prepare_does_not_modify_the_frame():
    frame = with_cells("pain_12", {0: -99})
    before = frame.copy(deep=True)
    prepare(frame, plan_dict(data={**BASE_PLAN["data"], "missing_codes": [-99]}))
    pd.testing.assert_frame_equal(frame, before)


def test_an_old_binary_xls_workbook_is_read():
    """.xls is listed among the readers: it must read without an optional package the user lacks
    (tests/data/trial.xls was written by xlwt, as Excel 97-2003 writes it)."""
    from effectmod.data.load import read_data
    frame = read_data(Path(__file__).parent / "data" / "trial.xls")
    assert list(frame.columns) == ["pid", "arm", "age", "pain_0", "pain_12"]
    assert len(frame) == 40 and frame["pid"].iloc[0] == "P001" and set(frame["arm"]) == {"active", "sham"}
