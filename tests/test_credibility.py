"""ICEMAN-style credibility answers on constructed results tables (effectmod.inference.credibility)."""
from __future__ import annotations

import math

import pandas as pd
import pytest

from effectmod.inference.credibility import chance_grade, credibility, observed_direction
from effectmod.inference.tiers import tier
from effectmod.plan.schema import Plan

NAN = math.nan


def _plan(a_direction="less_benefit_when_higher", a_prior="strong", derive=False):
    outcomes = [{"name": "y", "type": "continuous", "baseline": "y0", "followups": {"1": "y1", "2": "y2"}}]
    if derive:
        outcomes.append({"name": "resp", "type": "binary", "derive": {"from": "y", "rule": "reduction_from_baseline_pct >= 30"}})
    return Plan.model_validate({
        "data": {"id": "id", "treatment": "arm", "treated": 1},
        "outcomes": outcomes,
        "moderators": [
            {"name": "a", "column": "a", "type": "continuous", "hypothesised_direction": a_direction, "prior_evidence": a_prior},
            {"name": "b", "column": "b", "type": "binary"},
            {"name": "c", "column": "c", "type": "categorical"},
        ],
    })


def _table(rows):
    out = []
    for model, outcome, t, mod, term, est, p in rows:
        out.append({"outcome": outcome, "timepoint": t, "moderator": mod, "term": term, "model": model,
                    "estimate": est, "p_value": p, "tier": tier(None if math.isnan(p) else p, 0.05, 0.20)})
    return pd.DataFrame(out)


def _base(a1=(0.5, 0.001), a2=(0.3, 0.1)):
    return [("linear", "y", "1", "a", "", *a1), ("linear", "y", "2", "a", "", *a2),
            ("linear", "y", "1", "b", "", 0.2, 0.5), ("linear", "y", "2", "b", "", -0.1, 0.9)]


def _row(cred, model="linear", t="1", mod="a", outcome="y"):
    sel = cred[(cred["model"] == model) & (cred["timepoint"] == t) & (cred["moderator"] == mod) & (cred["outcome"] == outcome)]
    assert len(sel) == 1
    return sel.iloc[0]


def test_all_answers_favourable_gives_high():
    cred = credibility(_table(_base()), _plan())
    assert list(cred["moderator"]) == ["a", "a"]          # only claims (tier evidence / hypothesis-generating)
    r = _row(cred)
    assert r["prespecified"].startswith("yes")
    assert r["observed_direction"] == "less_benefit_when_higher"   # positive interaction, lower is better
    assert r["direction_consistent"] == "yes"
    assert r["family_size"] == 4 and r["few_tests"] == "yes"
    assert r["p_holm"] == pytest.approx(0.004)                     # Holm over the 4 tests
    assert r["chance_unlikely"] == "definitely yes"
    assert r["consistency"] == "yes" and "same sign at 1 of 1" in r["consistency_detail"]
    assert r["interaction_test"] == "yes" and r["continuous_as_continuous"] == "yes"
    assert r["rating"] == "high"
    # the follow-up-2 claim: hypothesis-generating, Holm p = 0.3 -> chance plausible: two steps down
    r2 = _row(cred, t="2")
    assert r2["chance_unlikely"] == "definitely no" and r2["rating"] == "low"


def test_opposite_direction_lowers_the_rating_and_says_why():
    cred = credibility(_table(_base(a1=(-0.5, 0.001), a2=(-0.3, 0.1))), _plan())
    r = _row(cred)
    assert r["observed_direction"] == "greater_benefit_when_higher"
    assert r["direction_consistent"] == "no"
    assert r["rating"] == "moderate"
    assert ("observed direction (greater benefit when higher) is opposite to the hypothesised one "
            "(less benefit when higher)") in r["reasons"]


def test_higher_is_better_outcome_flips_the_observed_direction():
    assert observed_direction(0.5, "lower") == "less_benefit_when_higher"
    assert observed_direction(0.5, "higher") == "greater_benefit_when_higher"
    assert observed_direction(-0.5, "higher") == "less_benefit_when_higher"
    rows = _base() + [("logistic", "resp", "1", "a", "", 0.5, 0.001)]
    cred = credibility(_table(rows), _plan(derive=True))
    r = _row(cred, model="logistic", outcome="resp")
    assert r["outcome_better"].startswith("higher")
    assert r["direction_consistent"] == "no"
    assert r["family_size"] == 1            # a separate family: its own model type


