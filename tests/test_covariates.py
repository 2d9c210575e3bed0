"""Covariates in the mapping form (CONTRACT §6.1): {column: X, type: categorical} enters numeric
codes (site 1-5) as k-1 indicators, as R's factor(X); plain names keep entering as they are."""
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import effectmod as em
from compare import mismatches
from effectmod.cli import main
from effectmod.errors import DataError, PlanError

CASE = Path(__file__).parent / "reference" / "covariate_codes"
KEY = ["outcome", "timepoint", "moderator"]


def _plan(name: str) -> dict:
    return yaml.safe_load((CASE / name).read_text(encoding="utf-8"))


def _data(name: str = "data.csv") -> pd.DataFrame:
    return pd.read_csv(CASE / name if name == "data.csv" else CASE.parent / name)


def _close(a, b, tol=1e-9):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return np.all(np.abs(a - b) <= tol * np.maximum(1.0, np.abs(b)))


# ----------------------------------------------------------------------------- against R
@pytest.mark.parametrize("case, plan, data", [
    ("linear", "plan_linear.yaml", "data.csv"),
    ("hc3", "plan_hc3.yaml", "data.csv"),
    ("logistic", "plan_logistic.yaml", "colon_logistic/data.csv"),
    ("mixed", "plan_mixed.yaml", "data.csv"),
])
def test_categorical_covariate_agrees_with_r_factor(case, plan, data):
    """lm/glm/lmer(y ~ treat*mod + baseline + factor(site)) in tests/reference/covariate_codes/ref.R:
    exact fits to 1e-9 relative; mixed models to the project's optimiser tolerance (tests/compare.py)."""
    ref = pd.read_csv(CASE / "reference.csv", dtype={"timepoint": str}, keep_default_na=False)
    ref = ref[ref["case"] == case]
    assert len(ref) > 0
    res = em.analyze(_data(data), _plan(plan)).table
    merged = ref.merge(res, on=KEY, suffixes=("_r", ""))
    assert len(merged) == len(ref) == len(res)
    assert (merged["n"] == merged["n_r"]).all()
    if case == "mixed":
        assert mismatches(res, ref.assign(ci_low=np.nan, ci_high=np.nan)) == []
        return
    for col in ("estimate", "std_error", "p_value"):
        assert _close(merged[col], merged[f"{col}_r"]), (col, merged[[*KEY, col, f"{col}_r"]])


def test_numeric_site_entered_linearly_differs_from_the_factor():
    """The point of the mapping form: a plain name keeps one linear term (and other numbers)."""
    ref = pd.read_csv(CASE / "reference.csv", dtype={"timepoint": str}, keep_default_na=False)
    plan = _plan("plan_linear.yaml")
    plan["covariates"] = ["site"]
    res = em.analyze(_data(), plan)
    merged = ref[ref["case"] == "linear"].merge(res.table, on=KEY, suffixes=("_r", ""))
    assert not np.allclose(merged["estimate"], merged["estimate_r"], rtol=1e-6)
    assert [n for n in res.fitted[0].design.names if n.startswith("cov[")] == ["cov[site]"]


# ----------------------------------------------------------------------------- every model type
def _with_dummies(frame: pd.DataFrame, column: str, reference) -> tuple[pd.DataFrame, list[str]]:
    out = frame.copy()
    levels = sorted(out[column].dropna().unique())
    names = []
    for lv in levels:
        if lv == reference:
            continue
        name = f"{column}_is_{int(lv)}"
        out[name] = np.where(out[column].isna(), np.nan, (out[column] == lv).astype(float))
        names.append(name)
    return out, names


@pytest.mark.parametrize("analysis", [
    {"model": "mixed"},
    {"se": "HC3", "bootstrap": 40},
])
def test_categorical_covariate_equals_its_indicator_columns(analysis):
    """Mixed, HC3 and bootstrap: the factor gives exactly the fit of its k-1 indicator columns."""
    frame = _data()
    plan = _plan("plan_linear.yaml")
    plan["analysis"].update(analysis)
    plan["covariates"] = [{"column": "site", "type": "categorical", "reference": 3}]
    factor = em.analyze(frame, plan).table
    dummies, names = _with_dummies(frame, "site", 3)
    plan["covariates"] = names
    plain = em.analyze(dummies, plan).table
    assert len(factor) == len(plain) > 0
    for col in ("estimate", "std_error", "p_value", "boot_ci_low", "boot_ci_high"):
        if col in plain:
            assert _close(factor[col], plain[col]), col


def test_logistic_reference_level_is_honoured():
    plan = _plan("plan_logistic.yaml")
    res = em.analyze(_data("colon_logistic/data.csv"), plan)
    names = [n for n in res.fitted[0].design.names if n.startswith("cov[")]
    assert names == ["cov[extent=2]", "cov[extent=3]", "cov[extent=4]", "cov[differ=1]", "cov[differ=3]", "cov[nodes]"]


