"""The credibility, conditional-effect and Johnson-Neyman tables of the report, as a reader sees
them: human labels, numbers formatted as in Table 2 with a true minus sign (U+2212), df as whole
numbers (one decimal when fractional), no column that is empty in every row, and the credibility
assessment as one compact row per claim with its item answers on a line beneath.

The CSV files of these sections keep their machine columns; only the report changes.
"""
from __future__ import annotations

import math
import re

import pandas as pd

from .display import binary_comparison, level_name
from .labels import moderator_labels, outcome_labels
from .model_names import rmst_when
from .paragraph import DIRECTION_TEXT
from .ratio_display import average_table, effect_ci, effect_head, ratio_description, ratio_note, scale_words
from .sentences import level_text, number
from .tables import MODEL_NAMES, RATIO_MODELS, estimate_ci, missing, odds_ratio_ci, p_short, timepoint_text

NAMES = ("credibility", "conditional_effects", "johnson_neyman", "average_effects")
_NEGATIVE = re.compile(r"(?<![\d.])-(?=\d)")
# credibility items shown beneath each claim, in ICEMAN's order
ITEMS = (("prespecified", "pre-specified"), ("direction_hypothesised", "direction hypothesised"),
         ("observed_direction", "observed direction"), ("direction_consistent", "direction as hypothesised"),
         ("few_tests", "one of few tests"), ("interaction_test", "interaction test"),
         ("continuous_as_continuous", "continuous moderator kept continuous"), ("consistency", "consistent across outcomes"),
         ("chance_unlikely", "chance unlikely"), ("prior_evidence", "prior evidence"))


# columns that hold words (labels from the plan, reasons), never given a true minus sign
TEXT_COLUMNS = frozenset({"Moderator", "Outcome, follow-up", "Tier", "Credibility (ICEMAN)", "Scale", "Description"})


def minus(text: str) -> str:
    """A true minus sign for every negative number in the text ('0.01-0.16' ranges keep their dash)."""
    return _NEGATIVE.sub("\u2212", text)


def df_text(x) -> str:
    if missing(x) or (isinstance(x, float) and math.isinf(x)):
        return ""
    x = float(x)
    return str(int(round(x))) if abs(x - round(x)) < 0.05 else f"{x:.1f}"


def words(v) -> str:
    """A snake_case value as words ('less_benefit_when_higher' -> 'less benefit when higher')."""
    if missing(v):
        return ""
    text = str(v)
    return DIRECTION_TEXT.get(text, text.replace("_", " "))


def _span(v) -> str:
    """'[3, 7.384]' (the JSON-like span of the CSV) as '3 to 7.384'."""
    text = words(v)
    return re.sub(r"\[\s*([^,\]]+),\s*([^\]]+)\]", r"\1 to \2", text)


def _percentile(v, value) -> str:
    """'p50' as '50th'; blank for a level (a binary or categorical moderator's value)."""
    text = words(v)
    m = re.fullmatch(r"p(\d+)", text)
    if m:
        k = int(m.group(1))
        return f"{k}{'th' if 10 <= k % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(k % 10, 'th')}"
    return "" if text == words(value) else text


