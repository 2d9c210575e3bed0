"""Binary outcomes end to end: R glm references through ``effectmod.analyze`` and the CLI,
the additive scale, separation handling per ``binary_method``, responder outcomes derived in
the plan, categorical moderators in linear models, and the mixed + binary refusal."""
from __future__ import annotations

import csv
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import yaml
from scipy import special, stats

import effectmod as em
from effectmod.errors import PlanError

REF = Path(__file__).parent / "reference"

# The acceptance tolerances of the validation check (check.py), copied: linear and logistic
# rows must agree with R to 1e-6 relative (the fits converge to 1e-10), p to 1e-6 absolute;
# CI bounds near zero get an absolute floor of 1e-6 x the reference SE.
REL = 1e-6
P_ABS = 1e-6
ABS_FLOOR = 1e-9
# Direct recomputations (statsmodels fits, finite differences) agree with effectmod up to the
# two fits' convergence (~1e-8 relative) and the finite-difference error (~1e-7).
DIRECT_REL = 1e-6
FD_REL = 1e-5


def _key(row) -> tuple:
    def lab(v):
        s = "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v).strip()
        try:
            f = float(s)
            return str(int(f)) if f == int(f) else repr(f)
        except ValueError:
            return s
    return tuple(lab(row[k]) for k in ("outcome", "timepoint", "moderator", "term"))


def _num(v):
    if v is None or (isinstance(v, str) and v.strip() == ""):
        return None
    f = float(v)
    return None if math.isnan(f) else f


def assert_rows_agree(reference: Path, got: list[dict]) -> int:
    """Every reference row has a result row agreeing at the linear/logistic tolerances."""
    with open(reference, newline="") as fh:
        ref = list(csv.DictReader(fh))
    by_key = {_key(r): r for r in got}
    for r in ref:
        g = by_key[_key(r)]
        joint = r["term"] == "joint"
        fields = ("p_value",) if joint else ("estimate", "std_error", "ci_low", "ci_high", "p_value")
        se = _num(r["std_error"]) or 0.0
        for f in fields:
            want, have = _num(r[f]), _num(g[f])
            if want is None:
                continue
            if f == "p_value":
                allowed = P_ABS
            elif f in ("ci_low", "ci_high"):
                allowed = max(REL * abs(want), REL * abs(se), ABS_FLOOR)
            else:
                allowed = max(REL * abs(want), ABS_FLOOR)
            assert have is not None and abs(have - want) <= allowed, (_key(r), f, have, want)
        if not joint:
            assert int(float(g["n"])) == int(r["n"]), (_key(r), g["n"], r["n"])
        assert g["model"] == r["model"]
        if r["tier"] and not joint:
            assert g["tier"] == r["tier"]
    return len(ref)


def _records(table: pd.DataFrame) -> list[dict]:
    return table.to_dict(orient="records")


# ----------------------------------------------------------------------------- references
def test_respiratory_matches_r_glm_text_outcome_and_binary_baseline():
    # text outcome (event: good) and its text baseline coded like the outcome (1 = good)
    case = REF / "respiratory_logistic"
    res = em.analyze(case / "data.csv", case / "plan.yaml")
    assert assert_rows_agree(case / "reference.csv", _records(res.table)) == 8
    d = res.fitted[0].design
    raw = pd.read_csv(case / "data.csv")["status.0"].to_numpy()
    assert np.array_equal(d.X[:, d.index("baseline")], (raw[d.rows] == "good").astype(float))


