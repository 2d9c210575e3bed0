"""The report's key findings: the average treatment effect of each outcome and follow-up, then one
sentence per main-model interaction with evidence or hypothesis-generating, in clinical words.

A pure function of the Results (``key_findings``); the HTML report and tables.docx print its lines.
"""
from __future__ import annotations

from ..inference.credibility import GREATER, observed_direction, row_better
from .display import bare_number, comparison_name, in_sentence, level_name, short_label
from .labels import outcome_labels
from .model_names import rmst_when
from .sentences import interval, level_text, number, p_text, ratio_with_ci
from .tables import RATIO_MODELS, effect_name, main_model_rows, missing, timepoint_text

CLAIMED = ("evidence", "hypothesis-generating")
NO_CLAIM = "No moderator met the evidence or hypothesis-generating threshold."


def key_findings(results) -> list[str]:
    """The average effects (one line per outcome x follow-up), then the modifiers (or NO_CLAIM)."""
    return average_lines(results) + modifier_lines(results)


def _effect(estimate, low, high, model: str, ci_level: float) -> str:
    """'-1.09 [95% CI, -1.63 to -0.55]', or for a logistic model the odds ratio."""
    if model in RATIO_MODELS:
        est, ci = ratio_with_ci(estimate, low, high)
        return f"{est} [{level_text(ci_level)} CI, {ci}]"
    return f"{number(estimate)} [{level_text(ci_level)} CI, {interval(low, high)}]"


def _where(results, outcome: str, timepoint, model: str = "") -> str:
    label = outcome_labels(results.plan).get(outcome, outcome)
    label = label[:1].lower() + label[1:] if not label[:2].isupper() else label
    if timepoint == "":      # a time-to-event outcome's Cox model: the whole follow-up
        return f"{label} over follow-up"
    if model == "rmst":      # the horizon, in the outcome's time unit (outcomes[].time_unit)
        return f"{label} at the {rmst_when(results.plan, outcome, timepoint)}"
    return f"{label} at {timepoint_text(timepoint, results.plan.data.time_unit)}"


# a Cox average effect's risk difference is read off the Kaplan-Meier curves at the horizon
RD_NAMES = {"cox": "risk difference by the horizon (Kaplan-Meier)"}


def average_lines(results) -> list[str]:
    ate = results.sections.get("average_effects")
    if ate is None or ate.empty:
        return []
    a = results.plan.analysis
    out = []
    for r in ate.itertuples():
        what = effect_name(r.model)
        if missing(r.estimate):
            out.append(f"Average treatment effect on {_where(results, r.outcome, r.timepoint, getattr(r, 'model', ''))}: not estimable"
                       + (f" ({r.note})" if r.note else "") + ".")
            continue
        rd_name = RD_NAMES.get(r.model, "standardised risk difference")
        rd = ("" if missing(r.risk_difference) else
              f"; {rd_name} {_effect(r.risk_difference, r.rd_ci_low, r.rd_ci_high, 'linear', a.ci_level)}")
        # multi-arm: which comparison the line is about
        cmp = f"{comparison_name(results.plan, results.trial, r.comparison)}: " if getattr(r, "comparison", "") else ""
        out.append(f"{cmp}Average treatment effect on {_where(results, r.outcome, r.timepoint, getattr(r, 'model', ''))}: {what} "
                   f"{_effect(r.estimate, r.ci_low, r.ci_high, r.model, a.ci_level)}; "
                   f"{p_text(r.p_value, a.evidence_threshold)}{rd} (n = {r.n}).")
    return out


def _short(m) -> str:
    return in_sentence(short_label(m))


def _value(v) -> str:
    try:
        return f"{float(v):g}"
    except (TypeError, ValueError):
        return str(v)


def modifier_lines(results) -> list[str]:
    a = results.plan.analysis
    rows = main_model_rows(results)
    rows = rows[rows["tier"].isin(CLAIMED)]
    ce = results.sections.get("conditional_effects")
    mods = {m.name: m for m in results.plan.moderators}
    out = []
    for r in rows.itertuples():
        m = mods.get(r.moderator)
        if m is None:
            continue
        p = p_text(r.p_value, a.evidence_threshold)
        if a.multiplicity != "none" and not missing(r.p_adjusted):
            p += f", adjusted {p_text(r.p_adjusted, a.evidence_threshold)}"
        where = _where(results, r.outcome, r.timepoint, getattr(r, "model", ""))
        comparison = str(getattr(r, "comparison", "") or "")
        if comparison == "all arms":
            out.append(f"All arms: the treatment × {_short(m)} interaction on {where} {_verb(r.tier)} from 0 for at least one treated arm "
                       f"({r.tier}; joint test across arms {p}).")
            continue
        line = _modifier_line(results, ce, r, m, p, where)
        # multi-arm: the comparison the finding belongs to
        shown = comparison_name(results.plan, results.trial, comparison)
        out.append(f"{shown}: {line[:1].lower()}{line[1:]}" if comparison else line)
    return out or [NO_CLAIM]


