"""Data that real trials bring and that must never be analysed silently wrong: arms missing for
whole participants, levels named 'NA' or 'None', stray text in a number column, ids that differ
only invisibly or exceed a float's precision, repeated column names, files mixing encodings,
spreadsheet formulas without saved values, and SPSS/Stata value labels (docs/bad-inputs.md)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import effectmod as em
from effectmod.cli import main
from effectmod.data.load import read_data
from effectmod.data.prepare import prepare_trial
from effectmod.errors import DataError
from effectmod.plan.load import load_plan
from test_bad_inputs import BASE_PLAN, LONG_PLAN, Case, N, long_frame, plan_dict, trial_frame, with_cells, write  # noqa: F401


def prepare(frame, raw=None):
    return prepare_trial(frame, load_plan(raw or plan_dict()))


def problems_of(frame, raw=None) -> list[str]:
    with pytest.raises(DataError) as info:
        prepare(frame, raw)
    return info.value.problems


def _save(frame: pd.DataFrame, path) -> None:
    if path.suffix == ".parquet":
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False)


# ----------------------------------------------------------------------------- 2. arms missing
NO_ARM = ("P003", "P008", "P011")   # one active, two sham participants: no arm on any row


def _arm_kind(frame: pd.DataFrame, kind: str) -> pd.DataFrame:
    frame = frame.copy()
    if kind == "numeric":
        frame["arm"] = frame["arm"].map({"active": 1.0, "sham": 2.0})
    frame["arm"] = frame["arm"].astype(object)
    frame.loc[frame["pid"].isin(NO_ARM), "arm"] = np.nan if kind == "numeric" else None
    return frame


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
@pytest.mark.parametrize("kind", ["text", "numeric"])
@pytest.mark.parametrize("layout", ["wide", "long"])
def test_participants_without_an_arm_are_excluded_and_counted(tmp_path, capsys, layout, kind, suffix):
    frame = _arm_kind(trial_frame() if layout == "wide" else long_frame(), kind)
    if kind == "numeric":
        frame["arm"] = frame["arm"].astype(float)          # all numbers, NaN for the missing arms
    raw = plan_dict() if layout == "wide" else LONG_PLAN
    if kind == "numeric":
        raw = {**raw, "data": {**raw["data"], "treated": 1, "control": 2}}
    args = write(tmp_path, None, raw, data_name=f"trial{suffix}", command="validate")
    _save(frame, tmp_path / f"trial{suffix}")
    assert main(args) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert f"{N - 3} participants in the two analysed arms" in out
    assert "excluded: 3 (treatment (arm) missing)" in out


def test_long_data_without_arms_analyses_through_the_command_line(tmp_path, capsys, results_only):
    frame = _arm_kind(long_frame(), "text")
    assert main(write(tmp_path, frame, LONG_PLAN)) == 0, capsys.readouterr().err
    flow = json.loads((tmp_path / "out" / "results.json").read_text(encoding="utf-8"))["data_flow"]
    assert {"reason": "treatment (arm) missing", "participants": 3} in flow["excluded"]
    table = pd.read_csv(tmp_path / "out" / "results.csv")
    assert set(table["n"]) == {N - 3}


@pytest.mark.parametrize("empty", ["", np.nan, None])
@pytest.mark.parametrize("layout", ["wide", "long"])
def test_an_arm_column_without_any_value_is_one_problem_per_arm(layout, empty):
    frame = (trial_frame() if layout == "wide" else long_frame()).assign(arm=empty)
    assert problems_of(frame, plan_dict() if layout == "wide" else LONG_PLAN) == [
        "data.treated: the value 'active' does not occur in column 'arm'; arms found: none.",
        "data.control: the value 'sham' does not occur in column 'arm'; arms found: none."]


def test_an_arm_missing_on_some_rows_of_a_participant_is_taken_from_the_others():
    frame = long_frame().astype({"arm": object})
    frame.loc[(frame["pid"] == "P005") & (frame["week"] == 52), "arm"] = None
    trial = prepare(frame, LONG_PLAN)
    assert trial.n == N and dict(trial.flow.excluded) == {}


# ----------------------------------------------------------------------------- 15b. 'NA' as a level
@pytest.mark.parametrize("word", ["NA", "None", "null", "NaN", "N/A"])
def test_words_for_missing_are_levels_in_a_text_column(word):
    """With data.missing_codes given (here []), only those codes and empty cells are missing in a
    text column; without it R's NA is missing too (next test)."""
    regions = ["Europe", word, "Asia"] * 13 + ["Europe"]
    frame = trial_frame().assign(region=regions)
    raw = plan_dict(moderators=[{"name": "region", "column": "region", "type": "categorical", "reference": "Europe"}])
    raw["data"] = {**raw["data"], "missing_codes": []}
    trial = prepare(frame, raw)
    region = trial.moderators["region"]
    assert set(region.levels) == {"Europe", word, "Asia"}
    assert not np.isnan(region.values).any()
    assert any(f"'{word}' (13 rows) read as a level, not as missing" in w for w in trial.flow.warnings), trial.flow.warnings