def test_power_from_pilot_data_carries_the_indicators():
    from effectmod.power import pilot_source
    plan = _plan("plan_linear.yaml")
    source = pilot_source(_data(), plan)
    model = next(m for m in source.models if m.moderator == "drug")
    assert model.rows.shape[1] == 2 + 1 + 1 + 4 + 1     # intercept, treat, mod, baseline, 4 sites, treat:mod


# ----------------------------------------------------------------------------- imputation
def test_categorical_covariate_is_imputed_as_categorical():
    from effectmod.data.inputs import load_inputs
    from effectmod.inference.imputation import completed_datasets, imputation_frame
    frame = _data()
    frame.loc[frame["id"] % 9 == 0, "site"] = np.nan
    plan = _plan("plan_linear.yaml")
    plan["covariates"] = [{"column": "site", "type": "categorical", "reference": 2}]
    plan["analysis"]["imputations"] = 3
    plan_obj, _, trial = load_inputs(frame, plan)
    kinds = {v.name: v.kind for v in imputation_frame(trial, plan_obj).variables}
    assert kinds["covariate:site"] == "categorical"
    for done in completed_datasets(trial, plan_obj):
        imputed = done.loc[frame["site"].isna().to_numpy(), "site"]
        assert set(imputed.astype(str)) <= {"1", "2", "3", "4", "5"}
        assert not done["site"].isna().any()
    res = em.analyze(frame, plan)
    assert res.table["estimate"].notna().all()


# ----------------------------------------------------------------------------- plan and data checks
def test_plan_accepts_both_forms_and_echoes_them(tmp_path, no_figures):
    plan = _plan("plan_linear.yaml")
    plan["covariates"] = ["bdi.pre", {"column": "site", "type": "categorical"}]
    plan["moderators"] = plan["moderators"][:2]
    p = em.load_plan(plan)
    assert p.covariate_columns() == ["bdi.pre", "site"]
    res = em.analyze(_data(), p)
    res.write(tmp_path / "out", force=True)
    echoed = json.loads((tmp_path / "out" / "results.json").read_text())["plan"]["covariates"]
    assert echoed == ["bdi.pre", {"column": "site", "type": "categorical", "reference": None}]


@pytest.mark.parametrize("entry, message", [
    ({"column": "site", "type": "factor"}, "covariates[0].type: 'factor' is not allowed; expected 'categorical', 'continuous' or 'numeric'"),
    ({"column": "site", "type": "continuous", "reference": 1}, "covariates[0]: reference: only categorical covariates have a reference level"),
    ({"type": "categorical"}, "covariates[0].column: required key is missing"),
    ({"column": "site", "type": "categorical", "levels": 5}, "covariates[0].levels: unknown key. Allowed here: column, reference, type"),
    ({"column": "drug", "type": "categorical"}, "covariates[0]: 'drug' is also moderators[0].column"),
])
def test_bad_mapping_forms_are_named(entry, message):
    plan = _plan("plan_linear.yaml")
    plan["covariates"] = [entry]
    with pytest.raises(PlanError) as exc:
        em.load_plan(plan)
    assert message in str(exc.value)


@pytest.mark.parametrize("entry, frame_change, message", [
    ({"column": "site", "type": "categorical", "reference": 9}, None,
     "covariates[0].reference: 9 is not a level of column 'site'; levels: '1', '2', '3', '4', '5'"),
    ({"column": "site", "type": "categorical"}, lambda f: f.assign(site=1),
     "column 'site' (plan: covariates[0].column): a categorical covariate needs at least two levels"),
    ({"column": "code", "type": "categorical"}, lambda f: f.assign(code=np.arange(len(f))),
     "column 'code' (plan: covariates[0].column): declared categorical but has 100 levels for 100 participants"),
    ({"column": "length", "type": "continuous"}, None,
     "column 'length' (plan: covariates[0].column): expected numbers, found text"),
    ({"column": "nosuch", "type": "categorical"}, None,
     "column 'nosuch' (plan: covariates[0].column) is not in the data"),
])
def test_bad_covariate_data_is_named(entry, frame_change, message):
    frame = _data()
    if frame_change is not None:
        frame = frame_change(frame)
    plan = _plan("plan_linear.yaml")
    plan["moderators"] = [m for m in plan["moderators"] if m["column"] != entry["column"]]
    plan["covariates"] = [entry]
    with pytest.raises(DataError) as exc:
        em.analyze(frame, plan)
    assert message in str(exc.value)