def _verb(tier: str) -> str:
    """A joint test's claim as strong as its tier: evidence 'differed', a hypothesis 'may have differed'."""
    return "differed" if tier == "evidence" else "may have differed"


def _modifier_line(results, ce, r, m, p: str, where: str) -> str:
    a = results.plan.analysis
    if r.term == "joint":
        return (f"The treatment effect on {where} {_verb(r.tier)} across the levels of {_short(m)} "
                f"({r.tier}; joint test {p}).")
    tail = f"{r.tier}; interaction {p}."
    more = "more" if observed_direction(r.estimate, row_better(results.plan, r.outcome, r.model)) == GREATER else "less"
    points = _points(results, ce, r, m)
    effects = " vs ".join(f"{_effect(e.effect, e.ci_low, e.ci_high, r.model, a.ci_level)} {at}" for e, at in points)
    what = effect_name(r.model)
    if m.type == "continuous":
        head = f"Participants with higher {_short(m)} benefited {more} on {where}"
    else:
        # one pattern for every level: '<Moderator>, <level> vs <reference>: the <level> subgroup benefited ...'
        level, ref = _compared_levels(results, r, m)
        head = f"{_capital(m)}, {level} vs {ref}: {_subgroup(m, level)} benefited {more} than {_subgroup(m, ref)} on {where}"
    body = f": treatment effect ({what}) {effects}; " if points else ": "
    return head + body + tail


def _points(results, ce, r, m) -> list:
    """(conditional-effect row, 'at 29 (10th percentile)') at the moderator's 10th and 90th
    percentiles, or at the reference and the compared level."""
    if ce is None or ce.empty:
        return []
    sub = ce[(ce["model"] == r.model) & (ce["outcome"] == r.outcome) & (ce["timepoint"] == r.timepoint)
             & (ce["moderator"] == r.moderator) & (ce["scale"] != "risk difference")]
    by = {str(e.percentile): e for e in sub.itertuples()}
    if m.type == "continuous":
        wanted = [("p10", "10th"), ("p90", "90th")]
        return [(by[k], f"at {_value(by[k].moderator_value)} ({w} percentile)") for k, w in wanted if k in by]
    levels = list(getattr(results.trial.moderators.get(m.name), "levels", ()))
    if len(levels) < 2:
        return []
    level = r.term if m.type == "categorical" else levels[1]
    return [(by[str(lv)], f"in {_subgroup(m, level_name(results.plan, m.name, lv))}")
            for lv in (levels[0], level) if str(lv) in by]


def _compared_levels(results, r, m) -> tuple[str, str]:
    """(level, reference) of a binary or categorical interaction row, as the reader sees them."""
    levels = list(getattr(results.trial.moderators.get(m.name), "levels", ()))
    level = r.term if m.type == "categorical" else (levels[1] if len(levels) == 2 else "")
    ref = levels[0] if levels else ""
    return level_name(results.plan, m.name, level), level_name(results.plan, m.name, ref)


# levels that say whether the characteristic is present: 'the subgroup with/without <moderator>'
_PRESENT = {"yes": "with", "y": "with", "true": "with", "no": "without", "n": "without", "false": "without"}


def _subgroup(m, shown: str) -> str:
    """A level as a subgroup: 'the female subgroup'; 'the subgroup with psychoactive medication use'
    for yes/no levels; 'the centre 2 subgroup' for a bare code ('the 2 subgroup' says nothing)."""
    if shown.strip().lower() in _PRESENT:
        return f"the subgroup {_PRESENT[shown.strip().lower()]} {_short(m)}"
    return f"the {_short(m)} {shown} subgroup" if bare_number(shown) else f"the {shown} subgroup"


def _capital(m) -> str:
    """The moderator's short label at the start of a sentence."""
    short = _short(m)
    return short[:1].upper() + short[1:]
