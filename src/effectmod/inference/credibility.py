"""Credibility of each claimed effect modifier, following the core questions of the ICEMAN
instrument for randomised trials (Schandelmaier et al., CMAJ 2020;192:E901-6).

A *claim* is one test of the multiplicity family (model x outcome x follow-up x moderator: the
interaction row of a continuous or binary moderator, the `joint` row of a categorical one) whose
tier is "evidence" or "hypothesis-generating". Each question is answered from the plan and the
results table alone:

* pre-specified: yes unless the plan marks the moderator ``prespecified: false`` (post hoc, which
  lowers the rating one step); the plan (with each moderator's rationale) is the
  pre-specification record;
* hypothesised direction stated, and the observed direction consistent with it. The treatment
  effect is intervention minus control, and an outcome is better in the direction of the plan's
  ``outcomes[].better``; when it is not set, LOWER is assumed (and the row says so), except
  binary responder outcomes derived by improvement from baseline, which are better when
  HIGHER. Then, for lower-is-better outcomes, a positive interaction means less benefit when
  the moderator is higher;
* one of a small number of effects tested: the family size (tests of that model type);
* test of interaction rather than separate subgroup tests: yes by construction;
* a continuous moderator analysed as continuous: yes for continuous moderators;
* consistency across related outcomes and follow-ups: the same moderator's other tests of the
  same model type - same sign, and at least hypothesis-generating;
* chance: Holm-adjusted p over the family (even when the plan's multiplicity is none), graded
  with ICEMAN's cut-offs for the test of interaction;
* prior evidence: the plan's ``moderators[].prior_evidence``.

The overall rating starts at "high" and is lowered one step for each concern (two when chance
is definitely a plausible explanation); without moderate or strong prior evidence it is at most
"moderate". This is a transparent heuristic summary of ICEMAN's questions, not ICEMAN's own
algorithm (ICEMAN leaves the overall judgement to the reviewer): the reasons say which answers
drove it.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..formatting import p_text, threshold_text
from .multiplicity import adjust, family_mask
from .tiers import EVIDENCE, HYPOTHESIS

RATINGS = ("very low", "low", "moderate", "high")
# ICEMAN's "small number" of effect-modification hypotheses tested in one study.
SMALL_FAMILY = 5
# ICEMAN's grading of "chance is an unlikely explanation" from the interaction test's P:
# < .005 definitely yes, < .01 probably yes, < .05 probably no, otherwise definitely no.
CHANCE_CUTS = ((0.005, "definitely yes"), (0.01, "probably yes"), (0.05, "probably no"), (math.inf, "definitely no"))
CREDIBILITY_COLUMNS = (
    "model", "outcome", "timepoint", "moderator", "term", "estimate", "p_value", "tier", "prespecified",
    "direction_hypothesised", "observed_direction", "direction_consistent", "family_size", "few_tests",
    "interaction_test", "continuous_as_continuous", "consistency", "consistency_detail", "p_holm",
    "chance_unlikely", "prior_evidence", "outcome_better", "rating", "reasons")
LESS, GREATER = "less_benefit_when_higher", "greater_benefit_when_higher"


def _row_better(plan, outcome: str, model: str) -> str:
    """The better direction of a row's estimate: an rmst row's estimate is survival time, which
    runs opposite to the event (an outcome whose events are worse has longer RMST better)."""
    better = plan.better_direction(outcome)
    if model == "rmst":
        return "higher" if better == "lower" else "lower"
    return better


row_better = _row_better     # public: the report's sentences read rmst rows the same way


def observed_direction(estimate: float, better: str) -> str:
    """The direction of modification the interaction's sign shows (benefit = improvement)."""
    if estimate is None or not np.isfinite(estimate) or estimate == 0:
        return "none"
    less_when_higher = (estimate > 0) == (better == "lower")
    return LESS if less_when_higher else GREATER


def chance_grade(p: float) -> str:
    for cut, label in CHANCE_CUTS:
        if p < cut:
            return label
    return "definitely no"


def credibility(table: pd.DataFrame, plan) -> pd.DataFrame:
    """One row per claimed modifier (tier evidence or hypothesis-generating) with the answer to
    each ICEMAN core question, an overall ``rating`` (very low / low / moderate / high) and the
    ``reasons`` in words. See the module notes for how each answer is derived."""
    if table.empty:
        return pd.DataFrame(columns=list(CREDIBILITY_COLUMNS))
    mods = {m.name: m for m in plan.moderators}
    outs = {o.name: o for o in plan.outcomes}
    thresh = plan.analysis.exploratory_threshold
    holm = adjust(table, "holm")      # chance judged over the family, whatever the plan adjusts
    mask = family_mask(table)
    # multi-arm: each comparison is its own family (CONTRACT §6.2); "" in a two-arm analysis
    comparison = table["comparison"].fillna("").astype(str) if "comparison" in table else pd.Series("", index=table.index)
    fam = table.loc[mask].assign(p_holm=holm[mask], _comparison=comparison[mask])
    sizes = fam.groupby(["model", "_comparison"]).size()
    rows = []
    # the rows of each (model, moderator, comparison), by position in fam (in fam's order)
    groups = fam.groupby(["model", "moderator", "_comparison"], sort=False).indices
    for pos, (idx, r) in enumerate(fam.iterrows()):
        if r["tier"] not in (EVIDENCE, HYPOTHESIS):
            continue
        m, o = mods[r["moderator"]], outs[r["outcome"]]
        same_group = groups[(r["model"], r["moderator"], r["_comparison"])]
        others = fam.iloc[same_group[same_group != pos]]
        row = _assess(r, m, o, others, int(sizes[(r["model"], r["_comparison"])]), thresh, _row_better(plan, o.name, r["model"]),
                      plan.analysis.evidence_threshold, plan.better_basis(o.name))
        rows.append({**row, "comparison": r["_comparison"]} if comparison.any() else row)
    return pd.DataFrame(rows, columns=list(CREDIBILITY_COLUMNS) + (["comparison"] if comparison.any() else []))