def test_r_na_is_missing_by_default_with_a_warning_in_a_text_column():
    """Files written by R mark every missing value NA: unless the plan lists its missing codes, NA
    is missing, as R reads it back, and a text column says so (it may be North America)."""
    regions = ["Europe", "NA", "Asia"] * 13 + ["Europe"]
    frame = trial_frame().assign(region=regions)
    raw = plan_dict(moderators=[{"name": "region", "column": "region", "type": "categorical", "reference": "Europe"}])
    trial = prepare(frame, raw)
    assert set(trial.moderators["region"].levels) == {"Europe", "Asia"}
    assert np.isnan(trial.moderators["region"].values[1::3]).all()
    assert any("column 'region': 'NA' (13 rows) read as missing, as R writes a missing value" in w
               and "missing_codes: [] keeps it as a level" in w for w in trial.flow.warnings), trial.flow.warnings


def test_words_for_missing_are_missing_in_a_number_column():
    frame = with_cells("frebaq", {0: "NA", 1: "None", 2: "null", 3: "NaN"})
    trial = prepare(frame)
    assert np.isnan(trial.moderators["frebaq"].values[:4]).all()
    assert trial.flow.warnings == []


def test_an_arm_named_none():
    frame = trial_frame().assign(arm=["Drug", "None"] * (N // 2))
    trial = prepare(frame, plan_dict(data={**BASE_PLAN["data"], "treated": "Drug", "control": "None"}))
    assert trial.flow.arms == {"treated": N // 2, "control": N // 2}


def test_na_as_an_arm_is_said_and_excluded_as_an_arm():
    frame = with_cells("arm", {0: "NA", 1: "NA"})
    raw = plan_dict()
    raw["data"] = {**raw["data"], "missing_codes": []}
    trial = prepare(frame, raw)
    assert ("in arm 'NA', not one of the two analysed arms", 2) in trial.flow.excluded
    assert any("column 'arm' (plan: data.treatment): 'NA' (2 rows) read as an arm" in w for w in trial.flow.warnings)


def test_na_beside_two_levels_of_a_binary_variable_is_missing_with_a_warning():
    frame = with_cells("smoker", {0: "NA", 5: "NA"})
    raw = plan_dict()
    raw["data"] = {**raw["data"], "missing_codes": []}
    trial = prepare(frame, raw)
    assert np.isnan(trial.moderators["smoker"].values[[0, 5]]).all()
    assert trial.moderators["smoker"].levels == ("no", "yes")
    assert any("'NA' (2 rows) read as missing, since a binary variable has two values ('no', 'yes')" in w
               for w in trial.flow.warnings)


def test_declared_missing_code_na_in_a_text_column():
    regions = ["Europe", "NA", "Asia"] * 13 + ["Europe"]
    frame = trial_frame().assign(region=regions)
    raw = plan_dict(data={**BASE_PLAN["data"], "missing_codes": ["NA"]},
                    moderators=[{"name": "region", "column": "region", "type": "categorical"}])
    trial = prepare(frame, raw)
    assert trial.moderators["region"].levels == ("Asia", "Europe") and trial.flow.warnings == []


def test_north_america_survives_a_csv_file(tmp_path):
    frame = trial_frame().assign(region=["NA", "Europe"] * (N // 2))
    frame.to_csv(tmp_path / "t.csv", index=False)
    raw = plan_dict(moderators=[{"name": "region", "column": "region", "type": "binary", "reference": "Europe"}])
    raw["data"] = {**raw["data"], "missing_codes": []}
    trial = prepare_trial(read_data(tmp_path / "t.csv"), load_plan(raw))
    assert trial.moderators["region"].levels == ("Europe", "NA")
    np.testing.assert_array_equal(trial.moderators["region"].values, [1.0, 0.0] * (N // 2))


def test_a_draft_plan_lists_na_of_text_columns_as_a_missing_code_to_confirm(tmp_path):
    from effectmod.plan.draft import guess_plan

    draft = guess_plan(with_cells("smoker", {0: "NA", 5: "NA"}))
    assert draft.missing_codes == ["NA"]
    assert [m.levels for m in draft.moderators if m.column == "smoker"] == [["no", "yes"]]


# ----------------------------------------------------------------------------- 15e. stray text in numbers
def test_one_stray_text_cell_in_a_number_covariate_is_an_error():
    frame = trial_frame().assign(bmi=np.tile([21, 22, 23, 24, 25, 26, 27, 28], N // 8).astype(object))
    frame.loc[6, "bmi"] = "unknown"
    found = problems_of(frame, plan_dict(covariates=["bmi", "sex"]))
    assert found == ["column 'bmi' (plan: covariates[0]): numbers except for 'unknown' (row 7); fix those cells or "
                     "declare them in data.missing_codes (a covariate with text is entered as a category: if it is one, "
                     "write all its levels as text)"]


def test_a_text_covariate_is_still_a_category():
    trial = prepare(trial_frame().assign(site=["A", "B", "C", "D"] * (N // 4)), plan_dict(covariates=["site"]))
    assert trial.covariates.names == ("site=B", "site=C", "site=D")


# ----------------------------------------------------------------------------- 15f. ids
def test_ids_differing_invisibly_are_one_participant_in_long_data():
    frame = long_frame()
    nfd = "Jose\u0301"
    frame["pid"] = frame["pid"].replace({"P001": "Jos\u00e9"})
    frame.loc[(frame["pid"] == "Jos\u00e9") & (frame["week"] == 52), "pid"] = nfd
    frame.loc[(frame["pid"] == "P002") & (frame["week"] == 12), "pid"] = "P0\u200b02"
    trial = prepare(frame, LONG_PLAN)
    assert trial.n == N
    assert any("ids written differently are read as one participant" in w and "'Jose\\u0301'" in w and "'P0\\u200b02'" in w
               for w in trial.flow.warnings), trial.flow.warnings


def test_ids_differing_invisibly_are_duplicates_in_wide_data():
    found = problems_of(with_cells("pid", {3: "P0\u200b01"}))
    assert any("ids occurring more than once: 'P001'; written differently in the file" in p for p in found), found


def test_long_numeric_ids_stay_distinct(tmp_path):
    frame = long_frame()
    frame["pid"] = frame["pid"].map(lambda p: f"12345678901234567{int(p[1:]):02d}")   # 19 digits: beyond a float
    path = tmp_path / "long.csv"
    frame.to_csv(path, index=False)
    trial = prepare_trial(read_data(path), load_plan(LONG_PLAN))
    assert trial.n == N
    assert "1234567890123456701" in set(trial.ids)


# ----------------------------------------------------------------------------- 15g. repeated names
def test_a_data_frame_with_a_repeated_plan_column_is_refused():
    frame = trial_frame()
    frame = pd.concat([frame, frame[["frebaq"]]], axis=1)
    with pytest.raises(DataError) as info:
        em.analyze(frame, plan_dict())
    assert info.value.problems == ["column 'frebaq' (plan: moderators[0].column): 2 columns of the data have this name; "
                                   "rename or drop the copies so that the plan names one column"]


def test_a_repeated_column_the_plan_does_not_use_is_left_alone():
    frame = trial_frame()
    frame = pd.concat([frame, frame[["sex"]].rename(columns={"sex": "notes"}), frame[["sex"]].rename(columns={"sex": "notes"})], axis=1)
    assert prepare(frame).n == N


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_a_file_with_a_repeated_plan_column_is_refused(tmp_path, suffix):
    frame = trial_frame()
    frame.insert(3, "frebaq_copy", frame["frebaq"])
    if suffix == ".csv":
        frame.to_csv(tmp_path / "t.csv", index=False, header=[c.replace("_copy", "") for c in frame.columns])
    else:
        frame.set_axis([c.replace("_copy", "") for c in frame.columns], axis=1).to_excel(tmp_path / "t.xlsx", index=False)
    with pytest.raises(DataError, match="column name\\(s\\) 'frebaq' appear more than once in the header"):
        read_data(tmp_path / f"t{suffix}", columns=["pid", "arm", "frebaq"])
    read = read_data(tmp_path / f"t{suffix}", columns=["pid", "arm"])      # a copy the plan does not use
    assert [c for c in read.columns if c.startswith("frebaq")] == ["frebaq", "frebaq.1"]


# ----------------------------------------------------------------------------- 15a. follow-up labels
@pytest.mark.parametrize("labels", [('"18"', "18"), ('"18"', '"18.0"'), ('" 18"', '"18"'), ("18", '"18.00"')])
def test_follow_up_labels_that_are_one_time_are_refused(tmp_path, capsys, labels):
    first, second = labels
    plan = ("data: {id: pid, treatment: arm, treated: active, control: sham}\n"
            "outcomes:\n  - name: pain\n    baseline: pain_0\n    followups:\n"
            f"      {first}: pain_12\n      {second}: pain_52\n"
            "moderators: [{name: frebaq, column: frebaq, type: continuous}]\n")
    assert main(write(tmp_path, trial_frame(), plan, command="validate")) == 2
    err = capsys.readouterr().err
    assert "plan.yaml: outcomes[0].followups: the labels" in err
    assert "are the same follow-up (18), given the columns 'pain_12' and 'pain_52'; give each follow-up its own label" in err


def test_time_values_written_two_ways_are_one_follow_up_with_a_warning():
    frame = long_frame().astype({"week": object})
    frame.loc[frame["pid"].isin(["P001", "P002"]) & (frame["week"] == 12), "week"] = "12.0"
    frame["week"] = frame["week"].astype(str)
    trial = prepare(frame, LONG_PLAN)
    assert list(trial.outcomes["pain"].followups) == ["12", "52"]
    assert any("column 'week' (plan: data.time): time values written differently are read as one follow-up: '12' / '12.0'" in w
               for w in trial.flow.warnings), trial.flow.warnings


# ----------------------------------------------------------------------------- 15c. formulas
def test_formula_cells_without_saved_values_are_refused(tmp_path):
    import openpyxl

    frame = trial_frame()
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append([*frame.columns, "bmi"])
    for r, row in enumerate(frame.itertuples(index=False), start=2):
        sheet.append([*(v.item() if hasattr(v, "item") else v for v in row), f"=H{r}/2"])   # saved without a value
    book.save(tmp_path / "t.xlsx")
    with pytest.raises(DataError) as info:
        read_data(tmp_path / "t.xlsx", columns=["pid", "arm", "bmi"])
    assert info.value.problems == [f"data file t.xlsx: column 'bmi' has {N} formula cell(s) without a saved value, which would "
                                   "read as empty (the file was written by a program that does not calculate formulas); "
                                   "open it in Excel or LibreOffice, save it, and rerun"]
    assert len(read_data(tmp_path / "t.xlsx", columns=["pid", "arm"])) == N      # a column the plan does not use


def test_a_workbook_without_formulas_reads_as_before(tmp_path):
    trial_frame().to_excel(tmp_path / "t.xlsx", index=False)
    assert read_data(tmp_path / "t.xlsx").shape == (N, 9)


# ----------------------------------------------------------------------------- 15d. encodings
def test_a_file_mixing_utf8_and_latin1_reads_one_city(tmp_path):
    frame = trial_frame().assign(city=["Zürich", "Genève"] * (N // 2))
    lines = frame.to_csv(index=False).splitlines()
    # the first half of the rows saved by one program (UTF-8), the second by another (Windows-1252)
    data = b"\n".join(line.encode("utf-8" if i <= N // 2 else "cp1252") for i, line in enumerate(lines)) + b"\n"
    (tmp_path / "t.csv").write_bytes(data)
    read = read_data(tmp_path / "t.csv")
    assert set(read["city"]) == {"Zürich", "Genève"}
    assert read.attrs["read_warnings"][0].startswith("data file t.csv: mixes text encodings")
    raw = plan_dict(moderators=[{"name": "city", "column": "city", "type": "binary"}])
    trial = prepare_trial(read, load_plan(raw))
    assert trial.moderators["city"].levels == ("Genève", "Zürich")
    assert any("mixes text encodings" in w for w in trial.flow.warnings)


def test_a_latin1_file_is_read_with_a_warning(tmp_path):
    frame = trial_frame().assign(city=["Zürich", "Genève"] * (N // 2))
    (tmp_path / "t.csv").write_bytes(frame.to_csv(index=False).encode("cp1252"))
    read = read_data(tmp_path / "t.csv")
    assert set(read["city"]) == {"Zürich", "Genève"}
    assert read.attrs["read_warnings"] == ["data file t.csv: is not UTF-8; read as Windows-1252 (Latin-1): check that "
                                           "accented text reads right, or save the file as UTF-8"]


def test_a_utf8_file_has_no_warning(tmp_path):
    trial_frame().assign(city="Zürich").to_csv(tmp_path / "t.csv", index=False)
    assert "read_warnings" not in read_data(tmp_path / "t.csv").attrs


# ----------------------------------------------------------------------------- 15h. value labels
@pytest.mark.parametrize("suffix", [".sav", ".dta"])
def test_value_labels_on_a_scale_s_end_points_keep_it_numeric(tmp_path, suffix):
    import pyreadstat

    frame = trial_frame()
    frame["pain_12"] = frame["pain_12"].astype(float)
    frame.loc[[0, 1], "pain_12"] = [0.0, 10.0]
    frame["smoker"] = frame["smoker"].map({"no": 0.0, "yes": 1.0})
    labels = {"pain_12": {0: "none", 10: "worst imaginable"}, "smoker": {0: "no", 1: "yes"}}
    path = tmp_path / f"t{suffix}"
    (pyreadstat.write_sav if suffix == ".sav" else pyreadstat.write_dta)(frame, str(path), variable_value_labels=labels)
    read = read_data(path)
    assert read["pain_12"].tolist()[:2] == [0.0, 10.0]              # a scale: numbers, 0 not missing
    assert set(read["smoker"]) == {"no", "yes"}                     # every value labelled: a category
    trial = prepare_trial(read, load_plan(plan_dict()))
    np.testing.assert_array_equal(trial.outcomes["pain"].followups["12"], frame["pain_12"].to_numpy())
    assert trial.moderators["smoker"].levels == ("no", "yes")


# ----------------------------------------------------------------------------- the catalogue
def _formula_book(tmp) -> list[str]:
    import openpyxl

    frame = trial_frame()
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(list(frame.columns))
    for r, row in enumerate(frame.itertuples(index=False), start=2):
        cells = [v.item() if hasattr(v, "item") else v for v in row]
        cells[7] = f"=E{r}*3"                 # frebaq as a formula, saved without its value
        sheet.append(cells)
    book.save(tmp / "trial.xlsx")
    return write(tmp, None, data_name="trial.xlsx")


def _repeated_in_workbook(tmp) -> list[str]:
    frame = trial_frame()
    frame.insert(2, "frebaq_", frame["frebaq"])
    frame.set_axis([c.rstrip("_") for c in frame.columns], axis=1).to_excel(tmp / "trial.xlsx", index=False)
    return write(tmp, None, data_name="trial.xlsx")


def _mixed_encodings(tmp) -> list[str]:
    frame = trial_frame().assign(city=["Zürich", "Zürich", "Genève", "Genève"] * (N // 4))
    lines = frame.to_csv(index=False).splitlines()
    (tmp / "trial.csv").write_bytes(b"\n".join(line.encode("utf-8" if i <= N // 2 else "cp1252")
                                              for i, line in enumerate(lines)) + b"\n")
    return write(tmp, None, plan_dict(moderators=[{"name": "city", "column": "city", "type": "binary"}]))


def _labelled_scale(tmp) -> list[str]:
    import pyreadstat

    frame = trial_frame().astype({"pain_12": float})
    pyreadstat.write_sav(frame, str(tmp / "trial.sav"), variable_value_labels={"pain_12": {0: "no pain", 10: "worst pain"}})
    return write(tmp, None, data_name="trial.sav")


def _long_ids(tmp) -> list[str]:
    frame = long_frame()
    frame["pid"] = frame["pid"].map(lambda p: f"12345678901234567{int(p[1:]):02d}")
    return write(tmp, frame, LONG_PLAN)


_NA_REGION = plan_dict(moderators=[{"name": "region", "column": "region", "type": "categorical", "reference": "Europe"}])

CASES = {
    "participants without an arm in long data": Case(lambda t: write(t, _arm_kind(long_frame(), "text"), LONG_PLAN), 0, ()),
    "follow-up labels '18' and 18": Case(lambda t: write(t, trial_frame(), (
        "data: {id: pid, treatment: arm, treated: active, control: sham}\n"
        "outcomes: [{name: pain, baseline: pain_0, followups: {'18': pain_12, 18: pain_52}}]\n"
        "moderators: [{name: frebaq, column: frebaq, type: continuous}]\n")), 2,
        ("plan.yaml: outcomes[0].followups: the labels '18' and 18 are the same follow-up (18)",)),
    "time values 12 and 12.0 in long data": Case(lambda t: write(t, long_frame().assign(
        week=lambda f: np.where((f["week"] == 12) & (f.index % 2 == 0), "12.0", f["week"].astype(str))), LONG_PLAN), 0,
        ("warning: column 'week' (plan: data.time): time values written differently are read as one follow-up: '12' / '12.0'",)),
    "'NA' (North America) in a text moderator": Case(lambda t: write(t, trial_frame().assign(
        region=(["Europe", "Europe", "NA", "NA", "Asia", "Asia"] * N)[:N]), _NA_REGION), 0,
        ("warning: column 'region': 'NA' (14 rows) read as missing, as R writes a missing value; if 'NA' is a level here "
         "(e.g. North America), give data.missing_codes in the plan (missing_codes: [] keeps it as a level)",)),
    "'NA' beside yes and no in a binary moderator": Case(lambda t: write(t, with_cells("smoker", {0: "NA", 5: "NA"})), 0,
        ("warning: column 'smoker': 'NA' (2 rows) read as missing, as R writes a missing value",)),
    "stray text in a number covariate": Case(lambda t: write(t, with_cells("age", {6: "unknown"})), 2,
        ("column 'age' (plan: covariates[0]): numbers except for 'unknown' (row 7)",)),
    "ids differing by a zero-width space": Case(lambda t: write(t, with_cells("pid", {3: "P0\u200b01"})), 2,
        ("ids occurring more than once: 'P001'; written differently in the file", "'P0\\u200b01'")),
    "ids of 19 digits": Case(_long_ids, 0, ()),
    "repeated column name in a workbook": Case(_repeated_in_workbook, 2,
        ("data file trial.xlsx: column name(s) 'frebaq' appear more than once in the header",)),
    "formula cells without saved values": Case(_formula_book, 2,
        ("data file trial.xlsx: column 'frebaq' has 40 formula cell(s) without a saved value", "open it in Excel or LibreOffice")),
    "file mixing UTF-8 and Windows-1252": Case(_mixed_encodings, 0,
        ("warning: data file trial.csv: mixes text encodings (20 line(s) in UTF-8, 20 line(s) with Windows-1252/Latin-1 characters)",)),
    "SPSS value labels on a scale's end points": Case(_labelled_scale, 0, ()),
}


@pytest.mark.parametrize("name", list(CASES))
def test_catalogue_case(name, tmp_path, capsys, results_only):
    case = CASES[name]
    code = main(case.build(tmp_path))
    out, err = capsys.readouterr()
    assert code == case.code, err
    assert "Traceback" not in err
    for phrase in case.phrases:
        assert phrase in err, f"{phrase!r} not in:\n{err}"
    lines = err.strip().splitlines()
    assert all(line.startswith("effectmod: ") for line in lines), err
    if case.code == 0:
        table = pd.read_csv(tmp_path / "out" / "results.csv", keep_default_na=False)
        assert set(table["tier"]) <= {"evidence", "hypothesis-generating", "none"}


def test_catalogue_is_documented():
    doc = (Path(__file__).parents[1] / "docs" / "bad-inputs.md").read_text(encoding="utf-8")
    assert [name for name in CASES if f"**{name}**" not in doc] == []


def test_a_number_with_an_invisible_character_reads_as_that_number():
    """Numbers are cleaned as text values are (data.values.clean_text): '12' followed by a
    zero-width space is 12 in a number column, as it is the level '12' in a text column."""
    from effectmod.data.values import numeric_column, value_key
    values, bad, _ = numeric_column(pd.Series(["12\u200b", "7", "\u00a03.5"], dtype=object))
    assert list(values) == [12.0, 7.0, 3.5] and not bad
    assert value_key("12\u200b") == "12"
