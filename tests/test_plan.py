"""The plan loader: every problem named by its plan path, all of them at once, and the lenient
reading that lets the data be checked beside a broken plan."""
from __future__ import annotations

import pytest
from pydantic import ValidationError

import effectmod as em
from effectmod.errors import PlanError
from effectmod.plan.load import load_plan, salvage_plan
from test_bad_inputs import BASE_PLAN, plan_dict


def problems(raw) -> list[str]:
    with pytest.raises(PlanError) as info:
        load_plan(raw)
    return info.value.problems


def test_valid_plan_loads_with_defaults_and_is_frozen():
    plan = load_plan(plan_dict(outcomes=[{**BASE_PLAN["outcomes"][0], "followups": {12: "pain_12", 52.0: "pain_52"}}]))
    assert isinstance(plan, em.Plan)
    assert list(plan.outcomes[0].followups) == ["12", "52"]   # labels as text, integers without '.0'
    assert plan.analysis.model == "linear" and plan.analysis.ci_level == 0.95 and plan.analysis.seed == 2024
    with pytest.raises(ValidationError):
        plan.title = "changed"


@pytest.mark.parametrize("where, raw, expected", [
    ("top", {"covariate": ["age"]}, "covariate: unknown key. Did you mean 'covariates'?"),
    ("data", {"data": {**BASE_PLAN["data"], "treat": "x"}}, "data.treat: unknown key. Did you mean 'treated'?"),
    ("analysis", {"analysis": {"bootstraps": 10}}, "analysis.bootstraps: unknown key. Did you mean 'bootstrap'?"),
    ("outcome", {"outcomes": [{**BASE_PLAN["outcomes"][0], "baseline_column": "pain_0"}]},
     "outcomes[0].baseline_column: unknown key. Did you mean 'baseline'?"),
])
def test_unknown_keys_name_their_path_and_suggest(where, raw, expected):
    found = problems({**plan_dict(), **raw})
    assert any(line.endswith(expected) or expected in line for line in found), found
    assert all(line.startswith("plan: ") for line in found)


@pytest.mark.parametrize("analysis, expected", [
    ({"ci_level": 1.5}, "analysis.ci_level: must lie strictly between 0 and 1, got 1.5"),
    ({"ci_level": 0}, "analysis.ci_level: must lie strictly between 0 and 1, got 0"),
    ({"evidence_threshold": 0.3}, "evidence_threshold (0.3) must not exceed exploratory_threshold (0.2)"),
    ({"bootstrap": -1}, "analysis.bootstrap: Input should be greater than or equal to 0; got -1"),
    ({"se": "HC1"}, "analysis.se: 'HC1' is not allowed; expected 'classical', 'HC3' or 'CR2'"),
    ({"multiplicity": "bonferroni"}, "analysis.multiplicity: 'bonferroni' is not allowed; expected 'none', 'holm' or 'fdr_bh'"),
    ({"ci_level": "high"}, "analysis.ci_level: Input should be a valid number, unable to parse string as a number; got 'high'"),
    ({"model": "mixed", "sensitivity": ["mixed"]}, "sensitivity: 'mixed' is already the main model"),
])
def test_analysis_options_are_closed_sets(analysis, expected):
    found = problems(plan_dict(analysis=analysis))
    assert any(expected in line for line in found), found


def test_duplicates_are_each_reported():
    raw = plan_dict(
        outcomes=[BASE_PLAN["outcomes"][0], BASE_PLAN["outcomes"][0]],
        moderators=[{"name": "a", "column": "frebaq", "type": "continuous"},
                    {"name": "a", "column": "frebaq", "type": "continuous"}],
        covariates=["age", "age", "frebaq"])
    found = problems(raw)
    for expected in ("outcomes[1].name: 'pain' is already used by outcomes[0]",
                     "moderators[1].name: 'a' is already used by moderators[0]",
                     "moderators[1].column: 'frebaq' is already used by moderators[0]",
                     "covariates[1]: 'age' is listed twice (also covariates[0])",
                     "covariates[2]: 'frebaq' is also moderators[0].column"):
        assert any(expected in line for line in found), (expected, found)


def test_every_field_problem_in_one_error():
    raw = plan_dict(data={"id": "pid", "treatment": "arm"}, analysis={"ci_level": 2, "model": "glm"})
    raw["moderators"][0]["type"] = "numeric"
    raw["moderators"][1]["name"] = "1 smoker"
    found = problems(raw)
    assert len(found) == 5, found
    for expected in ("data.treated: required key is missing", "analysis.ci_level: must lie strictly",
                     "analysis.model: 'glm' is not allowed", "moderators[0].type: 'numeric' is not allowed",
                     "moderators[1].name: must start with a letter or underscore"):
        assert any(expected in line for line in found), (expected, found)


