"""Ratio-scale models as a clinician reads them: odds, hazard and rate ratios, not their logs.

Logistic, proportional-odds, Poisson, negative binomial and Cox models estimate on the log scale,
and the CSV files keep that scale and their columns (the contract). The report's tables and
words show the exponentiated effect with its exponentiated CI instead: a conditional effect as
'0.86 (0.63-1.18)' under 'Hazard ratio (95% CI)', an average effect as 'HR 0.69 (0.55-0.87)', a
Johnson-Neyman region as 'HR < 1 for Age above 51.95 (CI excludes 1; ...)'. Absolute scales
(risk, rate and RMST differences, mean differences) are shown as they are.

The Cox models' proportional-hazards test is a note on every row of its model (results.csv keeps
it there); the report's interaction tables show it once per model under the table instead, and
flag a model whose test failed on its cells (``PH_FLAG``) so the warning stays where it is read.
"""
from __future__ import annotations

import math
import re
from dataclasses import replace

import pandas as pd

from ..records import NON_PROPORTIONAL, PROPORTIONAL_HAZARDS, keys_of
from .check_notes import od_footnotes, od_view
from .labels import moderator_labels, outcome_labels
from .sentences import level_text, ratio_with_ci
from .tables import estimate_ci, missing, moderator_label, p_short, timepoint_text

# a log scale (the ``scale`` column of the section files) -> (the ratio's name, its abbreviation)
RATIO_SCALES = {"log odds ratio": ("odds ratio", "OR"), "log cumulative odds ratio": ("odds ratio", "OR"),
                "log hazard ratio": ("hazard ratio", "HR"), "log rate ratio": ("rate ratio", "RR")}
# the cells of a Cox model whose proportional-hazards test failed carry this mark; the note under
# the table says which terms failed and where to read instead (the RMST rows)
PH_MARK = "\u2020"
PH_FLAG = f"hazards not proportional{PH_MARK}"
# the test's note as models.survival_fit words it: 'proportional-hazards test (<comparison>): <P values>'
_PH_TEXT = re.compile(r"proportional-hazards test(?: \((?P<comparison>[^)]*)\))?: (?P<body>.*)", re.S)
# the Johnson-Neyman description's log-scale words and their ratio-scale form ({} the abbreviation)
_JN_WORDS = (("effect < 0", "{} < 1"), ("effect > 0", "{} > 1"), ("CI excludes 0", "CI excludes 1"),
             ("CI includes 0", "CI includes 1"))


# ---------------------------------------------------------------------------- scales
def ratio_scale(scale) -> tuple[str, str] | None:
    """(name, abbreviation) of the ratio whose log ``scale`` is, or None for an absolute scale."""
    return None if missing(scale) else RATIO_SCALES.get(str(scale))


def scale_words(scale) -> str:
    """The scale as the report names it: 'hazard ratio' for 'log hazard ratio'; others as they are."""
    r = ratio_scale(scale)
    return "" if missing(scale) else r[0] if r else str(scale)


def effect_ci(est, low, high, scale) -> str:
    """An effect and its CI on the scale a reader expects: exponentiated for a log-ratio scale
    ('0.86 (0.63-1.18)'), as it is otherwise ('-0.11 (-0.19 to -0.03)'); '' when missing."""
    if missing(est):
        return ""
    if ratio_scale(scale):
        return "{} ({})".format(*ratio_with_ci(est, low, high))
    return estimate_ci(est, low, high)


def effect_head(scales, level: str, default: str = "Treatment effect") -> str:
    """The effect column's head: 'Hazard ratio (95% CI)' when every row is on one scale, else
    'Treatment effect (95% CI)' (a Scale column then says which)."""
    kinds = {scale_words(s) for s in scales if not missing(s)}
    name = kinds.pop() if len(kinds) == 1 else ""
    return f"{(name[:1].upper() + name[1:]) if name else default} ({level} CI)"


def ratio_description(text, scale) -> str:
    """A Johnson-Neyman description on the ratio scale: 'effect < 0 ... (CI excludes 0; ...)' of a
    log hazard ratio reads 'HR < 1 ... (CI excludes 1; ...)'; absolute scales keep their words."""
    text = "" if missing(text) else str(text)
    r = ratio_scale(scale)
    if r is None:
        return text
    for old, new in _JN_WORDS:
        text = text.replace(old, new.format(r[1]))
    return text


def abbreviations(scales) -> str:
    """'HR, hazard ratio; OR, odds ratio.' for the ratio scales among ``scales`` ('' for none)."""
    found = sorted({r for r in (ratio_scale(s) for s in scales) if r is not None}, key=lambda r: r[1])
    return "; ".join(f"{abbr}, {name}" for name, abbr in found) + ("." if found else "")