def _consistency(r, others, categorical: bool, thresh: float) -> tuple[str, str]:
    if others.empty:
        return "not applicable", "no other outcome or follow-up tested this moderator"
    supportive = others["p_value"].to_numpy(dtype=float) < thresh
    n = len(others)
    if categorical:
        k = int(supportive.sum())
        answer = "yes" if k == n else ("partly" if k else "no")
        return answer, f"joint test p < {threshold_text(thresh)} at {k} of {n} other outcome/follow-ups"
    same = np.sign(others["estimate"].to_numpy(dtype=float)) == np.sign(float(r["estimate"]))
    k_same, k_sup_same, k_sup_opp = int(same.sum()), int((same & supportive).sum()), int((~same & supportive).sum())
    if k_sup_opp:
        answer = "no"
    elif k_same == n and k_sup_same:
        answer = "yes"
    elif k_sup_same:
        answer = "partly"
    else:
        answer = "partly" if k_same == n else "no"
    detail = (f"same sign at {k_same} of {n} other outcome/follow-ups ({k_sup_same} with p < {threshold_text(thresh)})"
              + (f"; opposite sign with p < {threshold_text(thresh)} at {k_sup_opp}" if k_sup_opp else ""))
    return answer, detail


def _assess(r, m, o, others, family_size: int, thresh: float, better: str, evidence: float,
            basis: str = "plan") -> dict:
    categorical = m.type == "categorical"
    hyp = m.hypothesised_direction
    obs = "not applicable" if categorical else observed_direction(float(r["estimate"]), better)
    if categorical:
        consistent = "not applicable"
    elif hyp == "unspecified":
        consistent = "not stated"
    else:
        consistent = "yes" if obs == hyp else "no"
    consistency, detail = _consistency(r, others, categorical, thresh)
    chance = chance_grade(float(r["p_holm"]))
    prior = m.prior_evidence or "not stated"
    few = family_size <= SMALL_FAMILY

    level, reasons = len(RATINGS) - 1, []
    if not m.prespecified:
        level -= 1
        reasons.append("post hoc: the moderator was not pre-specified")
    if hyp == "unspecified" and not categorical:
        level -= 1
        reasons.append("no direction was hypothesised in advance")
    elif consistent == "no":
        level -= 1
        reasons.append(f"observed direction ({obs.replace('_', ' ')}) is opposite to the hypothesised one "
                       f"({hyp.replace('_', ' ')})")
    elif consistent == "yes":
        reasons.append("observed direction matches the hypothesis")
    if consistent in ("yes", "no") and basis == "assumed":
        reasons.append(f"direction read assuming {better} outcome is better (outcomes[].better not set)")
    tests = f"{family_size} test" + ("" if family_size == 1 else "s")
    if chance == "definitely no":
        level -= 2
        reasons.append(f"chance is a plausible explanation (Holm-adjusted {p_text(r['p_holm'], evidence)} over {tests})")
    elif chance == "probably no":
        level -= 1
        reasons.append(f"chance may explain it (Holm-adjusted {p_text(r['p_holm'], evidence)} over {tests})")
    else:
        reasons.append(f"chance is an unlikely explanation (Holm-adjusted {p_text(r['p_holm'], evidence)})")
    if not few:
        level -= 1
        reasons.append(f"one of many ({family_size}) effect modifiers tested")
    if consistency == "no":
        level -= 1
        reasons.append(f"not consistent across related outcomes and follow-ups ({detail})")
    elif consistency == "yes":
        reasons.append(f"consistent across related outcomes and follow-ups ({detail})")
    if prior not in ("moderate", "strong"):
        if level > RATINGS.index("moderate"):
            level = RATINGS.index("moderate")
        reasons.append("no moderate or strong prior evidence stated" if prior == "not stated"
                       else f"prior evidence is {prior}")
    else:
        reasons.append(f"{prior} prior evidence")
    return {
        "model": r["model"], "outcome": r["outcome"], "timepoint": r["timepoint"], "moderator": r["moderator"],
        "term": r["term"], "estimate": r["estimate"], "p_value": r["p_value"], "tier": r["tier"],
        "prespecified": "yes (the plan is the pre-specification record)" if m.prespecified else "no (post hoc)",
        "direction_hypothesised": "no" if hyp == "unspecified" else hyp,
        "observed_direction": obs, "direction_consistent": consistent,
        "family_size": family_size, "few_tests": "yes" if few else "no",
        "interaction_test": "yes", "continuous_as_continuous": "yes" if m.type == "continuous" else "not applicable",
        "consistency": consistency, "consistency_detail": detail, "p_holm": float(r["p_holm"]),
        "chance_unlikely": chance, "prior_evidence": prior,
        "outcome_better": {"plan": better, "derived": f"{better} (derived from its responder rule)"}.get(
            basis, f"{better} (assumed: outcomes[].better not set)"),
        "rating": RATINGS[max(level, 0)], "reasons": "; ".join(reasons),
    }
