"""Results sentences and `moderators[].per` (CONTRACT §6.1): a continuous moderator's interaction
reported per k units (estimate, SE, CI and bootstrap bounds x k, P unchanged, k in a `per` column),
binary outcomes reported as ratios of odds ratios, and "no evidence that X modified" wording."""
from __future__ import annotations

import dataclasses
import functools
import math
import re

import numpy as np
import pandas as pd
import pytest

import effectmod as em
from effectmod.errors import PlanError
from effectmod.plan import validate_plan
from effectmod.report import paragraph, tables
from effectmod.report.docx import read_docx_tables
from effectmod.report.sentences import interval, number, p_text
from effectmod.simulation import simulate

SCALED = ("estimate", "std_error", "ci_low", "ci_high", "boot_ci_low", "boot_ci_high")
UNCHANGED = ("p_value", "p_adjusted", "n", "tier", "estimate_per_sd", "ci_low_per_sd", "ci_high_per_sd", "moderator_sd")


@functools.lru_cache(maxsize=None)
def _trial():
    data = simulate("resolve", n=120, seed=5).data.copy()
    data["severe_52"] = np.where(data["pain_52"].isna(), np.nan, (data["pain_52"] >= 6).astype(float))
    return data


def _plan(per=None, units=None, **analysis) -> dict:
    age = {"name": "age", "column": "age", "type": "continuous", "label": "Age"}
    if per is not None:
        age["per"] = per
    if units is not None:
        age["units"] = units
    return {
        "data": {"id": "participant_id", "treatment": "group", "treated": "sensorimotor", "control": "sham"},
        "outcomes": [{"name": "pain", "label": "Pain", "baseline": "pain_0", "followups": {"52": "pain_52"}},
                     {"name": "severe", "label": "Severe pain", "type": "binary", "followups": {"52": "severe_52"}}],
        "moderators": [age,
                       {"name": "tsk", "column": "tsk", "type": "continuous", "label": "Kinesiophobia"},
                       {"name": "med", "column": "psychoactive_med", "type": "binary", "reference": "no",
                        "label": "Psychoactive medication"}],
        "analysis": {"multiplicity": "holm", "seed": 3, **analysis},
    }


@functools.lru_cache(maxsize=None)
def _pair(**analysis):
    """(per unset, per: 10 with units 'years') on the same data."""
    data = _trial()
    return (em.analyze(data, validate_plan(_plan(**analysis), origin="plan")),
            em.analyze(data, validate_plan(_plan(per=10, units="years", **analysis), origin="plan")))


def _csv(results, folder) -> pd.DataFrame:
    from effectmod.writing import write_csv
    write_csv(results.table, folder / "results.csv")
    return pd.read_csv(folder / "results.csv", keep_default_na=False, dtype={"timepoint": str})


def _num(s: pd.Series) -> np.ndarray:
    return pd.to_numeric(s.replace("", np.nan)).to_numpy(dtype=float)


def test_per_10_gives_exactly_10_times_the_interaction_and_the_same_p(tmp_path):
    unit, per10 = _pair(bootstrap=8)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a, b = _csv(unit, tmp_path / "a"), _csv(per10, tmp_path / "b")
    assert "per" not in a.columns                        # a plan without per writes the same files as before
    assert list(b.columns) == list(a.columns) + ["per"]  # the per column comes after every other one
    age = (b["moderator"] == "age").to_numpy()
    assert age.sum() == 2                                # pain (linear) and severe (logistic)
    for col in SCALED:
        assert np.array_equal(_num(b[col])[age], _num(a[col])[age] * 10, equal_nan=True), col
        assert np.array_equal(_num(b[col])[~age], _num(a[col])[~age], equal_nan=True), col
        assert np.isfinite(_num(b[col])[age]).all(), col
    for col in UNCHANGED:
        assert b[col].equals(a[col]), col
    # k on the rows of continuous moderators (1 where unset), empty on binary ones (they compare levels)
    assert dict(zip(b["moderator"], b["per"])) == {"age": "10.0", "tsk": "1.0", "med": ""}
    # the credibility section repeats the interaction: per 10 years too
    cu, cp = unit.sections["credibility"], per10.sections["credibility"]
    if len(cu):
        factor = np.where(cp["moderator"] == "age", 10.0, 1.0)
        assert np.array_equal(cp["estimate"].to_numpy(dtype=float), cu["estimate"].to_numpy(dtype=float) * factor)
    # conditional effects and Johnson-Neyman regions stay in the moderator's own units
    for name in ("conditional_effects", "johnson_neyman"):
        pd.testing.assert_frame_equal(per10.sections[name], unit.sections[name])


def test_the_sentence_and_tables_say_per_10_years():
    unit, per10 = _pair(bootstrap=8)

    def claimed(res):   # every row an evidence finding, so that each gets its sentence
        return dataclasses.replace(res, table=res.table.assign(tier="evidence"))

    text = " ".join(paragraph.results_paragraph(claimed(per10)))
    r = per10.table[(per10.table["moderator"] == "age") & (per10.table["model"] == "linear")].iloc[0]
    u = unit.table[(unit.table["moderator"] == "age") & (unit.table["model"] == "linear")].iloc[0]
    assert f"β-coefficient per 10 years = {number(10 * u.estimate)} [95% CI, {interval(10 * u.ci_low, 10 * u.ci_high)}]; " \
           f"{p_text(u.p_value)}" in text
    assert number(r.estimate) == number(10 * u.estimate)
    assert "ratio of odds ratios per 10 years = " in text
    assert "per 10 years" not in " ".join(paragraph.results_paragraph(claimed(unit)))
    assert "except age per 10 years" in paragraph.methods_text(per10)[0]
    jt = tables.jama_table(per10)
    assert ("Age, per 10 years", "") in jt.rows and ("Kinesiophobia", "") in jt.rows
    assert any(row["moderator"] == "Age, per 10 years" for g in tables.grouped_results(per10) for row in g["rows"])