@pytest.mark.parametrize("outcome, expected", [
    ({"name": "pain"}, "outcomes[0]: needs followups (wide data: label -> column) or column (long data)"),
    ({"name": "pain", "followups": {}}, "outcomes[0]: followups: at least one follow-up is needed"),
    ({"name": "pain", "followups": {"1": "a"}, "column": "a"}, "give followups (wide data) or column (long data), not both"),
    ({"name": "pain", "followups": {"1": "a"}, "range": [10, 0]}, "range: the lower bound must be below the upper bound"),
    ({"name": "pain", "followups": {"1": "a"}, "event": 1}, "event: only binary outcomes have an event value"),
])
def test_outcome_consistency(outcome, expected):
    found = problems(plan_dict(outcomes=[outcome]))
    assert any(expected in line for line in found), found


def test_long_and_wide_outcomes_must_match_the_layout():
    long_plan = plan_dict(data={**BASE_PLAN["data"], "time": "week"})
    assert any("data.time is set (long data), so give column: instead of followups:" in ln for ln in problems(long_plan))


def test_moderator_consistency():
    found = problems(plan_dict(moderators=[{"name": "f", "column": "frebaq", "type": "continuous", "reference": 3},
                                           {"name": "s", "column": "smoker", "type": "binary", "at": [1]}]))
    assert any("moderators[0]: reference: only binary and categorical moderators have a reference level" in ln for ln in found)
    assert any("moderators[1]: at: only continuous moderators" in ln for ln in found)


@pytest.mark.parametrize("text, expected", [
    ("data: [a, b\n", "not valid YAML at line 2, column 1"),
    ("", "is empty; expected a mapping"),
    ("# only a comment\n", "is empty; expected a mapping"),
    ("just text\n", "the top level is the str 'just text', expected a mapping"),
    ("- a\n", "the top level is a list, expected a mapping"),
    ("data: {id: x\n", "not valid YAML"),
])
def test_plan_file_problems(tmp_path, text, expected):
    path = tmp_path / "plan.yaml"
    path.write_text(text, encoding="utf-8")
    found = problems(path)
    assert len(found) == 1 and expected in found[0], found


def test_self_referencing_yaml_is_a_plan_error(tmp_path):
    path = tmp_path / "plan.yaml"
    path.write_text("data: &x {id: *x}\nouter: &y [*y]\n", encoding="utf-8")
    found = problems(path)
    assert len(found) == 1 and "an alias refers to the value that contains it (line" in found[0], found


def test_plan_file_with_byte_order_mark(tmp_path):
    import yaml

    path = tmp_path / "plan.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + yaml.safe_dump(plan_dict()).encode())
    assert load_plan(path).data.id == "pid"


def test_plan_must_be_a_path_a_mapping_or_a_plan():
    assert problems(42) == ["plan: expected a Plan, a mapping or the path of a YAML file, got int"]


def test_salvage_keeps_the_usable_parts():
    raw = plan_dict(analysis={"modle": "linear", "ci_level": 7, "se": "HC3"})
    raw["moderators"].append({"name": "fear", "column": "tsk", "type": "numeric"})
    raw["moderators"][0]["hypothesised_direction"] = "down"
    plan, dropped = salvage_plan(raw)
    assert [m.name for m in plan.moderators] == ["frebaq", "smoker"]          # invalid optional key dropped
    assert plan.analysis.se == "HC3" and plan.analysis.ci_level == 0.95       # bad value back to its default
    assert dropped == [("moderators[2].column", "tsk")]


def test_salvage_without_a_usable_data_section_still_names_columns():
    raw = plan_dict(data={"id": "pid", "treatment": ["arm"]})
    plan, dropped = salvage_plan(raw)
    assert plan is None
    assert ("data.id", "pid") in dropped and ("outcomes[0].followups['12']", "pain_12") in dropped
    assert ("moderators[1].column", "smoker") in dropped and ("covariates[1]", "sex") in dropped


@pytest.mark.parametrize("raw", [None, [], "plan", 3])
def test_salvage_of_something_else(raw):
    assert salvage_plan(raw) == (None, [])


def test_a_key_given_twice_is_refused(tmp_path):
    plan = tmp_path / "plan.yaml"
    plan.write_text("data: {id: a, treatment: b, treated: 1}\nanalysis:\n  multiplicity: holm\n  multiplicity: none\n")
    with pytest.raises(PlanError, match="'multiplicity' is given twice"):
        load_plan(plan)
