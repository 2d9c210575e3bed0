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
    return em.analyze(HERE / "data.csv", HERE / "plan.yaml")


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