def test_colon_matches_r_glm_through_the_cli(tmp_path, monkeypatch, capsys, no_figures):
    # the command line in-process (a subprocess would spend seconds importing)
    from effectmod.cli import main

    case = REF / "colon_logistic"
    out = tmp_path / "out"
    monkeypatch.chdir(case)
    code = main(["analyze", "data.csv", "--plan", "plan.yaml", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    with open(out / "results.csv", newline="") as fh:
        got = list(csv.DictReader(fh))
    assert assert_rows_agree(case / "reference.csv", got) == 10
    header = list(got[0])
    contract = ["outcome", "timepoint", "moderator", "term", "model", "estimate", "std_error", "ci_low",
                "ci_high", "p_value", "p_adjusted", "n", "tier"]
    assert header[:13] == contract
    rd = ["rd_estimate", "rd_std_error", "rd_ci_low", "rd_ci_high", "rd_p_value"]
    assert all(c in header[13:] for c in rd)
    assert (out / "additive_scale.csv").exists()
    joint = [r for r in got if r["term"] == "joint"]
    assert joint and all(r["rd_estimate"] == "" for r in joint)
    assert all(r["rd_estimate"] != "" for r in got if r["term"] != "joint")


# ----------------------------------------------------------------------------- additive scale
@pytest.fixture(scope="module")
def colon():
    case = REF / "colon_logistic"
    res = em.analyze(case / "data.csv", case / "plan.yaml")
    return res, pd.read_csv(case / "data.csv")


def _colon_frame(data: pd.DataFrame, column: str) -> pd.DataFrame:
    d = data[data.rx.isin(["Lev+5FU", "Obs"])].copy()
    d["t"] = (d.rx == "Lev+5FU").astype(float)
    return d.dropna(subset=[column, "status"])


def _standardised_rd(b, X, set_cols) -> float:
    """mean_i expit(x_i'b) differences, X with columns set by set_cols(X, t) for t = 1, 0."""
    return float(np.mean(special.expit(set_cols(X.copy(), 1.0) @ b) - special.expit(set_cols(X.copy(), 0.0) @ b)))


def _row(res, moderator, term=""):
    t = res.table
    return t[(t.moderator == moderator) & (t.term == term)].iloc[0]


def test_additive_binary_moderator_equals_direct_risks(colon):
    res, data = colon
    d = _colon_frame(data, "sex")
    X = np.column_stack([np.ones(len(d)), d.t, d.sex, d.t * d.sex])
    fit = sm.GLM(d.status.to_numpy(float), X, family=sm.families.Binomial()).fit(tol=1e-12)
    # the model is saturated, so the standardised risks are the arm x sex proportions
    p = d.groupby(["t", "sex"]).status.mean()
    direct = (p[1.0, 1] - p[0.0, 1]) - (p[1.0, 0] - p[0.0, 0])
    row = _row(res, "sex")
    assert row.rd_estimate == pytest.approx(direct, rel=DIRECT_REL)

    def drd(b):
        def at(m):
            return _standardised_rd(b, X, lambda Z, t: _set(Z, t, m))
        return at(1.0) - at(0.0)

    def _set(Z, t, m):
        Z[:, 1], Z[:, 2], Z[:, 3] = t, m, t * m
        return Z
    g = _gradient(drd, fit.params)
    se = math.sqrt(g @ fit.cov_params() @ g)
    assert row.rd_std_error == pytest.approx(se, rel=FD_REL)
    z = stats.norm.ppf(0.975)
    assert row.rd_ci_low == pytest.approx(row.rd_estimate - z * row.rd_std_error, rel=1e-12)
    assert row.rd_p_value == pytest.approx(2 * stats.norm.sf(abs(row.rd_estimate / row.rd_std_error)), rel=1e-12)
    sec = res.sections["additive_scale"]
    risks = sec[(sec.moderator == "sex") & (sec.quantity == "risk")].set_index(["arm", "level"]).estimate
    assert risks["treated", "1"] == pytest.approx(p[1.0, 1], rel=DIRECT_REL)
    assert risks["control", "0"] == pytest.approx(p[0.0, 0], rel=DIRECT_REL)
    rd1 = sec[(sec.moderator == "sex") & (sec.quantity == "risk_difference") & (sec.level == "1")].estimate.iloc[0]
    assert rd1 == pytest.approx(p[1.0, 1] - p[0.0, 1], rel=DIRECT_REL)


def _gradient(f, b, h=1e-6):
    b = np.asarray(b, dtype=float)
    return np.array([(f(b + h * e) - f(b - h * e)) / (2 * h) for e in np.eye(b.size)])


def test_additive_continuous_moderator_is_the_slope_at_the_mean(colon):
    res, data = colon
    d = _colon_frame(data, "age")
    X = np.column_stack([np.ones(len(d)), d.t, d.age, d.t * d.age])
    b = sm.GLM(d.status.to_numpy(float), X, family=sm.families.Binomial()).fit(tol=1e-12).params
    m0 = d.age.mean()

    def rd(m):
        def setter(Z, t):
            Z[:, 1], Z[:, 2], Z[:, 3] = t, m, t * m
            return Z
        return _standardised_rd(b, X, setter)
    h = 1e-3
    slope = (rd(m0 + h) - rd(m0 - h)) / (2 * h)
    assert _row(res, "age").rd_estimate == pytest.approx(slope, rel=FD_REL)
    sec = res.sections["additive_scale"]
    assert sec[(sec.moderator == "age")].moderator_value.iloc[0] == pytest.approx(m0, rel=1e-12)


def test_additive_categorical_level_vs_reference(colon):
    res, data = colon
    d = _colon_frame(data, "extent")
    levels = [1, 2, 4]                     # reference 3 (plan)
    D = np.column_stack([(d.extent == lv).astype(float) for lv in levels])
    X = np.column_stack([np.ones(len(d)), d.t, D, d.t.to_numpy()[:, None] * D])
    b = sm.GLM(d.status.to_numpy(float), X, family=sm.families.Binomial()).fit(tol=1e-12).params

    def rd(j):
        def setter(Z, t):
            Z[:, 1] = t
            Z[:, 2:5] = 0.0
            Z[:, 5:8] = 0.0
            if j is not None:
                Z[:, 2 + j], Z[:, 5 + j] = 1.0, t
            return Z
        return _standardised_rd(b, X, setter)
    for j, lv in enumerate(levels):
        assert _row(res, "extent", str(lv)).rd_estimate == pytest.approx(rd(j) - rd(None), rel=DIRECT_REL)
    assert math.isnan(_row(res, "extent", "joint").rd_estimate)


def test_linear_only_plans_get_no_additive_columns():
    case = REF / "btheb_linear"
    res = em.analyze(case / "data.csv", case / "plan.yaml")
    assert not any(c.startswith("rd_") for c in res.table.columns)
    assert "additive_scale" not in res.sections


# ----------------------------------------------------------------------------- separation
@pytest.fixture(scope="module")
def respiratory_gender():
    """Month 3 x gender: every treated man had a good status (quasi-complete separation)."""
    case = REF / "respiratory_logistic"
    plan = yaml.safe_load((case / "plan.yaml").read_text())
    plan["moderators"] = [plan["moderators"][1], {"name": "gender", "column": "gender", "type": "binary",
                                                  "reference": "female"}]
    data = pd.read_csv(case / "data.csv")
    out = {}
    for method in ("ml", "firth", "firth_if_separated"):
        plan["analysis"]["binary_method"] = method
        out[method] = em.analyze(data, em.Plan.model_validate(plan)).table.set_index(["moderator", "timepoint"])
    return out


def test_ml_keeps_a_separated_row_and_says_it_is_unreliable(respiratory_gender):
    row = respiratory_gender["ml"].loc[("gender", "3")]
    assert row.note.startswith("separation: estimate unreliable; consider binary_method: firth")
    assert "only events among treatment participants with gender = male" in row.note
    assert abs(row.estimate) > 10 and row.std_error > 100        # the diverging ML numbers, as glm gives them
    assert row.p_value > 0.9 and row.tier == "none"               # tiered from the ML p: never "evidence"
    assert respiratory_gender["ml"].loc[("gender", "1")].note == ""


def test_firth_everywhere_and_firth_if_separated_only_where_needed(respiratory_gender):
    ml, firth, auto = (respiratory_gender[k] for k in ("ml", "firth", "firth_if_separated"))
    sep = ("gender", "3")
    assert abs(firth.loc[sep].estimate) < 10 and firth.loc[sep].std_error < 5
    assert "shown: Firth's penalised-likelihood estimates" in firth.loc[sep].note
    assert auto.loc[sep].estimate == firth.loc[sep].estimate
    assert auto.loc[sep].note.startswith("separation: refitted with Firth's penalised likelihood")
    for key in ml.index:
        if key == sep:
            continue
        assert auto.loc[key].estimate == ml.loc[key].estimate
        # Firth shrinks every estimate a little, separated or not
        assert firth.loc[key].estimate != ml.loc[key].estimate
        assert abs(firth.loc[key].estimate - ml.loc[key].estimate) < 0.5 * ml.loc[key].std_error


@pytest.mark.parametrize("method", ["ml", "firth", "firth_if_separated"])
def test_a_fit_that_cannot_converge_blanks_its_rows_and_a_separated_one_is_kept(method, monkeypatch):
    """The engine's NotConverged becomes a not-estimable row whose note carries the engine's
    findings; a separated ML fit (or Firth's refit of it) is kept, with a ConvergenceWarning."""
    import effectmod.engines.logistic as logistic
    from effectmod.errors import ConvergenceWarning
    from effectmod.records import NOT_ESTIMABLE, SEPARATION_FIRTH, SEPARATION_KEPT

    real = logistic.fit_logistic
    monkeypatch.setattr(logistic, "fit_logistic", lambda *a, **k: real(*a, **{**k, "max_iter": 2}))
    case = REF / "respiratory_logistic"
    plan = yaml.safe_load((case / "plan.yaml").read_text())
    plan["moderators"] = [{"name": "gender", "column": "gender", "type": "binary", "reference": "female"}]
    plan["analysis"]["binary_method"] = method
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = em.analyze(pd.read_csv(case / "data.csv"), em.Plan.model_validate(plan))
    # kept unconverged (separated ML, or Firth's refit of it) is said; a blanked fit is not kept
    assert any(issubclass(w.category, ConvergenceWarning) for w in caught) == (method != "firth")
    for row, blank, kept, firth in zip(res.table.itertuples(), res.has_note(res.table, NOT_ESTIMABLE),
                                       res.has_note(res.table, SEPARATION_KEPT), res.has_note(res.table, SEPARATION_FIRTH)):
        separated = row.timepoint == "3" and method != "firth"
        assert blank == (not separated) and kept == (separated and method == "ml") and firth == (separated and method != "ml")
        if blank:
            assert row.tier == "not-estimable" and math.isnan(row.estimate)
            assert row.note.startswith("logistic fit did not converge (")
            assert f"{'Firth' if method == 'firth' else 'maximum-likelihood'} fit did not converge in 2 iterations" in row.note
        else:
            assert math.isfinite(row.estimate) and row.tier != "not-estimable"


# ----------------------------------------------------------------------------- responders
def _btheb_plan(**analysis) -> dict:
    plan = yaml.safe_load((REF / "btheb_linear" / "plan.yaml").read_text())
    plan["analysis"].update(analysis)
    return plan


def test_derived_responder_outcome_end_to_end():
    case = REF / "btheb_linear"
    plan = _btheb_plan()
    src = plan["outcomes"][0]
    plan["outcomes"].append({"name": "responder", "label": "50% BDI reduction", "type": "binary",
                             "derive": {"from": src["name"], "rule": "reduction_from_baseline_pct >= 50"}})
    plan["moderators"] = [m for m in plan["moderators"] if m["type"] != "continuous"][:1]
    res = em.analyze(case / "data.csv", em.Plan.model_validate(plan))
    data = pd.read_csv(case / "data.csv")
    arms = data[plan["data"]["treatment"]].astype(str).isin([str(plan["data"]["treated"]), str(plan["data"]["control"])])
    data = data[arms].reset_index(drop=True)
    mod = plan["moderators"][0]
    rows = res.table[res.table.outcome == "responder"]
    assert set(rows.model) == {"logistic"} and len(rows) == len(src["followups"])
    for label, col in src["followups"].items():
        base, y = data[src["baseline"]].to_numpy(float), data[col].to_numpy(float)
        ok = ~np.isnan(y) & ~np.isnan(base) & data[mod["column"]].notna().to_numpy()
        resp = (100 * (base - y) / base >= 50)[ok].astype(float)
        fm = next(f for f in res.fitted if f.spec.outcome == "responder" and f.spec.timepoint == label)
        assert fm.summary["events"] == int(resp.sum()) and fm.design.n == int(ok.sum())
        # the continuous baseline of the source outcome is the adjustment covariate
        assert np.array_equal(fm.design.X[:, fm.design.index("baseline")], base[ok])
        t = (data[plan["data"]["treatment"]].astype(str) == str(plan["data"]["treated"])).to_numpy(float)[ok]
        m = (data[mod["column"]].astype(str) != str(mod["reference"])).to_numpy(float)[ok]
        X = np.column_stack([np.ones(ok.sum()), t, m, base[ok], t * m])
        direct = sm.GLM(resp, X, family=sm.families.Binomial()).fit(tol=1e-12)
        row = rows[rows.timepoint == label].iloc[0]
        assert row.estimate == pytest.approx(direct.params[4], rel=DIRECT_REL)
        assert row.std_error == pytest.approx(direct.bse[4], rel=DIRECT_REL)


def test_a_malformed_responder_rule_is_refused_when_the_plan_is_loaded(tmp_path):
    plan = _btheb_plan()
    plan["outcomes"].append({"name": "responder", "type": "binary",
                             "derive": {"from": plan["outcomes"][0]["name"], "rule": "reduction_pct >= 50"}})
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump(plan))
    with pytest.raises(PlanError) as err:
        em.load_plan(path)
    assert "rule" in str(err.value) and "reduction_from_baseline_pct" in str(err.value)


@pytest.mark.parametrize("analysis, fix", [({"model": "mixed"}, "use analysis.model: linear"),
                                           ({"sensitivity": ["mixed"]}, "remove mixed from analysis.sensitivity")])
def test_mixed_model_of_a_binary_outcome_is_a_plan_error(analysis, fix):
    case = REF / "respiratory_logistic"
    plan = yaml.safe_load((case / "plan.yaml").read_text())
    plan["analysis"].update(analysis)
    with pytest.raises(PlanError, match="mixed models for binary outcomes are not offered") as err:
        em.analyze(case / "data.csv", plan)
    assert fix in str(err.value) and "outcomes[0]" in str(err.value)


# ----------------------------------------------------------------------------- categorical, linear
def test_categorical_moderator_in_a_linear_model_rows_and_joint_f():
    case = REF / "btheb_linear"
    plan = _btheb_plan()
    data = pd.read_csv(case / "data.csv")
    src = plan["outcomes"][0]
    q = np.quantile(data[src["baseline"]], [1 / 3, 2 / 3])
    data["tertile"] = np.where(data[src["baseline"]] <= q[0], "low", np.where(data[src["baseline"]] <= q[1], "mid", "high"))
    plan["moderators"] = [{"name": "tertile", "column": "tertile", "type": "categorical", "reference": "low"}]
    res = em.analyze(data, em.Plan.model_validate(plan))
    label, col = next(iter(src["followups"].items()))
    rows = res.table[res.table.timepoint == label].set_index("term")
    assert list(rows.index) == ["high", "mid", "joint"] and set(rows.model) == {"linear"}
    d = data[data[plan["data"]["treatment"]].astype(str).isin([str(plan["data"]["treated"]), str(plan["data"]["control"])])]
    d = d.dropna(subset=[col, src["baseline"]])
    t = (d[plan["data"]["treatment"]].astype(str) == str(plan["data"]["treated"])).to_numpy(float)
    D = np.column_stack([(d.tertile == lv).to_numpy(float) for lv in ("high", "mid")])
    base = d[src["baseline"]].to_numpy(float)
    full = sm.OLS(d[col].to_numpy(float), np.column_stack([np.ones(len(d)), t, D, base, t[:, None] * D])).fit()
    reduced = sm.OLS(d[col].to_numpy(float), np.column_stack([np.ones(len(d)), t, D, base])).fit()
    f, p, _ = full.compare_f_test(reduced)
    assert rows.loc["joint", "p_value"] == pytest.approx(p, rel=DIRECT_REL)
    assert rows.loc["high", "estimate"] == pytest.approx(full.params[5], rel=DIRECT_REL)
    assert rows.loc["mid", "std_error"] == pytest.approx(full.bse[6], rel=DIRECT_REL)
    assert math.isnan(rows.loc["joint", "estimate"])


def test_binary_baseline_coding_text_levels_and_numeric_scores():
    rng = np.random.default_rng(3)
    n = 80
    frame = pd.DataFrame({"id": range(n), "arm": np.tile(["a", "b"], n // 2), "m": rng.normal(size=n),
                          "base_text": rng.choice(["yes", "no"], n), "score": rng.integers(0, 25, n).astype(float),
                          "y_all": "yes", "y": rng.choice(["yes", "no"], n)})
    plan = {"data": {"id": "id", "treatment": "arm", "treated": "b", "control": "a"},
            "outcomes": [{"name": "only_events", "type": "binary", "event": "yes", "baseline": "base_text",
                          "followups": {"1": "y_all"}},
                         {"name": "with_score", "type": "binary", "event": "yes", "baseline": "score",
                          "followups": {"1": "y"}}],
            "moderators": [{"name": "m", "column": "m", "type": "continuous"}]}
    res = em.analyze(frame, plan)
    # a text baseline with a level the follow-ups lack is still coded like the outcome (no data error)
    first = res.table[res.table.outcome == "only_events"].iloc[0]
    assert first.tier == "not-estimable" and "only events" in first.note
    # a numeric score measured at baseline enters as numbers
    fm = next(f for f in res.fitted if f.spec.outcome == "with_score")
    assert np.array_equal(fm.design.X[:, fm.design.index("baseline")], frame.score.to_numpy()[fm.design.rows])
