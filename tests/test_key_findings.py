"""The average treatment effects (models without a moderator) and the report's key findings:
the numbers against statsmodels, the sentences for continuous and binary moderators, a plan
with no claims, and the block's place as the report's first section."""
from __future__ import annotations

import copy
import dataclasses
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

import effectmod as em
from effectmod.report.key_findings import NO_CLAIM, key_findings
from effectmod.report.sentences import interval, number
from effectmod.simulation import simulate
from report_cases import demo_results

# the engines and statsmodels solve the same least-squares problem: they agree to rounding
TOL = 1e-10
# an iterative fit stops at a relative change below 1e-10 (CONTRACT §3): ~1e-9 apart from statsmodels'
LOGIT_TOL = 1e-8


def _close(a, b, tol=TOL):
    assert abs(a - b) <= tol * max(1.0, abs(b)), (a, b)


def _demo():
    return simulate("resolve", n=276, seed=2024)


@pytest.mark.parametrize("se", ["classical", "HC3"])
def test_linear_average_effect_equals_statsmodels_ols(se):
    trial = _demo()
    plan = copy.deepcopy(trial.plan)
    plan["analysis"].update(se=se, sensitivity=[])
    plan["covariates"] = ["age"]
    plan["moderators"] = plan["moderators"][:1]
    res = em.analyze(trial.data, plan)
    ate = res.sections["average_effects"]
    assert list(ate.columns[:9]) == ["outcome", "timepoint", "model", "estimate", "std_error", "ci_low",
                                     "ci_high", "p_value", "n"]
    assert len(ate) == 4 and set(ate["model"]) == {"linear"} and set(ate["scale"]) == {"mean difference"}
    d = trial.data
    for o in plan["outcomes"]:
        for t, col in o["followups"].items():
            sub = d[[col, o["baseline"], "age"]].assign(treat=(d["group"] == "sensorimotor").astype(float)).dropna()
            X = sm.add_constant(sub[["treat", o["baseline"], "age"]])
            fit = sm.OLS(sub[col], X).fit(cov_type="nonrobust" if se == "classical" else "HC3", use_t=True)
            row = ate[(ate["outcome"] == o["name"]) & (ate["timepoint"] == t)].iloc[0]
            lo, hi = fit.conf_int(0.05).loc["treat"]
            _close(row["estimate"], fit.params["treat"])
            _close(row["std_error"], fit.bse["treat"])
            _close(row["ci_low"], lo)
            _close(row["ci_high"], hi)
            _close(row["p_value"], fit.pvalues["treat"])
            assert row["n"] == len(sub) and row["df"] == fit.df_resid


def test_logistic_average_effect_equals_statsmodels_logit():
    trial = _demo()
    d = trial.data.copy()
    d["severe_18"] = np.where(d["pain_18"].isna(), np.nan, (d["pain_18"] >= 6).astype(float))
    plan = copy.deepcopy(trial.plan)
    plan["outcomes"] = [{"name": "severe", "type": "binary", "label": "Severe pain", "better": "lower",
                         "baseline": "pain_0", "followups": {"18": "severe_18"}}]
    plan["moderators"] = plan["moderators"][:1]
    plan["analysis"]["sensitivity"] = []
    res = em.analyze(d, plan)
    row = res.sections["average_effects"].iloc[0]
    assert row["model"] == "logistic" and row["scale"] == "log odds ratio"
    sub = d[["severe_18", "pain_0"]].assign(treat=(d["group"] == "sensorimotor").astype(float)).dropna()
    fit = sm.Logit(sub["severe_18"], sm.add_constant(sub[["treat", "pain_0"]])).fit(disp=0, tol=1e-14, maxiter=100)
    lo, hi = fit.conf_int(0.05).loc["treat"]
    _close(row["estimate"], fit.params["treat"], LOGIT_TOL)
    _close(row["std_error"], fit.bse["treat"], LOGIT_TOL)
    _close(row["ci_low"], lo, LOGIT_TOL)
    _close(row["ci_high"], hi, LOGIT_TOL)
    _close(row["p_value"], fit.pvalues["treat"], LOGIT_TOL)
    assert row["n"] == len(sub)
    # the standardised risk difference: mean predicted risk with everybody treated minus in control
    X1, X0 = sm.add_constant(sub[["treat", "pain_0"]]), sm.add_constant(sub[["treat", "pain_0"]])
    X1["treat"], X0["treat"] = 1.0, 0.0
    _close(row["risk_difference"], float(fit.predict(X1).mean() - fit.predict(X0).mean()), LOGIT_TOL)
    assert row["rd_ci_low"] < row["risk_difference"] < row["rd_ci_high"]
    # the key finding prints the odds ratio, never the log odds ratio, and the risk difference
    line = key_findings(res)[0]
    assert f"odds ratio {number(np.exp(row['estimate']))} [95% CI, " in line, line
    assert f"; standardised risk difference {number(row['risk_difference'])} [95% CI, " in line, line