def ratio_note(scales, csv_name: str, abbreviated: bool = False) -> str:
    """The note under a section table with ratio rows: that its ratios are exponentiated and where
    the log scale is kept (and the abbreviations, when the table uses them); '' without ratio rows."""
    names = sorted({r[0] for r in (ratio_scale(s) for s in scales) if r})
    if not names:
        return ""
    return ((abbreviations(scales) + " " if abbreviated else "") +
            f"The {' and '.join(n + 's' for n in names)} (and their CIs) are exponentiated from the model's log scale; "
            f"{csv_name}.csv keeps the log scale.")


# ---------------------------------------------------------------------------- average effects
def average_table(df: pd.DataFrame, results) -> dict | None:
    """The average-effects section as the report shows it: the effect with its CI on the ratio
    scale ('HR 0.69 (0.55-0.87)') or as a difference, P, n, the absolute scale beside it.
    {'columns', 'rows': [{'cells', 'detail'}], 'note'} like ``section_tables.section_table``."""
    if df is None or not len(df):
        return None
    plan = results.plan
    olab = outcome_labels(plan)
    level = level_text(plan.analysis.ci_level)
    threshold = plan.analysis.evidence_threshold
    rows = []
    for _, r in df.iterrows():
        scale = r.get("scale", "")
        abbr = ratio_scale(scale)
        tp = r.get("timepoint", "")
        when = "over follow-up" if missing(tp) or tp == "" else timepoint_text(tp, plan.data.time_unit)
        effect = effect_ci(r["estimate"], r["ci_low"], r["ci_high"], scale)
        rd = r.get("risk_difference", math.nan)
        rows.append({"Outcome, follow-up": f"{olab.get(r['outcome'], r['outcome'])}, {when}",
                     "Comparison": "" if missing(r.get("comparison", "")) else str(r.get("comparison", "")),
                     f"Treatment effect ({level} CI)": f"{abbr[1]} {effect}" if abbr and effect else effect,
                     "Scale": scale_words(scale),
                     "P": p_short(r["p_value"], threshold),
                     "n": "" if missing(r.get("n")) else str(int(r["n"])),
                     "df": _df(r.get("df")),
                     f"Risk difference ({level} CI)": "" if missing(rd) else estimate_ci(rd, r["rd_ci_low"], r["rd_ci_high"]),
                     "Note": "" if missing(r.get("note", "")) else str(r.get("note", ""))})
    return finished(rows, ratio_note(df.get("scale", ()), "average_effects", abbreviated=True),
                    text_columns=("Outcome, follow-up", "Comparison", "Scale", "Note"))


def _df(x) -> str:
    if missing(x) or (isinstance(x, float) and math.isinf(x)):
        return ""
    x = float(x)
    return str(int(round(x))) if abs(x - round(x)) < 0.05 else f"{x:.1f}"


def finished(rows: list[dict[str, str]], note: str, text_columns=()) -> dict | None:
    """Rows of cells as a section table: no column that is empty in every row; a true minus sign
    in the numbers (not in the words)."""
    from .typography import minus
    if not rows:
        return None
    columns = [c for c in rows[0] if any(r[c] for r in rows)]
    return {"columns": columns, "note": note,
            "rows": [{"cells": [r[c] if c in text_columns else minus(r[c]) for c in columns], "detail": ""} for r in rows]}


# ---------------------------------------------------------------------------- other section frames
# section frames the report shows as they are (html.format_frame) whose rows can be on a log-ratio
# scale: interaction rows of the complete-case and imputation-sensitivity analyses, and subgroup
# effects before and after shrinkage (PATH)
RATIO_FRAMES = ("complete_case", "imputation_sensitivity", "shrunken_subgroups")
_CI_PAIRS = (("ci_low", "ci_high"), ("shrunken_ci_low", "shrunken_ci_high"))


def ratio_frame(name: str, df):
    """(frame, note): a section frame with its log-ratio rows' estimates and CIs exponentiated and
    a ``scale`` column naming what they are ('ratio of odds ratios', 'hazard ratio'); standard
    errors (and tau2) stay on the log scale, as the note says. Other frames are returned as they are."""
    from .model_names import RATIO_MODELS, interaction_name
    if name not in RATIO_FRAMES or not isinstance(df, pd.DataFrame) or not len(df) or "estimate" not in df.columns:
        return df, ""
    if "scale" in df.columns:
        ratio_rows = df["scale"].isin(tuple(RATIO_SCALES)).to_numpy()
        label = [scale_words(s) for s in df["scale"]]
    elif "model" in df.columns:
        ratio_rows = df["model"].isin(tuple(RATIO_MODELS)).to_numpy()
        label = [interaction_name(m) for m in df["model"]]
    else:
        return df, ""
    if not ratio_rows.any():
        return df, ""
    out = df.copy()
    columns = [c for c in df.columns if c in ("estimate", "shrunken_estimate", "common_effect") or c.startswith("estimate_")]
    columns += [c for pair in _CI_PAIRS if all(x in df.columns for x in pair) for c in pair]
    for c in columns:
        values = pd.to_numeric(out[c], errors="coerce").astype(float)
        out[c] = values.where(~ratio_rows, values.map(_exp))
    if "scale" in out.columns:
        out["scale"] = label
    else:
        out.insert(list(out.columns).index("model") + 1, "scale", label)
    kinds = sorted({lab for lab, r in zip(label, ratio_rows) if r})
    logs = [c.replace("_", " ") for c in ("std_error", "shrunken_std_error", "tau2") if c in df.columns]
    note = (f"Rows on a ratio scale ({', '.join(kinds)}): estimates and CIs exponentiated from the model's log scale"
            + (f" ({', '.join(logs)} stay on the log scale)" if logs else "") + f"; {name}.csv keeps the log scale.")
    return out, note


