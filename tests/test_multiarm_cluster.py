"""A three-arm cluster-randomised trial against R (tests/reference/multiarm_cluster/ref.R): the
2001 AchievementAwardsRCT cohort with a deterministic school-level assignment (school_id mod 3).
Linear rows: CR2 + Satterthwaite (clubSandwich::coef_test); per-comparison categorical and
`all arms` joint rows: clubSandwich::Wald_test HTZ. Logistic rows: CR0 (sandwich::vcovCL HC0,
cadjust = FALSE), Wald z and chi-square joint rows."""
from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

import effectmod as em

HERE = Path(__file__).parent / "reference" / "multiarm_cluster"
NUMBERS = ("estimate", "std_error", "ci_low", "ci_high", "p_value", "statistic", "df_num", "df")
REL = 1e-8


@pytest.fixture(scope="module")
def results():
    """plan_decomposition.yaml is plan.yaml with analysis.cluster_decomposition: true (the same main rows)."""
    return em.analyze(HERE / "data.csv", HERE / "plan_decomposition.yaml")


def _num(v) -> float:
    return math.nan if v is None or v == "" else float(v)


def test_every_row_agrees_with_r(results):
    ref = pd.read_csv(HERE / "reference.csv", keep_default_na=False, na_values=[""]).fillna({"term": "", "tier": ""})
    table = results.table.copy()
    table["term"] = table["term"].fillna("")
    assert len(ref) == 40 and len(table) == len(ref)
    for _, r in ref.iterrows():
        hit = table.loc[(table["outcome"] == r["outcome"]) & (table["moderator"] == r["moderator"])
                        & (table["term"] == r["term"]) & (table["comparison"] == r["comparison"])]
        assert len(hit) == 1, (r["outcome"], r["moderator"], r["term"], r["comparison"])
        row = hit.iloc[0]
        assert row["model"] == r["model"] and int(row["n"]) == int(r["n"]) == 3821
        for col in NUMBERS:
            want = float(r[col])
            if math.isnan(want) or math.isinf(want):
                continue        # no number in R (estimate of a joint row) or a z / chi-square df
            got = _num(row[col])
            assert abs(got - want) <= REL * max(1.0, abs(want)), (r["outcome"], r["moderator"], r["term"], r["comparison"], col, got, want)
        if r["term"] != "joint":
            assert (row["tier"] or "") == r["tier"]


def test_clusters_are_counted(results):
    assert results.trial.flow.as_dict()["clusters"] == {"treated": 26, "control": 13, "total": 39}


def test_decomposition_per_comparison_agrees_with_r(results):
    """analysis.cluster_decomposition in the three-arm model: each comparison's within and between
    interactions (continuous, binary and categorical moderators) as ../decomposition.R computes them."""
    got = results.frame("cluster_decomposition")
    ref = pd.read_csv(HERE / "reference_decomposition.csv", keep_default_na=False, na_values=["NA"])
    assert len(ref) == 40 and len(got) == 40 + 2 * 2 * 6      # + sector: school-level, empty rows with a note
    for _, r in ref.iterrows():
        hit = got[(got["outcome"] == r["outcome"]) & (got["moderator"] == r["moderator"]) & (got["term"] == r["term"])
                  & (got["level"] == r["level"]) & (got["comparison"] == r["comparison"])]
        assert len(hit) == 1, (r["outcome"], r["moderator"], r["term"], r["level"], r["comparison"])
        g = hit.iloc[0]
        assert g["model"] == r["model"] and g["n"] == 3821 and g["clusters"] == 39 and g["note"] == ""
        for col in ("estimate", "std_error", "ci_low", "ci_high", "p_value", "df"):
            want = _num(r[col])
            if math.isnan(want):
                assert math.isnan(float(g[col]))
            elif math.isinf(want):
                assert math.isinf(float(g[col]))
            else:
                assert abs(float(g[col]) - want) <= REL * max(1.0, abs(want)), (r["outcome"], r["term"], r["level"], col)


def test_comparison_views_keep_their_rows_clusters(results):
    from effectmod.models.comparisons import comparison_models
    fitted = [fm for fm in results.fitted if fm.design.clusters is not None]
    assert fitted
    for _, view in comparison_models(fitted):
        d = view.design
        assert d.clusters is not None and len(d.clusters) == d.X.shape[0] == len(d.rows)
