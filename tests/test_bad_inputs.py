"""The catalogue of bad inputs (docs/bad-inputs.md): each one through the real command line.

Every case either stops with exit code 2, one line per problem on stderr and no traceback, or,
where only one model is affected, goes on (exit 0) and says why in that row's ``note``.
"""
from __future__ import annotations

import copy
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import pytest
import yaml

from effectmod.cli import main

N = 40  # participants in the synthetic trial: enough for every model to be estimable


def trial_frame(n: int = N, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "pid": [f"P{i:03d}" for i in range(1, n + 1)],
        "arm": ["active", "sham"] * (n // 2),
        "age": rng.integers(20, 70, n),
        "sex": rng.choice(["f", "m"], n),
        "pain_0": rng.integers(0, 11, n),
        "pain_12": rng.integers(0, 11, n),
        "pain_52": rng.integers(0, 11, n),
        "frebaq": rng.integers(0, 37, n),
        "smoker": rng.choice(["no", "yes"], n),
    })


def _three_arms() -> pd.DataFrame:
    return trial_frame().assign(arm=["active", "sham", "other"] * (N // 3) + ["sham"] * (N % 3))


BASE_PLAN = {
    "title": "Bad-input catalogue",
    "data": {"id": "pid", "treatment": "arm", "treated": "active", "control": "sham"},
    "outcomes": [{"name": "pain", "type": "continuous", "range": [0, 10], "baseline": "pain_0",
                  "followups": {"12": "pain_12", "52": "pain_52"}}],
    "moderators": [{"name": "frebaq", "column": "frebaq", "type": "continuous"},
                   {"name": "smoker", "column": "smoker", "type": "binary", "reference": "no"}],
    "covariates": ["age", "sex"],
}


COUNT_OUTCOME = {"name": "pain", "type": "count", "baseline": "pain_0", "followups": {"12": "pain_12", "52": "pain_52"}}


def plan_dict(**sections) -> dict:
    plan = copy.deepcopy(BASE_PLAN)
    for key, value in sections.items():
        if value is None:
            plan.pop(key, None)
        else:
            plan[key] = value
    return plan


@dataclass
class Case:
    """One bad input: ``build(tmp_path)`` writes the files and returns the command-line arguments."""

    build: Callable[[Path], list[str]]
    code: int
    phrases: tuple[str, ...]
    note: str | None = None          # exit 0 cases: a phrase that a results.csv note must hold
    stdout: tuple[str, ...] = ()     # phrases expected on stdout (validate)
    env: dict = field(default_factory=dict)


def write(tmp: Path, frame: pd.DataFrame | None = None, plan: dict | str | None = None,
          data_name: str = "trial.csv", command: str = "analyze", **csv) -> list[str]:
    data = tmp / data_name
    if frame is not None:
        frame.to_csv(data, index=False, **csv)
    plan_path = tmp / "plan.yaml"
    plan = plan_dict() if plan is None else plan
    plan_path.write_text(plan if isinstance(plan, str) else yaml.safe_dump(plan, sort_keys=False, allow_unicode=True),
                         encoding="utf-8")
    args = [command, str(data), "--plan", str(plan_path)]
    return args + ["--out", str(tmp / "out")] if command == "analyze" else args


def with_cells(column: str, cells: dict[int, object], frame: pd.DataFrame | None = None) -> pd.DataFrame:
    frame = trial_frame() if frame is None else frame
    frame[column] = frame[column].astype(object)
    for row, value in cells.items():
        frame.loc[row, column] = value
    return frame


def long_frame() -> pd.DataFrame:
    wide = trial_frame()
    parts = [wide[["pid", "arm", "frebaq", "smoker", "age", "sex"]].assign(week=w, pain=wide[c])
             for w, c in ((0, "pain_0"), (12, "pain_12"), (52, "pain_52"))]
    return pd.concat(parts, ignore_index=True)


LONG_PLAN = plan_dict(
    data={"id": "pid", "treatment": "arm", "treated": "active", "control": "sham", "time": "week"},
    outcomes=[{"name": "pain", "range": [0, 10], "baseline": 0, "column": "pain"}])


def excel(tmp: Path, sheets: dict[str, pd.DataFrame]) -> None:
    with pd.ExcelWriter(tmp / "trial.xlsx") as book:
        for name, frame in sheets.items():
            frame.to_excel(book, sheet_name=name, index=False)


def tte_frame() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    return trial_frame().assign(days=np.round(rng.exponential(300, N), 1), died=rng.integers(0, 2, N))


def tte_plan(**changes) -> dict:
    outcome = {"name": "death", "type": "time_to_event", "time": "days", "event": "died", "horizon": 180}
    outcome.update(changes)
    return plan_dict(outcomes=[{k: v for k, v in outcome.items() if v is not None}])


def _mod(plan: dict, i: int, **changes) -> dict:
    plan["moderators"][i].update(changes)
    return plan


CASES: dict[str, Case] = {
    # ------------------------------------------------------------------ the plan file
    "plan not YAML": Case(lambda t: write(t, trial_frame(), "data: [id, arm\noutcomes: {"), 2,
                          ("plan.yaml: not valid YAML at line",)),
    "plan empty": Case(lambda t: write(t, trial_frame(), ""), 2,
                       ("plan.yaml: is empty; expected a mapping with data, outcomes and moderators",)),
    "plan a list": Case(lambda t: write(t, trial_frame(), "- pid\n- arm\n"), 2,
                        ("plan.yaml: the top level is a list, expected a mapping",)),
    "plan section a list": Case(lambda t: write(t, trial_frame(), plan_dict(data=["pid", "arm"])), 2,
                                ("data: expected a mapping of keys, got a list",)),
    "plan moderator a string": Case(lambda t: write(t, trial_frame(), plan_dict(moderators=["frebaq"])), 2,
                                    ("moderators[0]: expected a mapping of keys, got the str 'frebaq'",)),
    "plan unknown key": Case(lambda t: write(t, trial_frame(), _mod(plan_dict(), 0, hypothesized_direction="unspecified")), 2,
                             ("moderators[0].hypothesized_direction: unknown key. Did you mean 'hypothesised_direction'?",)),
    "plan required key missing": Case(lambda t: write(t, trial_frame(), plan_dict(data={"id": "pid", "treatment": "arm"})), 2,
                                      ("data.treated: required key is missing",)),
    "plan value not allowed": Case(lambda t: write(t, trial_frame(), plan_dict(analysis={"model": "lm"})), 2,
                                   ("analysis.model: 'lm' is not allowed; expected 'linear' or 'mixed'",)),
    "plan threshold out of (0,1)": Case(lambda t: write(t, trial_frame(), plan_dict(analysis={"ci_level": 95})), 2,
                                        ("analysis.ci_level: must lie strictly between 0 and 1, got 95",)),
    "plan moderator named twice": Case(lambda t: write(t, trial_frame(), plan_dict(moderators=[
        {"name": "frebaq", "column": "frebaq", "type": "continuous"},
        {"name": "frebaq", "column": "age", "type": "continuous"}])), 2,
        ("moderators[1].name: 'frebaq' is already used by moderators[0]",)),
    "plan covariate is a moderator": Case(lambda t: write(t, trial_frame(), plan_dict(covariates=["age", "frebaq"])), 2,
                                          ("covariates[1]: 'frebaq' is also moderators[0].column",)),
    "plan file missing": Case(lambda t: ["analyze", str(write(t, trial_frame())[1]), "--plan", str(t / "nope.yaml"),
                                         "--out", str(t / "out")], 2, ("nope.yaml: not found",)),
    "plan is a folder": Case(lambda t: ["validate", write(t, trial_frame())[1], "--plan", str(t)], 2,
                             ("is a folder, expected a YAML file",)),
    "plan not UTF-8": Case(lambda t: _latin1_plan(t), 2, ("plan.yaml: is not UTF-8 text",)),
    "treated yes unquoted": Case(lambda t: write(t, trial_frame().assign(arm=["Yes", "No"] * (N // 2)),
                                                 "data: {id: pid, treatment: arm, treated: yes, control: no}\n"
                                                 "outcomes: [{name: pain, baseline: pain_0, followups: {'12': pain_12}}]\n"
                                                 "moderators: [{name: frebaq, column: frebaq, type: continuous}]\n"), 2,
                                 ("data.treated: the value True does not occur in column 'arm'", "quote the value in the plan")),
    # ------------------------------------------------------------------ multi-arm plans
    "multi-arm without control": Case(lambda t: write(t, _three_arms(), plan_dict(
        data={"id": "pid", "treatment": "arm", "treated": ["active", "other"]})), 2,
        ("data: data.control is required when data.treated is a list of arms",)),
    "multi-arm control also treated": Case(lambda t: write(t, _three_arms(), plan_dict(
        data={"id": "pid", "treatment": "arm", "treated": ["active", "sham"], "control": "sham"})), 2,
        ("data.control ('sham') is also listed in data.treated",)),
    "multi-arm arm not in data": Case(lambda t: write(t, _three_arms(), plan_dict(
        data={"id": "pid", "treatment": "arm", "treated": ["active", "othre"], "control": "sham"})), 2,
        ("data.treated[1]: the value 'othre' does not occur in column 'arm'; arms found: 'active', 'other', 'sham'",)),
    # ------------------------------------------------------------------ the data file
    "data file missing": Case(lambda t: write(t, None), 2, ("trial.csv: not found",)),
    "data empty file": Case(lambda t: (t.joinpath("trial.csv").write_bytes(b""), write(t, None))[1], 2,
                            ("data file trial.csv: is empty (0 bytes)",)),
    "data header only": Case(lambda t: write(t, trial_frame().iloc[:0]), 2,
                             ("data file trial.csv: has a header but no data rows",)),
    "data wrong delimiter": Case(lambda t: write(t, trial_frame(), data_name="trial.tsv"), 2,
                                 ("data file trial.tsv: read as a single column", "the delimiter looks wrong")),
    "data unsupported extension": Case(lambda t: write(t, trial_frame(), data_name="trial.json"), 2,
                                       ("unsupported extension '.json'",)),
    "data is a folder": Case(lambda t: (t.joinpath("d.csv").mkdir(), write(t, None, data_name="d.csv"))[1], 2,
                             ("is a folder, expected a file",)),
    "data lock file": Case(lambda t: (t.joinpath("~$trial.xlsx").write_bytes(b"x"), write(t, None, data_name="~$trial.xlsx"))[1], 2,
                           ("is the lock file a spreadsheet program keeps", "give trial.xlsx instead")),
    "data repeated header": Case(lambda t: (t.joinpath("trial.csv").write_text("pid,arm,arm\nP1,a,b\n"), write(t, None))[1], 2,
                                 ("column name(s) 'arm' appear more than once in the header",)),
    "excel data on second sheet": Case(lambda t: (excel(t, {"Notes": pd.DataFrame(), "Data": trial_frame()}),
                                                  write(t, None, data_name="trial.xlsx"))[1], 2,
                                       ("the first sheet 'Notes' is empty", "'Data'", "(data.sheet)")),
    "excel sheet misspelt": Case(lambda t: (excel(t, {"Notes": pd.DataFrame(), "Data": trial_frame()}),
                                            write(t, None, plan_dict(data={**BASE_PLAN["data"], "sheet": "data"}),
                                                  data_name="trial.xlsx"))[1], 2,
                                 ("data.sheet: no sheet 'data' in trial.xlsx", "Closest: 'Data'")),
    "excel sheet index out of range": Case(lambda t: (excel(t, {"Data": trial_frame()}),
                                                      write(t, None, plan_dict(data={**BASE_PLAN["data"], "sheet": 3}),
                                                            data_name="trial.xlsx"))[1], 2,
                                           ("data.sheet: trial.xlsx has 1 sheet(s) (0-based index 0-0), not 3",)),
    "data too large": Case(lambda t: write(t, trial_frame()), 2,
                           ("data file trial.csv:", "would still take more than the limit of 100 bytes",
                            "EFFECTMOD_MAX_DATA_BYTES"), env={"EFFECTMOD_MAX_DATA_BYTES": "100"}),
    # ------------------------------------------------------------------ time-to-event outcomes
    "time_to_event without event": Case(lambda t: write(t, tte_frame(), tte_plan(event=None)), 2,
                                        ("outcomes[0]: a time_to_event outcome needs time", "and event (the event indicator column)")),
    "time_to_event time column missing": Case(lambda t: write(t, tte_frame(), tte_plan(time="day")), 2,
                                              ("column 'day' (plan: outcomes[0].time) is not in the data. Closest: 'days'",)),
    "time_to_event negative times": Case(lambda t: write(t, with_cells("days", {3: -2.5}, tte_frame()), tte_plan()), 2,
                                         ("column 'days' (plan: outcomes[0].time): follow-up times must be 0 or more",)),
    "time_to_event event_value absent": Case(lambda t: write(t, tte_frame(), tte_plan(event_value=2)), 2,
                                             ("outcomes[0].event_value: 2 does not occur; values found: '0', '1'",)),
    "time_to_event event with three values": Case(lambda t: write(t, with_cells("died", {0: 2}, tte_frame()), tte_plan()), 2,
                                                  ("column 'died' (plan: outcomes[0].event): an event indicator needs two values",)),
    "time_to_event key on a continuous outcome": Case(lambda t: write(t, trial_frame(), plan_dict(outcomes=[
        {"name": "pain", "baseline": "pain_0", "followups": {"12": "pain_12"}, "horizon": 12}])), 2,
        ("horizon: only time_to_event outcomes have these keys (set type: time_to_event)",)),
    "time_to_event in long data": Case(lambda t: write(t, long_frame().assign(days=1.0, died=0), plan_dict(
        data=LONG_PLAN["data"], outcomes=[{"name": "death", "type": "time_to_event", "time": "days", "event": "died"}])), 2,
        ("outcomes[0]: a time_to_event outcome needs wide data",)),
    "time_to_event horizon beyond an arm's follow-up": Case(lambda t: write(t, tte_frame(), tte_plan(horizon=5000)), 0, (),
                                                           note="before the horizon 5000"),
    "time_to_event level without events in one arm": Case(
        lambda t: write(t, tte_frame().assign(died=lambda f: np.where((f.arm == "active") & (f.smoker == "yes"), 0, f.died)),
                        tte_plan(horizon=None)), 0, (), note="no events in arm active with smoker = yes"),
    # ------------------------------------------------------------------ columns and values
    "column missing": Case(lambda t: write(t, trial_frame().drop(columns="pain_52")), 2,
                           ("column 'pain_52' (plan: outcomes[0].followups['52']) is not in the data. Closest: 'pain_12'",)),
    "moderator column misspelt": Case(lambda t: write(t, trial_frame(), _mod(plan_dict(), 0, column="freebaq")), 2,
                                      ("column 'freebaq' (plan: moderators[0].column) is not in the data. Closest: 'frebaq'",)),
    "mixed types 7 seven 7.0": Case(lambda t: write(t, with_cells("pain_12", {0: "7", 2: "seven", 3: "7.0"})), 2,
                                    ("column 'pain_12' (plan: outcomes[0].followups['12']): expected numbers, found text 'seven' (row 3)",)),
    "decimal commas": Case(lambda t: write(t, with_cells("frebaq", {1: "12,5", 4: "3,25"}), sep=";"), 2,
                           ("column 'frebaq' (plan: moderators[0].column): expected numbers, found text '12,5' (row 2), '3,25' (row 5)",
                            "(decimal commas: write 7.5, not 7,5)")),
    "thousands separators": Case(lambda t: write(t, with_cells("age", {0: "1,200", 5: "12,500"})), 2,
                                 ("column 'age' (plan: covariates[0]): expected numbers, found text '1,200' (row 1), '12,500' (row 6)",
                                  "(numbers with thousands separators: remove the commas)")),
    "text in a continuous moderator": Case(lambda t: write(t, trial_frame(), _mod(plan_dict(), 1, type="continuous", reference=None)), 2,
                                           ("column 'smoker' (plan: moderators[1].column): expected numbers",
                                            "it holds only text levels ('no', 'yes')", "type: binary or categorical")),
    "binary moderator with three levels": Case(lambda t: write(t, with_cells("smoker", {0: "former"})), 2,
                                               ("column 'smoker' (plan: moderators[1].column): declared binary but has 3 levels",
                                                "declare it categorical")),
    "reference level absent": Case(lambda t: write(t, trial_frame(), _mod(plan_dict(), 1, reference="never")), 2,
                                   ("moderators[1].reference: 'never' is not a level of column 'smoker'; levels: 'no', 'yes'",)),
    "per on a binary moderator": Case(lambda t: write(t, trial_frame(), _mod(plan_dict(), 1, per=10)), 2,
                                      ("plan.yaml: moderators[1]: per: only continuous moderators are reported per k units",)),
    "covariate type not allowed": Case(lambda t: write(t, trial_frame(), plan_dict(covariates=[{"column": "age", "type": "factor"}])), 2,
                                       ("plan.yaml: covariates[0].type: 'factor' is not allowed; "
                                        "expected 'categorical', 'continuous' or 'numeric'",)),
    "covariate reference level absent": Case(lambda t: write(t, trial_frame(), plan_dict(
        covariates=["age", {"column": "sex", "type": "categorical", "reference": "x"}])), 2,
        ("covariates[1].reference: 'x' is not a level of column 'sex'; levels: 'f', 'm'.",)),
    "categorical covariate with one level": Case(lambda t: write(t, trial_frame().assign(sex="f"), plan_dict(
        covariates=["age", {"column": "sex", "type": "categorical"}])), 2,
        ("column 'sex' (plan: covariates[1].column): a categorical covariate needs at least two levels; found 1: 'f'",)),
    "categorical covariate with a level per participant": Case(lambda t: write(t, trial_frame(), plan_dict(
        covariates=[{"column": "age", "type": "categorical"}])), 2,
        ("column 'age' (plan: covariates[0].column): declared categorical but has",)),
    "text in a continuous covariate": Case(lambda t: write(t, trial_frame(), plan_dict(
        covariates=["age", {"column": "sex", "type": "continuous"}])), 2,
        ("column 'sex' (plan: covariates[1].column): expected numbers, found text 'f' (row 1)",
         "declared type: continuous, so every value must be a number")),
    "baseline out of range": Case(lambda t: write(t, with_cells("pain_0", {4: 11})), 2,
                                  ("column 'pain_0' (plan: outcomes[0].baseline): values outside the declared range [0, 10]: '11' (row 5)",)),
    "undeclared -99 and 999 in a 0-10 scale": Case(lambda t: write(t, with_cells("pain_12", {1: -99, 2: 999})), 2,
                                                   ("values outside the declared range [0, 10]: '-99' (row 2), '999' (row 3)",
                                                    "-99, 999 look like missing-value codes: declare them in data.missing_codes")),
    "duplicate ids": Case(lambda t: write(t, with_cells("pid", {3: "P001"})), 2,
                          ("column 'pid' (plan: data.id): wide data needs one row per participant; ids occurring more than once: 'P001'",)),
    "ids differing by outer spaces": Case(lambda t: write(t, with_cells("pid", {3: " P001 "})), 2,
                                          ("ids occurring more than once: 'P001'",)),
    "one arm only": Case(lambda t: write(t, trial_frame().assign(arm="active"),
                                         plan_dict(data={"id": "pid", "treatment": "arm", "treated": "active"})), 2,
                         ("data.treatment: column 'arm' holds only one arm ('active'); a comparison needs two",)),
    "three arms without control": Case(lambda t: write(t, with_cells("arm", {0: "waitlist", 2: "waitlist"}),
                                                       plan_dict(data={"id": "pid", "treatment": "arm", "treated": "active"})), 2,
                                       ("data.control: column 'arm' has 3 arms ('active', 'sham', 'waitlist'); name the control arm",)),
    "treated value misspelt": Case(lambda t: write(t, trial_frame(), plan_dict(data={**BASE_PLAN["data"], "treated": "activ"})), 2,
                                   ("data.treated: the value 'activ' does not occur in column 'arm'; arms found: 'active', 'sham'",)),
    "binary outcome with three values": Case(lambda t: write(t, trial_frame(), plan_dict(outcomes=[
        {"name": "pain", "type": "binary", "followups": {"12": "pain_12"}}])), 2,
        ("outcomes[0]: a binary outcome needs two values; found 10: '0', '1', '2'",)),
    "long data duplicate id x time": Case(lambda t: write(t, pd.concat([long_frame(), long_frame().iloc[[5]]]), LONG_PLAN), 2,
                                          ("columns 'pid' x 'week' (plan: data.id, data.time): long data needs one row per participant and time; "
                                           "repeated: P006 at week 0",)),
    "long data baseline time absent": Case(lambda t: write(t, long_frame(), plan_dict(
        data=LONG_PLAN["data"], outcomes=[{"name": "pain", "baseline": 1, "column": "pain"}])), 2,
        ("outcomes[0].baseline: time value 1 does not occur in column 'week'; times found: 0, 12, 52",)),
    # ------------------------------------------------------------------ the analysis goes on
    "moderator with a single value": Case(lambda t: write(t, trial_frame().assign(frebaq=5)), 0, (),
                                          note="moderator 'frebaq' takes a single value (5) among the analysed participants"),
    "collinear moderator and covariate": Case(lambda t: write(t, trial_frame().assign(age=lambda f: 2 * f.frebaq + 1)), 0, (),
                                              note="design columns are collinear"),
    "outcome constant at a follow-up": Case(lambda t: write(t, trial_frame().assign(pain_52=4)), 0, (),
                                            note="every analysed participant has the same outcome value (4) at follow-up 52"),
    "outcome all missing at a follow-up": Case(lambda t: write(t, trial_frame().assign(pain_52="")), 0, (),
                                               note="no participant has the outcome, moderator and covariates observed at follow-up 52"),
    "declared missing codes": Case(lambda t: write(t, with_cells("pain_12", {0: -99, 1: 999, 2: "NA", 3: "", 4: "."}),
                                                   plan_dict(data={**BASE_PLAN["data"], "missing_codes": [-99, 999, "."]})), 0, ()),
    "undeclared 999 in an unbounded moderator": Case(lambda t: write(t, with_cells("frebaq", {1: 999})), 0,
                                                     ("warning: column 'frebaq' (plan: moderators[0].column): "
                                                      "999 (1 rows) look like missing-value codes",)),
    "undeclared '.' cells": Case(lambda t: write(t, with_cells("pain_12", {1: ".", 7: "."})), 0,
                                 ("warning: column 'pain_12' (plan: outcomes[0].followups['12']): 2 cell(s) hold '.', read as missing",)),
    "ids differing only in case": Case(lambda t: write(t, with_cells("pid", {3: "p001"})), 0,
                                       ("warning: participant ids that differ only in case or spaces are treated as different people: "
                                        "'P001' / 'p001'",)),
    "column names with spaces, dots, quotes, unicode": Case(lambda t: _odd_names(t), 0, ()),
    "excel with data.sheet": Case(lambda t: (excel(t, {"Notes": pd.DataFrame(), "Data": trial_frame()}),
                                             write(t, None, plan_dict(data={**BASE_PLAN["data"], "sheet": "Data"}),
                                                   data_name="trial.xlsx"))[1], 0, ()),
    "large file read for the plan's columns only": Case(lambda t: write(t, trial_frame().assign(**{f"extra{i}": "x" * 40 for i in range(30)})), 0, (),
                                                        env={"EFFECTMOD_MAX_DATA_BYTES": "20000"}),
    # ------------------------------------------------------------------ count and ordinal outcomes
    "count outcome not whole numbers": Case(lambda t: write(t, with_cells("pain_12", {0: 2.5, 1: -1}), plan_dict(outcomes=[
        dict(COUNT_OUTCOME)]), command="validate"), 2, ("takes whole numbers from 0", "pain_12", "row 1", "row 2")),
    "count exposure not above 0": Case(lambda t: write(t, trial_frame().assign(weeks=[0] + [2] * (N - 1)), plan_dict(outcomes=[
        dict(COUNT_OUTCOME, exposure="weeks")]), command="validate"), 2, ("outcomes[0].exposure", "finite number above 0")),
    "exposure on a continuous outcome": Case(lambda t: write(t, trial_frame().assign(weeks=2), plan_dict(outcomes=[
        dict(BASE_PLAN["outcomes"][0], exposure="weeks")]), command="validate"), 2, ("exposure: only count outcomes",)),
    "count outcome in a mixed model": Case(lambda t: write(t, trial_frame(), plan_dict(outcomes=[dict(COUNT_OUTCOME)],
                                                                                       analysis={"model": "mixed"}), command="validate"),
                                           2, ("mixed models are not defined for count outcomes",)),
    "ordinal value not among the levels": Case(lambda t: write(t, trial_frame(), plan_dict(outcomes=[
        dict(COUNT_OUTCOME, type="ordinal", levels=list(range(10)))]), command="validate"), 2,
        ("values not among outcomes[0].levels", "pain_12")),
    "ordinal text categories without levels": Case(lambda t: write(t, trial_frame().assign(
        status=lambda f: np.where(f["pain_12"] > 5, "poor", "good")), plan_dict(outcomes=[
            {"name": "status", "type": "ordinal", "followups": {"12": "status"}}]), command="validate"), 2,
        ("outcomes[0].levels: required",)),
    # ------------------------------------------------------------------ the command line
    "output folder not empty": Case(lambda t: (t.joinpath("out").mkdir(), t.joinpath("out", "keep.txt").write_text("x"),
                                               write(t, trial_frame()))[2], 2,
                                    ("folder exists and is not empty; choose another folder or pass --force",)),
    # ------------------------------------------------------------------ the predictive section
    "predictive predictor not in data": Case(lambda t: write(t, trial_frame(), plan_dict(predictive={"risk_predictors": ["age", "bmi"]})), 2,
                                             ("column 'bmi' (plan: predictive.risk_predictors[1]) is not in the data",)),
    "predictive predictor is text": Case(lambda t: write(t, trial_frame(), plan_dict(predictive={"effect_predictors": ["sex"]})), 2,
                                         ("predictive.effect_predictors[0]: column 'sex' holds text",)),
    "predictive one risk group": Case(lambda t: write(t, trial_frame(), plan_dict(predictive={"risk_predictors": ["age"], "risk_groups": 1})), 2,
                                      ("predictive.risk_groups", "at least 2 groups are needed, got 1")),
    "predictive nothing to do": Case(lambda t: write(t, trial_frame(), plan_dict(predictive={"shrinkage": False})), 2,
                                     ("predictive: nothing to do",)),
}


def _latin1_plan(tmp: Path) -> list[str]:
    args = write(tmp, trial_frame())
    (tmp / "plan.yaml").write_bytes("title: Caf\xe9 trial\n".encode("latin-1"))
    return args


def _odd_names(tmp: Path) -> list[str]:
    names = {"pid": "participant id", "arm": "group.arm", "frebaq": "FreBAQ \"score\"", "smoker": "fumeur·âge’s",
             "age": "âge (années)", "pain_0": "douleur.0", "pain_12": "douleur 12 sem", "pain_52": "douleur 52'"}
    frame = trial_frame().rename(columns=names)
    plan = plan_dict(data={"id": names["pid"], "treatment": names["arm"], "treated": "active", "control": "sham"},
                     outcomes=[{"name": "pain", "range": [0, 10], "baseline": names["pain_0"],
                                "followups": {"12": names["pain_12"], "52": names["pain_52"]}}],
                     moderators=[{"name": "frebaq", "column": names["frebaq"], "type": "continuous"},
                                 {"name": "smoker", "column": names["smoker"], "type": "binary"}],
                     covariates=[names["age"], "sex"])
    return write(tmp, frame, plan)


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input(name, tmp_path, capsys, monkeypatch, results_only):
    case = CASES[name]
    for key, value in case.env.items():
        monkeypatch.setenv(key, value)
    args = case.build(tmp_path)
    code = main(args)
    out, err = capsys.readouterr()
    assert code == case.code, err
    assert "Traceback" not in err and "Traceback" not in out
    for phrase in case.phrases:
        assert phrase in err, f"{phrase!r} not in:\n{err}"
    if case.code == 2:
        lines = err.strip().splitlines()
        assert lines and all(line.startswith("effectmod: ") for line in lines), err
        assert not (tmp_path / "out").exists() or (tmp_path / "out" / "keep.txt").exists()
        return
    table = pd.read_csv(tmp_path / "out" / "results.csv", keep_default_na=False)
    if case.note is None:
        assert set(table["tier"]) <= {"evidence", "hypothesis-generating", "none"}
    else:
        hit = table[table["note"].str.contains(case.note, regex=False)]
        assert len(hit) > 0 and set(hit["tier"]) == {"not-estimable"}, table[["timepoint", "moderator", "note"]]
        assert set(table.loc[~table.index.isin(hit.index), "tier"]) <= {"evidence", "hypothesis-generating", "none"}


def test_catalogue_is_large_and_documented():
    assert len(CASES) >= 40
    doc = (Path(__file__).parents[1] / "docs" / "bad-inputs.md").read_text(encoding="utf-8")
    missing = [name for name in CASES if f"**{name}**" not in doc]
    assert not missing, missing


def test_declared_missing_codes_leave_the_rest(tmp_path, capsys, results_only):
    """The five declared or default codes become missing: n drops by exactly those rows."""
    args = CASES["declared missing codes"].build(tmp_path)
    assert main(args) == 0
    table = pd.read_csv(tmp_path / "out" / "results.csv")
    n12 = set(table.loc[table["timepoint"] == 12, "n"])
    n52 = set(table.loc[table["timepoint"] == 52, "n"])
    assert n12 == {N - 5} and n52 == {N}


def test_unreadable_data_file(tmp_path, capsys, monkeypatch):
    """root reads any file, so permission denied (or a lock held by Excel on Windows) is simulated."""
    import effectmod.data.load as load

    args = write(tmp_path, trial_frame())

    def denied(*a, **k):
        raise PermissionError(13, "Permission denied")
    monkeypatch.setattr(load, "open", denied, raising=False)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "trial.csv: cannot be read (permission denied, or locked by another program" in err


def test_unreadable_plan_file(tmp_path, capsys, monkeypatch):
    args = write(tmp_path, trial_frame())
    real = Path.read_text

    def denied(self, *a, **k):
        if self.name == "plan.yaml":
            raise PermissionError(13, "Permission denied")
        return real(self, *a, **k)
    monkeypatch.setattr(Path, "read_text", denied)
    assert main(args) == 2
    assert "plan.yaml: cannot be read (permission denied)" in capsys.readouterr().err


def test_new_user_run_lists_typo_missing_column_and_wrong_type(tmp_path, capsys):
    """Issue 2's new user: an unknown key, a missing column and a wrongly typed moderator, all in one run."""
    plan = plan_dict(analysis={"modle": "linear"})
    plan["moderators"].append({"name": "fear", "column": "tsk", "type": "continuous"})
    plan["moderators"][1].update(type="continuous", reference=None)
    del plan["moderators"][1]["reference"]
    for command in ("analyze", "validate"):
        args = write(tmp_path, trial_frame(), plan, command=command)
        assert main(args) == 2
        err = capsys.readouterr().err
        lines = err.strip().splitlines()
        assert "analysis.modle: unknown key. Did you mean 'model'?" in lines[0]
        assert any("column 'tsk' (plan: moderators[2].column) is not in the data" in ln for ln in lines)
        assert any("column 'smoker' (plan: moderators[1].column): expected numbers" in ln for ln in lines)
        assert len(lines) == 3 and "Traceback" not in err
        assert not (tmp_path / "out").exists()


def test_new_user_run_with_an_invalid_moderator_type(tmp_path, capsys):
    """A moderator whose type itself is wrong is left out of the data checks, but its column is checked."""
    plan = plan_dict(covariate=["age"])
    plan["moderators"] = [{"name": "frebaq", "column": "frebak", "type": "numeric"},
                          {"name": "smoker", "column": "smoker", "type": "binary", "reference": "no"}]
    assert main(write(tmp_path, with_cells("pain_12", {2: "seven"}), plan)) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert any("covariate: unknown key. Did you mean 'covariates'?" in ln for ln in lines)
    assert any("moderators[0].type: 'numeric' is not allowed" in ln for ln in lines)
    assert any("column 'frebak' (plan: moderators[0].column) is not in the data. Closest: 'frebaq'" in ln for ln in lines)
    assert any("found text 'seven' (row 3)" in ln for ln in lines)


def test_rows_are_named_as_in_the_file(tmp_path, capsys):
    """A bad cell after rows of an excluded arm is reported by its row in the file, not in the analysed subset."""
    frame = with_cells("arm", {0: "waitlist", 1: "waitlist"})
    frame = with_cells("frebaq", {9: "n/k"}, frame)
    assert main(write(tmp_path, frame)) == 2
    assert "found text 'n/k' (row 10)" in capsys.readouterr().err


def test_long_data_rows_named_by_participant(tmp_path, capsys):
    frame = long_frame()
    frame["pain"] = frame["pain"].astype(object)
    frame.loc[(frame["pid"] == "P004") & (frame["week"] == 12), "pain"] = "seven"
    assert main(write(tmp_path, frame, LONG_PLAN)) == 2
    assert "column 'pain at time 12' (plan: outcomes[0].column): expected numbers, found text 'seven' (id P004)" in capsys.readouterr().err


def test_validate_prints_a_clean_summary(tmp_path, capsys):
    assert main(write(tmp_path, trial_frame(), command="validate")) == 0
    out, err = capsys.readouterr()
    assert f"{N} participants in the two analysed arms (active: {N // 2}, sham: {N // 2})" in out
    assert "plan and data agree; 4 models to fit" in out and err == ""


def test_validate_prints_every_problem(tmp_path, capsys):
    frame = with_cells("pain_12", {2: "seven"}, with_cells("smoker", {0: "former"}))
    assert main(write(tmp_path, frame.drop(columns="age"), command="validate")) == 2
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert len(lines) == 3 and out == ""
    assert "column 'age' (plan: covariates[0]) is not in the data" in lines[0]


def test_validate_reports_warnings_and_not_estimable_models(tmp_path, capsys):
    frame = with_cells("pid", {3: "p001"}).assign(pain_52=4)
    assert main(write(tmp_path, frame, command="validate")) == 0
    out = capsys.readouterr().out
    assert "warning: participant ids that differ only in case" in out
    assert "not estimable: linear pain at 52 x frebaq: every analysed participant has the same outcome value" in out


def test_a_bad_input_through_the_installed_command(tmp_path):
    """The console script itself: exit code 2, message on stderr, no traceback."""
    args = CASES["treated value misspelt"].build(tmp_path)
    run = subprocess.run([sys.executable, "-m", "effectmod", *args], capture_output=True, text=True, timeout=120)
    assert run.returncode == 2
    assert run.stderr.startswith("effectmod: data.treated: the value 'activ' does not occur")
    assert "Traceback" not in run.stderr and run.stdout == ""


def test_warnings_are_recorded_in_the_data_flow(tmp_path, capsys, results_only):
    """Printed on stderr and kept in results.json, so the record of the analysis has them too."""
    import json

    assert main(write(tmp_path, with_cells("pain_12", {1: "."}))) == 0
    flow = json.loads((tmp_path / "out" / "results.json").read_text(encoding="utf-8"))["data_flow"]
    assert flow["warnings"] == ["column 'pain_12' (plan: outcomes[0].followups['12']): 1 cell(s) hold '.', "
                                "read as missing; declare it in data.missing_codes: ['.'] to confirm"]
    assert f"effectmod: warning: {flow['warnings'][0]}" in capsys.readouterr().err