def test_per_scales_multiply_imputed_pooled_rows():
    unit, per10 = _pair(imputations=2)
    age_u = unit.table[unit.table["moderator"] == "age"]
    age_p = per10.table[per10.table["moderator"] == "age"]
    for col in ("estimate", "std_error", "ci_low", "ci_high"):
        assert np.array_equal(age_p[col].to_numpy(dtype=float), age_u[col].to_numpy(dtype=float) * 10), col
    assert age_p["p_value"].equals(age_u["p_value"])


@pytest.mark.parametrize("moderator, per", [
    ({"name": "med", "column": "psychoactive_med", "type": "binary"}, 10),
    ({"name": "med", "column": "psychoactive_med", "type": "categorical"}, 1),
])
def test_per_is_refused_on_binary_and_categorical_moderators(moderator, per):
    plan = _plan()
    plan["moderators"][2] = {**moderator, "per": per}
    with pytest.raises(PlanError) as err:
        validate_plan(plan, origin="plan.yaml")
    assert "moderators[2]: per: only continuous moderators are reported per k units" in str(err.value)


@pytest.mark.parametrize("per", [0, -10, "ten", float("inf")])
def test_per_must_be_a_positive_number(per):
    with pytest.raises(PlanError) as err:
        validate_plan(_plan(per=per), origin="plan.yaml")
    assert "moderators[0].per" in str(err.value)


def test_binary_outcomes_are_reported_as_ratios_of_odds_ratios(tmp_path, no_figures):
    unit, _ = _pair(bootstrap=8)
    claimed = dataclasses.replace(unit, table=unit.table.assign(tier="evidence"))
    text = " ".join(paragraph.results_paragraph(claimed))
    for r in unit.table[unit.table["model"] == "logistic"].itertuples():
        assert (f"ratio of odds ratios = {number(math.exp(r.estimate))} [95% CI, "
                f"{interval(math.exp(r.ci_low), math.exp(r.ci_high))}]; {p_text(r.p_value)}") in text
    assert "log odds ratio" not in text
    # the all-tests table leads a logistic row with its ratio of odds ratios, bootstrap bounds too
    rows = [row for g in tables.grouped_results(unit) for row in g["rows"] if row["model"] == "logistic"]
    lr = unit.table[unit.table["model"] == "logistic"].iloc[0]
    assert rows[0]["estimate"] == tables.odds_ratio_ci(lr.estimate, lr.ci_low, lr.ci_high)
    assert rows[0]["log_scale"] == tables.estimate_ci(lr.estimate, lr.ci_low, lr.ci_high)
    assert rows[0]["boot"] == f"{number(math.exp(lr.boot_ci_low))}-{number(math.exp(lr.boot_ci_high))}" \
        or " to " in rows[0]["boot"]
    folder = unit.write(tmp_path / "out")
    html = (folder / "report.html").read_text(encoding="utf-8")
    assert "OR " + tables.odds_ratio_ci(lr.estimate, lr.ci_low, lr.ci_high) not in html
    assert "ratio of ORs " + tables.odds_ratio_ci(lr.estimate, lr.ci_low, lr.ci_high) in html
    # no log odds ratio printed as an odds ratio: an 'OR x' is an average effect's exponentiated estimate
    assert not re.search(r"(log-odds|OR) [-\u2212]\d", html)
    ate = unit.sections["average_effects"]
    expected = {number(math.exp(e)) for e in ate.loc[ate["model"] == "logistic", "estimate"]}
    assert expected and set(re.findall(r"\bOR (\d+\.\d+) \(", html)) == expected
    t2 = read_docx_tables(folder / "tables.docx")[1]
    assert "Ratio of ORs (95% CI)" in t2[2]


def test_a_moderator_without_claims_has_no_evidence_of_modifying():
    unit, _ = _pair()
    quiet = dataclasses.replace(unit, table=unit.table.assign(tier="none"))
    text = " ".join(paragraph.results_paragraph(quiet))
    assert "did not modify" not in text
    assert "There was no evidence that age, kinesiophobia, and psychoactive medication modified the treatment effect" in text



def test_per_scales_the_sections_that_repeat_the_interaction():
    """Credibility claims and the other imputation method's pooled estimates are per k units too."""
    from effectmod.results_table import per_units as _per_units
    plan = validate_plan(_plan(per=10, imputations=2), origin="plan")
    table = pd.DataFrame({"moderator": ["age", "med"], "estimate": [0.5, 0.5], "std_error": [0.1, 0.1],
                          "ci_low": [0.3, 0.3], "ci_high": [0.7, 0.7], "p_value": [0.01, 0.01]})
    sections = {"credibility": pd.DataFrame({"moderator": ["age", "tsk"], "estimate": [0.5, 0.5]}),
                "imputation_sensitivity": pd.DataFrame({"moderator": ["age"], "estimate": [0.2], "ci_low": [0.1],
                                                        "ci_high": [0.3], "estimate_norm": [0.25], "p_value": [0.2]})}
    out = _per_units(table, plan, sections)
    assert list(out["estimate"]) == [5.0, 0.5] and list(out["p_value"]) == [0.01, 0.01]
    assert list(sections["credibility"]["estimate"]) == [5.0, 0.5]
    sens = sections["imputation_sensitivity"].iloc[0]
    assert (sens["estimate"], sens["ci_low"], sens["ci_high"], sens["estimate_norm"], sens["p_value"]) == (2.0, 1.0, 3.0, 2.5, 0.2)
