"""Multi-arm trials (CONTRACT §6.2-6.3) against R (tests/reference/multiarm/ref.R): MASS::anorexia
(Cont, CBT, FT; linear classical and HC3) and survival::colon (Obs, Lev, Lev+5FU; logistic), one
model with every arm per moderator, each comparison's rows and the `all arms` joint test."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import effectmod as em

HERE = Path(__file__).parent / "reference" / "multiarm"
CASES = {"anorexia_classical": ("anorexia.csv", "plan_anorexia.yaml"),
         "anorexia_HC3": ("anorexia.csv", "plan_anorexia_hc3.yaml"),
         "colon": ("colon.csv", "plan_colon.yaml"),
         "mixed": ("mixed.csv", "plan_mixed.yaml")}
NUMBERS = ("estimate", "std_error", "ci_low", "ci_high", "p_value", "statistic", "df_num", "df")
# linear: closed form, agrees to ~1e-13; logistic: the engine stops at a relative change of 1e-10
# in the coefficients, which matches glm(epsilon = 1e-14) to about 1e-8 (engines/logistic.py)
# mixed: REML by different optimisers (effectmod's and lme4's bobyqa) agree to about 1e-6
TOLERANCE = {"linear": 1e-8, "logistic": 1e-7, "mixed": 1e-6}


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    return pd.read_csv(HERE / "reference.csv", keep_default_na=False, na_values=[""])


@pytest.fixture(scope="module")
def results() -> dict:
    return {case: em.analyze(HERE / data, HERE / plan) for case, (data, plan) in CASES.items()}


def _close(a: float, b: float, rel: float = 1e-8) -> bool:
    if math.isnan(b):
        return math.isnan(a) or b != b
    if math.isinf(b):
        return math.isinf(a) or math.isnan(a)
    return abs(a - b) <= rel * max(1.0, abs(b))


@pytest.mark.parametrize("case", list(CASES))
def test_rows_agree_with_r(case, reference, results):
    ref = reference.loc[reference["case"] == case].fillna({"term": ""})
    table = results[case].table.copy()
    table["term"] = table["term"].fillna("")
    table["timepoint"] = table["timepoint"].astype(str)
    assert len(table) == len(ref)
    for _, r in ref.iterrows():
        hit = table.loc[(table["moderator"] == r["moderator"]) & (table["term"] == r["term"]) & (table["timepoint"] == str(r["timepoint"]))
                        & (table["comparison"] == r["comparison"])]
        assert len(hit) == 1, (r["moderator"], r["term"], r["comparison"])
        row = hit.iloc[0]
        assert row["model"] == r["model"] and int(row["n"]) == int(r["n"])
        for col in NUMBERS:
            got = float(row[col]) if col in row and row[col] is not None else math.nan
            want = float(r[col])
            if col == "df" and math.isinf(want):
                continue        # z and chi-square rows: effectmod writes the df as inf or empty
            if math.isnan(want):
                continue
            assert _close(got, want, TOLERANCE[row["model"]]), (case, r["moderator"], r["term"], r["comparison"], col, got, want)


def test_columns_and_multiplicity(results):
    table = results["anorexia_classical"].table
    from effectmod.results import CONTRACT_COLUMNS
    assert list(table.columns[:14]) == [*CONTRACT_COLUMNS, "comparison"]
    assert set(table["comparison"]) == {"CBT vs Cont", "FT vs Cont", "all arms"}
    every = table.loc[table["comparison"] == "all arms"]
    assert (every["term"] == "joint").all() and every["p_adjusted"].isna().all()
    assert len(every) == 3                                        # one per moderator, continuous and binary too
    # holm within each comparison: continuous, binary and the categorical joint row are the family
    for comparison in ("CBT vs Cont", "FT vs Cont"):
        fam = table.loc[(table["comparison"] == comparison) & ((table["moderator"] != "band") | (table["term"] == "joint"))]
        p = np.sort(fam["p_value"].to_numpy(dtype=float))
        holm = np.minimum(1, np.maximum.accumulate(p * (len(p) - np.arange(len(p)))))
        assert np.allclose(np.sort(fam["p_adjusted"].to_numpy(dtype=float)), holm, rtol=1e-12)


def test_credibility_per_comparison(results):
    cred = results["anorexia_classical"].sections["credibility"]
    assert set(cred["comparison"]) == {"CBT vs Cont", "FT vs Cont"}
    assert (cred["family_size"] == 3).all()           # prewt, low_weight and band's joint row, per comparison


def test_one_element_list_is_the_two_arm_analysis():
    base = Path(__file__).parent / "reference" / "colon_logistic"
    import yaml
    plan = yaml.safe_load((base / "plan.yaml").read_text())
    two = em.analyze(base / "data.csv", plan)
    plan["data"]["treated"] = [plan["data"]["treated"]]
    one = em.analyze(base / "data.csv", plan)
    pd.testing.assert_frame_equal(two.table, one.table)
    assert (one.table["comparison"] == "").all()


def test_conditional_effects_per_comparison_agree_with_r(results):
    ref = pd.read_csv(HERE / "effects.csv", dtype={"percentile": str})
    for case, sub in ref.groupby("case"):
        ce = results[case].sections["conditional_effects"]
        ce = ce.loc[ce["scale"] != "risk difference"]
        for _, r in sub.iterrows():
            hit = ce.loc[(ce["moderator"] == r["moderator"]) & (ce["comparison"] == r["comparison"])
                         & (ce["percentile"].astype(str) == r["percentile"])]
            assert len(hit) == 1, (case, r["moderator"], r["comparison"], r["percentile"])
            row = hit.iloc[0]
            tol = TOLERANCE[row["model"]]
            for col in ("effect", "std_error", "p_value"):
                assert _close(float(row[col]), float(r[col]), tol), (case, r["moderator"], r["comparison"], col)
            if r["moderator"] == "prewt":
                assert _close(float(row["moderator_value"]), float(r["moderator_value"]), 1e-12)


def test_bootstrap_and_permutation_fill_each_comparison(tmp_path):
    import yaml
    plan = yaml.safe_load((HERE / "plan_anorexia.yaml").read_text())
    plan["analysis"].update(bootstrap=30, permutations=30)
    res = em.analyze(HERE / "anorexia.csv", plan)
    t = res.table
    own = (t["comparison"] != "all arms") & (t["term"].fillna("") != "joint")
    assert t.loc[own, "boot_replicates"].eq(30).all() and t.loc[own, "p_permutation"].notna().all()
    assert t.loc[~own, "boot_ci_low"].isna().all() and t.loc[~own, "p_permutation"].isna().all()
    # each comparison's bootstrap interval brackets its estimate (30 replicates: loosely)
    assert ((t.loc[own, "boot_ci_low"] < t.loc[own, "estimate"]) & (t.loc[own, "estimate"] < t.loc[own, "boot_ci_high"])).all()


def test_command_line_writes_every_arm(tmp_path, monkeypatch, capsys, no_figures):
    from effectmod.cli import main
    monkeypatch.chdir(HERE)
    out = tmp_path / "out"
    assert main(["analyze", "colon.csv", "--plan", "plan_colon.yaml", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "Lev vs Obs" in printed and "Lev+5FU vs Obs" in printed and "3 analysed arms" in printed
    header = (out / "results.csv").read_text().splitlines()[0].split(",")
    assert header[13] == "comparison"
    table1 = pd.read_csv(out / "table1.csv")
    assert list(table1.columns) == ["Characteristic", "Lev (n = 310)", "Lev+5FU (n = 304)", "Obs (n = 315)"]
    html = (out / "report.html").read_text()
    assert "randomised to the 3 analysed arms: Lev 310, Lev+5FU 304, Obs 315" in html
    assert "Lev+5FU vs Obs: sex, 1 vs 0: the sex 1 subgroup benefited more" in html
    assert "All arms: the treatment × sex interaction" in html
    flow = pd.read_json(out / "results.json", typ="series")["data_flow"]
    assert flow["treated_arms"] == {"Lev": 310, "Lev+5FU": 304}


def test_init_drafts_a_list_of_arms(tmp_path):
    from effectmod.cli import main
    out = tmp_path / "plan.yaml"
    assert main(["init", str(HERE / "anorexia.csv"), "--out", str(out)]) == 0
    import yaml
    data = yaml.safe_load(out.read_text())["data"]
    assert data["treated"] == ["CBT", "FT"] and data["control"] == "Cont"
    assert "the control guessed" in out.read_text()


def test_notebook_views_name_the_comparison(results):
    res = results["anorexia_classical"]
    md = res.to_markdown()
    assert "(CBT vs Cont)" in md and "(FT vs Cont)" in md and "(all arms, joint test)" in md
    assert res.plot_effect("prewt", "weight", "post", comparison="FT") is not None
    with pytest.raises(ValueError, match="comparison must be one of 'CBT vs Cont', 'FT vs Cont'"):
        res.plot_forest(comparison="XX")


def test_imputation_within_each_arm():
    import yaml
    data = pd.read_csv(HERE / "anorexia.csv")
    data.loc[[3, 30, 60], "Postwt"] = np.nan          # one missing outcome in each arm
    plan = yaml.safe_load((HERE / "plan_anorexia.yaml").read_text())
    plan["analysis"].update(imputations=2)
    plan["moderators"] = plan["moderators"][:1]
    res = em.analyze(data, plan)
    t = res.table
    assert set(t["comparison"]) == {"CBT vs Cont", "FT vs Cont", "all arms"}
    assert t["p_value"].notna().all() and (t["n"] == 72).all()
    missing = res.sections["missingness"]
    assert sorted(set(missing["arm"])) == ["CBT", "Cont", "FT"]
    assert missing.loc[missing["variable"] == "Postwt", "n_missing"].tolist() == [1, 1, 1]


def test_a_level_missing_from_one_arm_is_named():
    import yaml
    data = pd.read_csv(HERE / "anorexia.csv")
    data.loc[(data["Treat"] == "FT") & (data["prewt_band"] == "high"), "prewt_band"] = "mid"
    plan = yaml.safe_load((HERE / "plan_anorexia.yaml").read_text())
    plan["moderators"] = [m for m in plan["moderators"] if m["name"] == "band"]
    t = em.analyze(data, plan).table
    assert (t["tier"] == "not-estimable").all() and len(t) == 7      # 2 x (2 levels + joint) + all arms
    assert t["note"].str.contains("level 'high' does not occur in arm(s) 'FT'", regex=False).all()


def test_additive_scale_per_comparison_agrees_with_r(results):
    ref = pd.read_csv(HERE / "additive.csv")
    t = results["colon"].table
    for _, r in ref.iterrows():
        row = t.loc[(t["moderator"] == r["moderator"]) & (t["comparison"] == r["comparison"])].iloc[0]
        assert _close(float(row["rd_estimate"]), float(r["rd_estimate"]), 1e-7)
        assert _close(float(row["rd_std_error"]), float(r["rd_std_error"]), 1e-7)
    assert t.loc[t["comparison"] == "all arms", "rd_estimate"].isna().all()


def test_power_from_a_multi_arm_pilot_runs_each_comparison():
    from effectmod.power import pilot_source
    source = pilot_source(str(HERE / "anorexia.csv"), str(HERE / "plan_anorexia.yaml"))
    by = {(m.outcome, m.moderator): m for m in source.models}
    assert {o for o, _ in by} == {"weight [CBT vs Cont]", "weight [FT vs Cont]"}
    # the categorical band is tested jointly over its levels, per comparison (power.joint)
    assert source.skipped == ()
    assert all(len(by[(o, "band")].inter_cols) > 1 for o in ("weight [CBT vs Cont]", "weight [FT vs Cont]"))
    # prewt is the baseline (entered once): the pair's model is the multi-arm model's comparison
    cbt = by[("weight [CBT vs Cont]", "prewt")]
    assert cbt.coef[cbt.inter_cols[0]] == pytest.approx(0.98216612427081, rel=1e-10)