def test_mixed_average_effect_is_the_treatment_contrast_per_follow_up():
    trial = _demo()
    plan = copy.deepcopy(trial.plan)
    plan["analysis"].update(model="mixed", sensitivity=[])
    plan["moderators"] = plan["moderators"][:1]
    res = em.analyze(trial.data, plan)
    ate = res.sections["average_effects"]
    assert list(ate["timepoint"]) == ["18", "52", "18", "52"] and set(ate["model"]) == {"mixed"}
    # Satterthwaite df: finite, not an integer residual df
    assert np.isfinite(ate["df"]).all() and (ate["df"] % 1 != 0).all()
    assert (ate["ci_low"] < ate["estimate"]).all() and (ate["estimate"] < ate["ci_high"]).all()
    # a random-intercept model with every follow-up, baseline-adjusted, agrees in sign and size with OLS
    ols = demo_results().sections["average_effects"]
    assert np.allclose(ate["estimate"], ols["estimate"], atol=0.3)


def _line(lines, *words):
    found = [x for x in lines if all(w in x for w in words)]
    assert len(found) == 1, (words, lines)
    return found[0]


def test_key_findings_for_continuous_and_binary_moderators():
    res = demo_results()
    lines = key_findings(res)
    ate = res.sections["average_effects"]
    assert len([x for x in lines if x.startswith("Average treatment effect on")]) == len(ate) == 4
    r = ate.iloc[0]
    assert lines[0].startswith("Average treatment effect on pain intensity (NRS 0-10) at 18 weeks: mean difference "
                               f"{number(r['estimate'])} [95% CI, {interval(r['ci_low'], r['ci_high'])}]")
    ce = res.sections["conditional_effects"]

    def at(mod, tp, key):
        e = ce[(ce["model"] == "linear") & (ce["outcome"] == "pain") & (ce["timepoint"] == tp)
               & (ce["moderator"] == mod) & (ce["percentile"] == key)].iloc[0]
        return f"{number(e['effect'])} [95% CI, {interval(e['ci_low'], e['ci_high'])}]"

    # continuous: higher kinesiophobia, lower pain is better, positive interaction -> less benefit
    kin = _line(lines, "higher kinesiophobia", "at 52 weeks")
    assert kin.startswith("Participants with higher kinesiophobia benefited less on pain intensity")
    assert f"{at('kinesiophobia', '52', 'p10')} at 29 (10th percentile) vs {at('kinesiophobia', '52', 'p90')} at 47 (90th percentile)" in kin
    assert kin.endswith("evidence; interaction P < .001.")
    # binary: the level against the reference, hypothesis-generating
    med = _line(lines, "Psychoactive medication use, yes vs no: ", "at 52 weeks")
    # yes/no levels read as the subgroups with and without the characteristic
    assert ("the subgroup with psychoactive medication use benefited more than the subgroup without "
            "psychoactive medication use") in med
    assert (f"{at('psychoactive_medication', '52', 'no')} in the subgroup without psychoactive medication use vs "
            f"{at('psychoactive_medication', '52', 'yes')} in the subgroup with psychoactive medication use") in med
    assert med.endswith("hypothesis-generating; interaction P = .06.")
    # one sentence per claimed row of the main model (sensitivity rows are not repeated)
    main = res.table[(res.table["model"] == "linear") & res.table["tier"].isin(["evidence", "hypothesis-generating"])]
    assert len(lines) == 4 + len(main)
    assert NO_CLAIM not in lines