def test_unstated_direction_and_missing_prior_evidence():
    cred = credibility(_table(_base()), _plan(a_direction="unspecified", a_prior=None))
    r = _row(cred)
    assert r["direction_hypothesised"] == "no" and r["direction_consistent"] == "not stated"
    assert r["prior_evidence"] == "not stated"
    assert r["rating"] == "moderate"        # one step down for the direction; the prior cap is not lower
    assert "no direction was hypothesised" in r["reasons"]
    # without prior evidence an otherwise flawless claim is capped at moderate
    r = _row(credibility(_table(_base()), _plan(a_prior="weak")))
    assert r["rating"] == "moderate" and "prior evidence is weak" in r["reasons"]


def test_inconsistent_follow_up_and_many_tests():
    rows = _base(a1=(0.5, 0.0001), a2=(-0.4, 0.03))
    rows += [("linear", "y", t, m, "", 0.0, 0.7) for m in ("x1", "x2") for t in ("1", "2")]
    plan = _plan()
    plan = plan.model_copy(update={"moderators": plan.moderators + [
        plan.moderators[1].model_copy(update={"name": "x1", "column": "x1"}),
        plan.moderators[1].model_copy(update={"name": "x2", "column": "x2"})]})
    r = _row(credibility(_table(rows), plan))
    assert r["family_size"] == 8 and r["few_tests"] == "no"
    assert r["consistency"] == "no" and "opposite sign" in r["consistency_detail"]
    assert r["p_holm"] == pytest.approx(0.0008)
    assert r["rating"] == "low"             # high, one step down for many tests, one for inconsistency


def test_categorical_claim_uses_the_joint_test():
    rows = _base() + [("linear", "y", "1", "c", "mid", 0.3, 0.02), ("linear", "y", "1", "c", "high", 0.9, 0.001),
                      ("linear", "y", "1", "c", "joint", NAN, 0.003),
                      ("linear", "y", "2", "c", "mid", 0.1, 0.5), ("linear", "y", "2", "c", "high", 0.2, 0.3),
                      ("linear", "y", "2", "c", "joint", NAN, 0.15)]
    cred = credibility(_table(rows), _plan())
    c = cred[cred["moderator"] == "c"]
    assert list(c["term"]) == ["joint", "joint"]      # level rows are not separate claims
    r = _row(cred, mod="c")
    assert r["family_size"] == 6
    assert r["direction_consistent"] == "not applicable" and r["continuous_as_continuous"] == "not applicable"
    assert r["consistency"] == "yes" and "joint test p < .20 at 1 of 1" in r["consistency_detail"]


def test_mixed_rows_are_their_own_family_and_not_estimable_rows_are_skipped():
    rows = _base() + [("mixed", "y", "1", "a", "", 0.5, 0.002), ("mixed", "y", "2", "a", "", NAN, NAN)]
    cred = credibility(_table(rows), _plan())
    r = _row(cred, model="mixed")
    assert r["family_size"] == 1 and r["p_holm"] == pytest.approx(0.002)
    assert len(cred[cred["model"] == "mixed"]) == 1
    assert r["consistency"] == "not applicable"   # its only companion was not estimable: no test
    assert credibility(_table(rows).iloc[0:0], _plan()).empty


@pytest.mark.parametrize("p, grade", [(0.0049, "definitely yes"), (0.005, "probably yes"), (0.0099, "probably yes"),
                                      (0.01, "probably no"), (0.049, "probably no"), (0.05, "definitely no"),
                                      (1.0, "definitely no")])
def test_chance_grades(p, grade):
    assert chance_grade(p) == grade


def test_holm_is_statsmodels_holm():
    import numpy as np
    from statsmodels.stats.multitest import multipletests

    from effectmod.inference.multiplicity import holm
    rng = np.random.default_rng(8)
    for n in (1, 2, 5, 40, 333):
        for p in (rng.random(n), np.round(rng.random(n), 2), rng.random(n) ** 8, np.r_[rng.random(n - 1), 1.0]):
            assert np.array_equal(holm(p), multipletests(p, method="holm")[1])
