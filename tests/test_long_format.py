"""Long-format data (one row per participant and visit, ``data.time``) give exactly the
results of the same data in wide form, for linear, mixed and logistic models; a moderator
column identical to the baseline visit is recognised as the outcome's baseline."""
from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import effectmod as em

REF = Path(__file__).parent / "reference"

# The same numbers reach the engines in another row order: equal up to floating-point
# rounding in the sums (OLS, logistic) and the REML optimum (mixed, solved to 1e-10).
SAME_REL = 1e-8
# R glm reference of the respiratory trial, as in check.py: 1e-6 relative, p 1e-6 absolute.
REF_REL = 1e-6
REF_P_ABS = 1e-6

WIDE_FOLLOWUPS = {"2": "bdi.2m", "4": "bdi.4m", "6": "bdi.6m", "8": "bdi.8m"}
NUMBERS = ["estimate", "std_error", "ci_low", "ci_high", "p_value", "df"]
KEYS = ["outcome", "timepoint", "moderator", "term", "model"]


def _btheb_long(time_as_float: bool = False, seed: int = 3) -> pd.DataFrame:
    """BtheB with one row per observed visit (month 0 = baseline), rows shuffled."""
    wide = pd.read_csv(REF / "btheb_mixed" / "data.csv")
    visits = {0: "bdi.pre", **{int(k): v for k, v in WIDE_FOLLOWUPS.items()}}
    parts = []
    for month, col in visits.items():
        part = wide[["id", "treatment", "drug", "length", "bdi.pre"]].copy()
        part["month"] = float(month) if time_as_float else month
        part["bdi"] = wide[col]
        parts.append(part)
    long = pd.concat(parts).dropna(subset=["bdi"])
    return long.sample(frac=1.0, random_state=seed).reset_index(drop=True)


def _plans(model: str) -> tuple[dict, dict]:
    wide = yaml.safe_load((REF / "btheb_mixed" / "plan.yaml").read_text())
    wide["analysis"]["model"] = model
    long = yaml.safe_load(yaml.safe_dump(wide))
    long["data"]["time"] = "month"
    o = long["outcomes"][0]
    del o["followups"]
    o["column"], o["baseline"] = "bdi", 0
    return wide, long


def _assert_same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert a[KEYS].values.tolist() == b[KEYS].values.tolist()
    assert a["n"].tolist() == b["n"].tolist()
    for col in NUMBERS:
        x, y = a[col].to_numpy(float), b[col].to_numpy(float)
        assert np.array_equal(np.isnan(x), np.isnan(y)), col
        ok = ~np.isnan(x)
        np.testing.assert_allclose(y[ok], x[ok], rtol=SAME_REL, atol=0, err_msg=col)


@pytest.mark.parametrize("model", ["linear", "mixed"])
def test_long_btheb_equals_wide(model):
    wide_plan, long_plan = _plans(model)
    wide = em.analyze(REF / "btheb_mixed" / "data.csv", wide_plan)
    long = em.analyze(_btheb_long(time_as_float=(model == "mixed")), long_plan)
    _assert_same(wide.table, long.table)
    assert list(long.table.timepoint.unique()) == ["2", "4", "6", "8"]   # not "2.0"
    if model == "mixed":
        for key in ("n_obs", "n_participants", "sigma2_participant", "sigma2_residual"):
            got = [m[key] for m in long.models]
            np.testing.assert_allclose(got, [m[key] for m in wide.models], rtol=SAME_REL, err_msg=key)


def test_moderator_identical_to_the_baseline_visit_enters_once():
    _, plan = _plans("linear")
    res = em.analyze(_btheb_long(), plan)
    terms = {m["moderator"]: m["terms"] for m in res.models if m["timepoint"] == "2"}
    assert "baseline" not in terms["bdi_pre"] and "baseline" in terms["drug"]
    assert res.table.loc[res.table.moderator == "bdi_pre", "estimate"].notna().all()
    # one differing participant: no longer the baseline, so both enter (and the check can tell)
    long = _btheb_long()
    long.loc[long.id == long.id.iloc[0], "bdi.pre"] += 1
    res = em.analyze(long, plan)
    terms = {m["moderator"]: m["terms"] for m in res.models if m["timepoint"] == "2"}
    assert "baseline" in terms["bdi_pre"]


def test_long_respiratory_matches_r_glm_with_the_binary_baseline_visit():
    case = REF / "respiratory_logistic"
    wide = pd.read_csv(case / "data.csv")
    long = wide.melt(id_vars=["subject", "centre", "treatment", "gender", "age"],
                     value_vars=[f"status.{k}" for k in range(5)], var_name="month", value_name="status")
    long["month"] = long["month"].str.slice(7).astype(int)
    plan = yaml.safe_load((case / "plan.yaml").read_text())
    o = plan["outcomes"][0]
    del o["followups"]
    o["column"], o["baseline"] = "status", 0
    plan["data"]["time"] = "month"
    res = em.analyze(long.sample(frac=1.0, random_state=1), plan)
    got = res.table.set_index(["moderator", "timepoint"])
    with open(case / "reference.csv", newline="") as fh:
        ref = list(csv.DictReader(fh))
    assert len(ref) == len(got) == 8
    for r in ref:
        g = got.loc[(r["moderator"], r["timepoint"])]
        assert g.model == "logistic" and int(g.n) == int(r["n"])
        for f in ("estimate", "std_error"):
            assert g[f] == pytest.approx(float(r[f]), rel=REF_REL)
        assert abs(g.p_value - float(r["p_value"])) <= REF_P_ABS
    # the baseline visit's text status is coded like the outcome (1 = good)
    d = res.fitted[0].design
    first = long[long.month == 0].set_index("subject").status
    codes = (first.loc[res.trial.ids[d.rows].astype(int)] == "good").to_numpy(float)
    assert np.array_equal(d.X[:, d.index("baseline")], codes)
    assert not math.isnan(res.table.rd_estimate.iloc[0])


def test_derived_responder_in_long_data_equals_wide():
    wide_plan, long_plan = _plans("linear")
    for plan in (wide_plan, long_plan):
        plan["outcomes"].append({"name": "responder", "type": "binary",
                                 "derive": {"from": "bdi", "rule": "reduction_from_baseline_pct >= 50"}})
        plan["moderators"] = plan["moderators"][:1]
    wide = em.analyze(REF / "btheb_mixed" / "data.csv", wide_plan).table
    long = em.analyze(_btheb_long(), long_plan).table
    assert (wide.model == "logistic").sum() == 4
    _assert_same(wide, long)
    np.testing.assert_allclose(long.rd_estimate.dropna(), wide.rd_estimate.dropna(), rtol=SAME_REL)