def test_adjusted_p_is_named_when_multiplicity_is_set():
    res = demo_results()
    table = res.table.copy()
    table["p_adjusted"] = np.minimum(1.0, table["p_value"] * 8)
    plan = res.plan.model_copy(update={"analysis": res.plan.analysis.model_copy(update={"multiplicity": "holm"})})
    lines = key_findings(dataclasses.replace(res, table=table, plan=plan))
    assert _line(lines, "higher kinesiophobia", "at 52 weeks").endswith("interaction P < .001, adjusted P = .006.")


def test_a_plan_with_no_claims_says_so():
    res = demo_results()
    quiet = dataclasses.replace(res, table=res.table.assign(tier="none"))
    lines = key_findings(quiet)
    assert lines[-1] == NO_CLAIM and len(lines) == 5


class _Sections(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "section":
            self.ids.append(dict(attrs).get("id", ""))


def test_key_findings_are_the_first_section_of_the_report():
    from effectmod.report.html import render_report
    res = demo_results()
    page = render_report(res, [])
    parser = _Sections()
    parser.feed(page)
    assert parser.ids[0] == "key-findings" and parser.ids[1] == "plan"
    block = page[page.index('<section id="key-findings">'):page.index('<section id="plan">')]
    assert "<h2>Key findings</h2>" in block
    assert block.count("<li>") == len(key_findings(res))
    assert "Participants with higher kinesiophobia benefited less" in block
    # the printed findings' negative numbers carry a true minus sign, as the tables do; ranges keep their dash
    from markupsafe import escape
    first = key_findings(res)[0]
    assert "difference -1.09 [95% CI, -1.63 to -0.55]" in first
    assert str(escape(first.replace("-1.", "\u22121.").replace("-0.", "\u22120."))) in block
    assert "(NRS 0-10)" in block


def test_average_effects_file_and_json_section(tmp_path, no_figures):
    res = demo_results()
    out = res.write(tmp_path / "out")
    ate = pd.read_csv(out / "average_effects.csv")
    assert list(ate.columns[:10]) == ["outcome", "timepoint", "model", "estimate", "std_error", "ci_low",
                                      "ci_high", "p_value", "n", "scale"]
    assert len(ate) == 4
    import json
    assert len(json.loads((out / "results.json").read_text())["average_effects"]) == 4


def test_engine_findings_of_the_average_effect_are_notes_not_warnings(monkeypatch):
    """REML stopping short in the model without a moderator: the row says so, and the run warns
    once per interaction model only (as before the average effects existed)."""
    import warnings

    import effectmod.engines.mixed as mixed
    from effectmod.errors import ConvergenceWarning

    real = mixed.fit_random_intercept
    monkeypatch.setattr(mixed, "fit_random_intercept", lambda *a, **k: dataclasses.replace(
        real(*a, **k), converged=False, message="stopped at the iteration limit"))
    trial = _demo()
    plan = copy.deepcopy(trial.plan)
    plan["analysis"].update(model="mixed", sensitivity=[])
    plan["moderators"] = plan["moderators"][:1]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = em.analyze(trial.data, plan)
    assert len([w for w in caught if issubclass(w.category, ConvergenceWarning)]) == 2   # one per interaction model
    ate = res.sections["average_effects"]
    assert all("REML did not converge: stopped at the iteration limit" in n for n in ate["note"])
    assert ate["estimate"].notna().all()


def test_categorical_levels_and_joint_test_with_holm():
    from report_cases import rich_results
    lines = key_findings(rich_results())
    level = _line(lines, "Age group, 40-59 vs under 40: ", "severe pain")
    assert "benefited more than the under 40 subgroup" in level and " in the under 40 subgroup vs " in level
    assert level.endswith("evidence; interaction P = .03.")          # a level row has no adjusted P
    joint = _line(lines, "levels of age group")
    # a hypothesis-generating joint test is worded as a hypothesis; only evidence "differed"
    assert joint.startswith("The treatment effect on severe pain (NRS 7 or more) at follow-up 52 may have differed")
    assert "(hypothesis-generating; joint test P = .09, adjusted P = " in joint