def test_text_covariate_in_mapping_form_gives_the_plain_name_result():
    plan = _plan("plan_linear.yaml")
    plan["moderators"] = [m for m in plan["moderators"] if m["column"] != "length"]
    plan["covariates"] = ["length"]
    plain = em.analyze(_data(), plan).table
    plan["covariates"] = [{"column": "length", "type": "categorical"}]
    mapped = em.analyze(_data(), plan).table
    assert _close(plain["estimate"], mapped["estimate"]) and _close(plain["std_error"], mapped["std_error"])


# ----------------------------------------------------------------------------- report
def test_report_names_the_factor_and_counts_it_in_table1():
    from effectmod.report.paragraph import methods_text
    from effectmod.report.tables import table1
    frame = _data()
    frame["site"] = (frame["id"] * 5) % 8 + 1      # 8 codes: a plain name would be summarised as a mean
    plan = _plan("plan_linear.yaml")
    plan["covariates"] = ["site"]
    plain = table1(em.analyze(frame, plan))["Characteristic"].tolist()
    assert "site, mean (SD)" in plain
    plan["covariates"] = [{"column": "site", "type": "categorical", "reference": 2}]
    res = em.analyze(frame, plan)
    rows = table1(res)["Characteristic"].tolist()
    assert "site, n (%)" in rows and rows[rows.index("site, n (%)") + 1].strip() == "1"
    text = " ".join(methods_text(res))
    assert "the covariates site (categorical: 7 indicators, reference level 2)" in text


# ----------------------------------------------------------------------------- validate and init
def test_validate_warns_about_undeclared_integer_codes(tmp_path, capsys):
    plan = _plan("plan_linear.yaml")
    plan["covariates"] = ["site"]
    (tmp_path / "plan.yaml").write_text(yaml.safe_dump(plan, sort_keys=False))
    assert main(["validate", str(CASE / "data.csv"), "--plan", str(tmp_path / "plan.yaml")]) == 0
    out = capsys.readouterr().out
    assert ("warning: covariates[0]: 'site' holds 5 whole-number codes (1, 2, 3, 4, 5) and enters every model as one "
            "linear term; if they are categories (site, stratum), write {column: site, type: categorical}") in out
    plan["covariates"] = [{"column": "site", "type": "categorical"}]
    (tmp_path / "plan.yaml").write_text(yaml.safe_dump(plan, sort_keys=False))
    assert main(["validate", str(CASE / "data.csv"), "--plan", str(tmp_path / "plan.yaml")]) == 0
    assert "covariates[0]" not in capsys.readouterr().out


@pytest.mark.parametrize("values, flagged", [
    ([1, 2, 3, 4, 5], True), ([0, 1], False), ([1, 2], False), (list(range(1, 14)), False),
    ([1.5, 2, 3], False), (list(range(1, 13)), True),
])
def test_which_numeric_columns_look_like_codes(values, flagged):
    from effectmod.data.coding import few_integer_codes
    x = np.array(values * 3, dtype=float)
    assert (few_integer_codes(x) is not None) == flagged


def test_init_drafts_a_site_code_as_a_categorical_covariate(tmp_path, capsys):
    (tmp_path / "d.csv").write_text(_data().to_csv(index=False))
    assert main(["init", str(tmp_path / "d.csv")]) == 0
    draft = capsys.readouterr().out
    line = next(ln for ln in draft.splitlines() if "column: site" in ln)
    assert line.startswith("  - {column: site, type: categorical}   # CONFIRM: 5 numeric codes")
    assert "column: site\n" not in draft          # not also drafted as a moderator
    (tmp_path / "plan.yaml").write_text(draft)
    assert main(["validate", str(tmp_path / "d.csv"), "--plan", str(tmp_path / "plan.yaml")]) == 0
    assert em.load_plan(tmp_path / "plan.yaml").covariates[0].type == "categorical"


def test_long_data_takes_the_mapping_form_too():
    frame = _data()
    long = pd.concat([frame[["id", "treatment", "drug", "site"]].assign(month=t, bdi=frame[c])
                      for t, c in (("0", "bdi.pre"), ("2", "bdi.2m"), ("4", "bdi.4m"))])
    plan = {"data": {"id": "id", "treatment": "treatment", "treated": "BtheB", "control": "TAU", "time": "month"},
            "outcomes": [{"name": "bdi", "column": "bdi", "baseline": 0}],
            "moderators": [{"name": "drug", "column": "drug", "type": "binary", "reference": "No"}],
            "covariates": [{"column": "site", "type": "categorical"}]}
    res = em.analyze(long, plan).table
    ref = pd.read_csv(CASE / "reference.csv", dtype={"timepoint": str}, keep_default_na=False)
    merged = ref[ref["case"] == "linear"].merge(res, on=KEY, suffixes=("_r", ""))
    assert len(merged) == 2 and _close(merged["estimate"], merged["estimate_r"])