def section_table(name: str, df: pd.DataFrame, results) -> dict | None:
    """{'columns': [...], 'rows': [{'cells': [...], 'detail': str}]} for one of ``NAMES``."""
    if name not in NAMES or df is None or not len(df):
        return None
    if name == "average_effects":
        # the ratio models' average effect as 'HR 0.69 (0.55-0.87)' (report.ratio_display)
        return average_table(df, results)
    olab, mlab = outcome_labels(results.plan), moderator_labels(results.plan)
    unit = results.plan.data.time_unit
    threshold = results.plan.analysis.evidence_threshold
    several_models = df["model"].nunique() > 1 if "model" in df.columns else False
    levelled = {m.name for m in results.plan.moderators if m.level_labels}     # levels shown by their labels

    def where(r) -> str:
        when = (rmst_when(results.plan, r["outcome"], r["timepoint"]) if r.get("model") == "rmst" else
                "over follow-up" if r["timepoint"] == "" else timepoint_text(r["timepoint"], unit))
        text = f"{olab.get(r['outcome'], r['outcome'])}, {when}"
        return text + (f" ({MODEL_NAMES.get(r['model'], r['model'])})" if several_models else "")

    def mod(r) -> str:
        term = r.get("term", "")
        shown = "" if missing(term) or not term else level_name(results.plan, r["moderator"], term)
        return mlab.get(r["moderator"], r["moderator"]) + (f": {shown}" if shown else "")

    compared = {m: binary_comparison(results, m) for m in results.trial.moderators}

    def _at_level(text: str, moderator) -> str:
        # a binary moderator is 'higher' at its non-reference level: say which ('greater benefit (male vs female)')
        shown = compared.get(moderator, "")
        return f"{text.removesuffix(' when higher')} ({shown})" if shown and text.endswith(" when higher") else text

    rows: list[tuple[dict[str, str], str]] = []
    if name == "credibility":
        index = {(x.outcome, x.timepoint, x.model, x.moderator, x.term): x for x in results.table.itertuples(index=False)}
        for _, r in df.iterrows():
            x = index.get((r["outcome"], r["timepoint"], r["model"], r["moderator"], r["term"]))
            # formatted as Table 2 formats the row: a ratio of odds ratios for logistic models
            fmt = odds_ratio_ci if r["model"] in RATIO_MODELS else estimate_ci
            est = number(r["estimate"]) if x is None else fmt(x.estimate, x.ci_low, x.ci_high)
            items = "; ".join(f"{label}: {_at_level(words(r[c]), r['moderator']) if c == 'observed_direction' else words(r[c])}"
                              for c, label in ITEMS if c in df.columns and words(r[c]))
            reasons = words(r.get("reasons", ""))
            rows.append(({"Moderator": mod(r), "Outcome, follow-up": where(r), "Estimate (CI)": est,
                          "P": p_short(r["p_value"], threshold), "Tier": words(r["tier"]),
                          "Credibility (ICEMAN)": words(r["rating"])},
                         items + (f". Reasons: {reasons}" if reasons else "")))
    elif name == "conditional_effects":
        # ratio models' effects exponentiated, under the ratio's name when every row has it
        head = effect_head(df.get("scale", ()), level_text(results.plan.analysis.ci_level))
        one_scale = not head.startswith("Treatment effect")
        for _, r in df.iterrows():
            value = r["moderator_value"]
            rows.append(({"Moderator": mod(r), "Outcome, follow-up": where(r),
                          # at most two decimals, as the key findings give it ('39.33', not '39.3333')
                          "Moderator value": (level_name(results.plan, r["moderator"], value) if r["moderator"] in levelled
                                              else f"{round(value, 2):g}" if isinstance(value, float) else words(value)),
                          "Percentile": _percentile(r.get("percentile", ""), value),
                          head: effect_ci(r["effect"], r["ci_low"], r["ci_high"], r.get("scale", "")),
                          "P": p_short(r["p_value"], threshold), "df": df_text(r.get("df")),
                          "n": "" if missing(r.get("n")) else str(int(r["n"])),
                          "Scale": "" if one_scale else scale_words(r.get("scale", ""))}, ""))
    else:
        for _, r in df.iterrows():
            bounds = " to ".join(number(v) for v in (r["lower"], r["upper"]) if not missing(v))
            region = words(r["significant_region"]) + (f" {bounds}" if bounds else "")
            rows.append(({"Moderator": mod(r), "Outcome, follow-up": where(r), "Region of significance": region,
                          "Observed range": f"{number(r['observed_min'])} to {number(r['observed_max'])}",
                          "Significant within the observed range": _span(r.get("significant_observed", "")),
                          "df": df_text(r.get("df")), "Scale": scale_words(r.get("scale", "")),
                          "Description": ratio_description(r.get("sign_description", ""), r.get("scale", ""))}, ""))
    if not rows:
        return None
    columns = [c for c in rows[0][0] if any(cells[c] for cells, _ in rows)]
    return {"columns": columns, "note": "" if name == "credibility" else ratio_note(df.get("scale", ()), name, name == "johnson_neyman"),
            # the true minus goes into numbers only: labels and reasons keep their hyphens (EQ-5D)
            "rows": [{"cells": [cells[c] if c in TEXT_COLUMNS else minus(cells[c]) for c in columns], "detail": detail}
                     for cells, detail in rows]}