def _exp(x: float) -> float:
    return math.nan if x != x else math.inf if x > 709.0 else math.exp(x)


# ---------------------------------------------------------------------------- proportional hazards
def _ph_parts(notes) -> tuple[list[str], list[str], list[str]]:
    """A row's notes split: (proportional-hazards test texts, failure texts, the other texts)."""
    tests = [n.text for n in notes if n.code == PROPORTIONAL_HAZARDS and n.text]
    failed = [n.text for n in notes if n.code == NON_PROPORTIONAL and n.text]
    other = [n.text for n in notes if n.code not in (PROPORTIONAL_HAZARDS, NON_PROPORTIONAL) and n.text]
    return tests, failed, other


def ph_view(results):
    """``results`` whose table's ``note`` column leaves out the Cox models' proportional-hazards
    test (shown once per model by ``ph_footnotes``) and says ``PH_FLAG`` where it failed; the
    other notes (separation, not estimable, ...) stay. For the report's interaction tables only:
    the estimates and every other column are untouched."""
    t = results.table
    if "note" not in t.columns or "cox" not in set(t["model"]):
        return od_view(results)     # the Poisson fits' overdispersion check likewise (report.check_notes)
    notes = []
    for key, text in zip(keys_of(t), t["note"]):
        coded = results.row_notes.get(key)
        if not isinstance(coded, tuple) or not coded:
            notes.append(text)
            continue
        tests, failed, other = _ph_parts(coded)
        if not tests and not failed:
            notes.append(text)
            continue
        notes.append("; ".join(other + ([PH_FLAG] if failed else [])))
    return od_view(replace(results, table=t.assign(note=notes)))


def ph_footnotes(results) -> list[str]:
    """One line per Cox outcome and follow-up: each model's (moderator's) proportional-hazards test,
    once, with ``PH_MARK`` and the failing terms for a model whose test failed. [] without Cox rows."""
    t = results.table
    if "cox" not in set(t["model"]):
        return od_footnotes(results)
    plan = results.plan
    olab, mlab = outcome_labels(plan), moderator_labels(plan)
    lines = []
    cox = t[t["model"] == "cox"]
    for o in plan.outcomes:
        sub = cox[cox["outcome"] == o.name]
        for tp in dict.fromkeys(sub["timepoint"]):
            tests, failures, seen = [], [], set[tuple]()
            for key, r in zip(keys_of(sub[sub["timepoint"] == tp]), sub[sub["timepoint"] == tp].itertuples(index=False)):
                coded = results.row_notes.get(key)
                found, failed, _ = _ph_parts(coded if isinstance(coded, tuple) else ())
                label = moderator_label(plan, r.moderator, mlab)
                for text in found:
                    if (r.moderator, text) in seen:
                        continue
                    seen.add((r.moderator, text))
                    m = _PH_TEXT.fullmatch(text)
                    comparison, body = (m.group("comparison"), m.group("body")) if m else (None, text)
                    # a multi-arm comparison's label already names it ('Age (B vs A)')
                    named = f" ({comparison})" if comparison and f"({comparison}" not in label else ""
                    tests.append(f"{label}{named}{PH_MARK if failed else ''}: {body}")
                for text in failed:
                    if (r.moderator, "failed", text) not in seen:
                        seen.add((r.moderator, "failed", text))
                        failures.append(f"{label}: {text}.")
            if not tests:
                continue
            when = "over follow-up" if tp == "" else timepoint_text(tp, plan.data.time_unit)
            line = (f"Proportional-hazards tests (scaled Schoenfeld residuals; one Cox model per moderator), "
                    f"{olab.get(o.name, o.name)}, {when}. " + "; ".join(tests) + ".")
            if failures:
                line += f" {PH_MARK} " + " ".join(failures)
            lines.append(line)
    return lines + od_footnotes(results)


__all__ = ["RATIO_SCALES", "PH_FLAG", "PH_MARK", "abbreviations", "average_table", "effect_ci", "effect_head",
           "finished", "ph_footnotes", "ph_view", "ratio_description", "ratio_frame", "ratio_note", "ratio_scale", "scale_words"]
