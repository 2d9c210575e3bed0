"""The subgroup forest under multiple imputation: the effects are pooled, and n and the outcome per
arm and level are of the participants with the moderator and the outcome observed (never a missing
moderator cast to a level), for a linear and a Cox plan."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import effectmod as em
from effectmod.report.figures import style
from effectmod.report.subgroup_forest import arm_summary, observed_outcome, subgroup_forest_figures

N = 80


def _frame() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    site = rng.choice(["north", "south", "west"], N).astype(object)
    site[[1, 4, 9, 15, 22, 30, 41, 57]] = None            # moderator missing for 8 participants
    arm = np.array(["drug", "placebo"] * (N // 2))
    y0 = rng.normal(20, 4, N)
    y1 = y0 - 2 * (arm == "drug") + rng.normal(0, 3, N)
    y1[[2, 4, 10, 33, 50, 61]] = np.nan                     # outcome missing for 6 (one also lacks the site)
    time = rng.exponential(10, N).round(2) + 0.1
    event = rng.integers(0, 2, N).astype(float)
    time[[3, 9, 70]] = np.nan
    event[[3, 9, 70]] = np.nan
    return pd.DataFrame({"pid": range(1, N + 1), "arm": arm, "site": site, "y0": y0.round(1), "y1": y1.round(1),
                         "time": time, "event": event})


def _plan(outcome: dict) -> dict:
    return {"title": "subgroup forest under MI",
            "data": {"id": "pid", "treatment": "arm", "treated": "drug", "control": "placebo"},
            "outcomes": [outcome],
            "moderators": [{"name": "site", "column": "site", "type": "categorical", "reference": "north"}],
            "analysis": {"imputations": 2, "seed": 5}}


def _expected(frame: pd.DataFrame, outcome_cols: list[str]) -> dict:
    seen = frame.dropna(subset=["site", *outcome_cols])
    return {(lv, a): int(((seen["site"] == lv) & (seen["arm"] == arm)).sum())
            for lv in ("north", "south", "west") for a, arm in (("treated", "drug"), ("control", "placebo"))}


CASES = {
    "linear": ({"name": "y", "type": "continuous", "baseline": "y0", "followups": {"12": "y1"}}, ["y1"], "12"),
    "cox": ({"name": "surv", "type": "time_to_event", "time": "time", "event": "event", "event_value": 1}, ["time", "event"], None),
}


@pytest.mark.parametrize("case", list(CASES))
def test_counts_are_of_observed_moderator_and_outcome(case):
    outcome, cols, t = CASES[case]
    frame = _frame()
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        res = em.analyze(frame, _plan(outcome))
        with style():
            figs = subgroup_forest_figures(res)
    assert figs, "a figure for the categorical moderator"
    caption = figs[0][1]
    assert "the participants with the moderator and the outcome observed" in caption
    fm = next(f for f in res.fitted if f.spec.moderator == "site" and f.design is not None
              and f.summary.get("imputations") == 2)
    t = fm.spec.timepoint if t is None else t
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        summ = arm_summary(fm.design, res.trial.moderators["site"], t, observed_outcome(res.trial, outcome["name"], t))
    got = {(r.level, r.arm): r.n for r in summ.itertuples()}
    assert got == _expected(frame, cols)
    assert sum(got.values()) < N
    if case == "linear":
        seen = frame.dropna(subset=["site", "y1"])
        north = seen[(seen.site == "north") & (seen.arm == "drug")]["y1"]
        row = summ[(summ.level == "north") & (summ.arm == "treated")].iloc[0]
        assert np.isclose(row["mean"], north.mean()) and np.isclose(row["sd"], north.std(ddof=1))
    else:
        seen = frame.dropna(subset=["site", "time", "event"])
        row = summ[(summ.level == "west") & (summ.arm == "control")].iloc[0]
        assert row["events"] == int(seen[(seen.site == "west") & (seen.arm == "placebo")]["event"].sum())
