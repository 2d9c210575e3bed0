"""Tables for the report, the notebook, the CSV files and tables.docx, built once here.

Every number goes through ``effectmod.report.sentences`` so that the HTML, Word and CSV tables
print it the same way (CONTRACT §5).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from .display import level_names
from .labels import moderator_labels, outcome_labels

# the model kinds' names (re-exported: tables is where the report's writers import them from)
from .model_names import (  # noqa: F401
    COUNT_MODELS,
    EFFECT_NAMES,
    MODEL_NAMES,
    RATIO_MODELS,
    TYPE_MODELS,
    effect_name,
    interaction_name,
    ratio_head,
    rmst_when,
)
from .sentences import interval, level_text, number, p_text, ratio_with_ci
from .table1 import INDENT, SKEW_LIMIT, table1, table1_spec  # noqa: F401 (Table 1 lives in report.table1)

# the note a kept maximum-likelihood logistic row carries when its fit separated (models/fit.py):
# its estimate and CI diverge (log odds ratios of +-20 with CIs tens of thousands wide)
DIVERGING_NOTE = "separation: estimate unreliable"


# ---------------------------------------------------------------------------- labels
def timepoint_text(timepoint: str, unit: str | None = None) -> str:
    """'52 weeks' with the plan's data.time_unit, 'follow-up 52' for a bare number without one,
    else the label as written."""
    t = str(timepoint)
    try:
        float(t)
    except ValueError:
        return t
    return f"{t} {unit}" if unit else f"follow-up {t}"


def missing(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x)) or x is pd.NA


def p_short(p: float, threshold: float = 0.05) -> str:
    """P as a table cell: '.007', '<.001', '>.99'."""
    if missing(p):
        return ""
    text = p_text(float(p), threshold)
    return text[4:] if text.startswith("P = ") else text[2:].replace(" ", "")


def estimate_ci(est: float, low: float, high: float) -> str:
    if missing(est):
        return ""
    return f"{number(est)} ({interval(low, high)})"


def odds_ratio_ci(est: float, low: float, high: float) -> str:
    """The ratio (exp of a log-scale estimate) and its CI: '1.35 (0.80-2.10)', '>999 (0.50 to >999)'
    for a diverging fit, whose row carries the note saying why."""
    if missing(est):
        return ""
    return "{} ({})".format(*ratio_with_ci(est, low, high))


def model_order(results) -> list[str]:
    """Model types in the order of the table rows (the main model first)."""
    return list(dict.fromkeys(results.table["model"]))


def main_model_rows(results) -> pd.DataFrame:
    """Rows of the main analysis: the plan's main model, or logistic for binary outcomes."""
    t = results.table
    # binary outcomes are fitted by logistic regression whatever the main model (mixed is refused)
    return t[t["model"].isin({results.plan.analysis.model, *TYPE_MODELS})]


def per_text(moderator) -> str:
    """'per 10 years' for a continuous moderator reported per k units (moderators[].per), with its
    units when the plan gives them; '' when its interaction is per one unit or compares levels."""
    k = getattr(moderator, "per", None)
    if moderator.type != "continuous" or k is None or k == 1:
        return ""
    places = next((d for d in range(7) if abs(round(k, d) - k) <= 1e-12 * max(1.0, abs(k))), 6)
    return f"per {number(k, places)} " + (moderator.units or "units")


def moderator_label(plan, name: str, labels: dict[str, str]) -> str:
    """The moderator's label, with ', per 10 years' when its interaction is reported per k units."""
    m = next((m for m in plan.moderators if m.name == name), None)
    per = per_text(m) if m is not None else ""
    return labels.get(name, name) + (f", {per}" if per else "")


def term_label(row, ref: dict) -> str:
    if not row["term"]:
        # a binary moderator's row: the comparison it makes ('female vs male'), when its label does not say it
        return ref.get((row["moderator"], ""), "")
    if row["term"] == "joint":
        # a multi-arm trial's 'all arms' row: its label already says '(all arms, joint test)'
        return "" if str(row["moderator"]).endswith("[all arms]") else "joint test"
    return f"{ref.get((row['moderator'], row['term']), row['term'])} vs {ref.get(row['moderator'], 'reference')}"


reference_levels = level_names      # each moderator's reference level and levels as shown (moderators[].level_labels)


# ---------------------------------------------------------------------------- JAMA layout
@dataclass(frozen=True)
class Cell:
    text: str          # β (CI), or the ratio of odds ratios (CI) for logistic rows
    p: str
    tier: str
    log_odds: str = ""  # logistic rows: the interaction on the log scale (log of the ratio of odds ratios)
    note: str = ""


@dataclass(frozen=True)
class JamaTable:
    """Moderator rows x (outcome, follow-up, model) columns, every cell already formatted."""

    columns: list[tuple[str, str, str]]      # (outcome label, follow-up, model)
    rows: list[tuple[str, str]]              # (moderator label, term label)
    cells: list[list[Cell | None]]
    ci_label: str                            # '95% CI'

    @property
    def multi_model(self) -> bool:
        """Whether some outcome x follow-up has more than one model (a sensitivity analysis)."""
        pairs = [(c[0], c[1]) for c in self.columns]
        return len(pairs) != len(set(pairs))

    def estimate_head(self, j: int) -> str:
        return ratio_head(self.columns[j][2]) + f" ({self.ci_label})"

    def to_frame(self) -> pd.DataFrame:
        """Flat CSV form: one column pair (estimate, P) per outcome x follow-up x model."""
        data = {"Moderator": [r[0] for r in self.rows], "Term": [r[1] for r in self.rows]}
        for j, (out, tp, model) in enumerate(self.columns):
            head = f"{out} | {tp}" + (f" | {MODEL_NAMES.get(model, model)}" if self.multi_model else "")
            cells = [row[j] for row in self.cells]
            data[f"{head} | {self.estimate_head(j)}"] = [c.text if c else "" for c in cells]
            if any(c is not None and c.log_odds for c in cells):
                data[f"{head} | log scale (CI)"] = [c.log_odds if c else "" for c in cells]
            data[f"{head} | P"] = [c.p if c else "" for c in cells]
        return pd.DataFrame(data)


def main_models(results) -> set[str]:
    """Model types of the main analysis: the plan's main model, and logistic for binary outcomes."""
    return {results.plan.analysis.model, *TYPE_MODELS}


def jama_table(results, models: set[str] | None = None, boot: bool = False,
               table: pd.DataFrame | None = None) -> JamaTable:
    """The interaction table as journals print it (JAMA layout): Table 2 holds the main analysis
    (``models`` None); an eTable passes its sensitivity model, or ``boot`` for bootstrap CIs.
    Follow-up headers carry the plan's data.time_unit ('18 weeks') when it is set; ``table`` is
    another frame of result rows (the complete-case rows beside an imputed analysis)."""
    a = results.plan.analysis
    t = results.table if table is None else table
    t = t[t["model"].isin(main_models(results) if models is None else models)]
    unit = results.plan.data.time_unit
    olab, mlab = outcome_labels(results.plan), moderator_labels(results.plan)
    refs = reference_levels(results)
    models_seen = list(dict.fromkeys(t["model"]))
    columns = []
    for o in results.plan.outcomes:
        sub = t[t["outcome"] == o.name]
        for tp in dict.fromkeys(sub["timepoint"]):
            for model in models_seen:
                if ((sub["timepoint"] == tp) & (sub["model"] == model)).any():
                    columns.append((o.name, tp, model))
    keys = list(dict.fromkeys(zip(t["moderator"], t["term"])))
    order = {m.name: i for i, m in enumerate(results.plan.moderators)}
    keys.sort(key=lambda k: order.get(k[0], len(order)))
    index = {(r.outcome, r.timepoint, r.model, r.moderator, r.term): r for r in t.itertuples(index=False)}
    cells = []
    for mod, term in keys:
        line = []
        for (out, tp, model) in columns:
            r = index.get((out, tp, model, mod, term))
            line.append(None if r is None else _cell(r, a.evidence_threshold, boot))
        cells.append(line)
    rows = [(moderator_label(results.plan, m, mlab), term_label({"term": term, "moderator": m}, refs)) for m, term in keys]
    # a Cox model's rows have no follow-up time (timepoint ''): its column is headed 'over follow-up'
    cols = [(olab.get(o, o), rmst_when(results.plan, o, tp) if model == "rmst" else "over follow-up" if tp == "" else
             timepoint_text(tp, unit), model)
            for o, tp, model in columns]
    return JamaTable(cols, rows, cells, ("bootstrap " if boot else "") + f"{_level(a.ci_level)} CI")


def _level(ci_level: float) -> str:
    return level_text(ci_level)


def _cell(r, threshold: float, boot: bool = False) -> Cell:
    if boot and r.tier != "not-estimable" and r.term != "joint":
        # the bootstrap percentile interval around the same estimate; P stays the model's
        low, high = getattr(r, "boot_ci_low", math.nan), getattr(r, "boot_ci_high", math.nan)
        if missing(low) or missing(high):
            return Cell("", p_short(r.p_value, threshold), r.tier)
        if r.model in RATIO_MODELS:
            return Cell("{} ({})".format(*ratio_with_ci(r.estimate, low, high)), p_short(r.p_value, threshold), r.tier,
                        log_odds=estimate_ci(r.estimate, low, high), note=_note(r))
        return Cell(estimate_ci(r.estimate, low, high), p_short(r.p_value, threshold), r.tier, note=_note(r))
    if r.tier == "not-estimable":
        return Cell("NE", "", r.tier, note=str(getattr(r, "note", "") or ""))
    if r.term == "joint":
        return Cell("joint test", p_short(r.p_value, threshold), r.tier)
    if r.model in RATIO_MODELS:
        return Cell(odds_ratio_ci(r.estimate, r.ci_low, r.ci_high), p_short(r.p_value, threshold), r.tier,
                    log_odds=estimate_ci(r.estimate, r.ci_low, r.ci_high), note=_note(r, boot))
    return Cell(estimate_ci(r.estimate, r.ci_low, r.ci_high), p_short(r.p_value, threshold), r.tier, note=_note(r, boot))


def _note(r, boot: bool = True) -> str:
    """A separation note (or any other) beside an estimable row: the reader must see why a
    ratio prints as '>999'. A table without bootstrap CIs (``boot`` False: Table 2) leaves out
    the bootstrap's notes ('bootstrap: not run for rmst rows'), which are about another table."""
    note = getattr(r, "note", "")
    text = "" if missing(note) else str(note or "")
    return text if boot else "; ".join(p for p in text.split("; ") if p and not p.startswith("bootstrap:"))


# ---------------------------------------------------------------------------- results by group
def grouped_results(results) -> list[dict]:
    """The results table grouped by outcome and follow-up: [{title, rows: [dict of texts]}]."""
    a = results.plan.analysis
    t = results.table
    olab, mlab = outcome_labels(results.plan), moderator_labels(results.plan)
    refs = reference_levels(results)
    has_boot = "boot_ci_low" in t.columns
    groups = []
    for o in results.plan.outcomes:
        sub = t[t["outcome"] == o.name]
        for tp in dict.fromkeys(sub["timepoint"]):
            rows = []
            for _, r in sub[sub["timepoint"] == tp].iterrows():
                logistic = r["model"] in RATIO_MODELS and r["term"] != "joint"
                log_scale = "" if r["term"] == "joint" else estimate_ci(r["estimate"], r["ci_low"], r["ci_high"])
                row = {
                    "moderator": moderator_label(results.plan, r["moderator"], mlab),
                    "term": term_label(r, refs),
                    "model": r["model"],
                    # a logistic row leads with its ratio of odds ratios; its log-scale value goes beneath
                    # a joint test has no single estimate: say so (as Table 2) rather than leave its
                    # note alone in the estimate column, where it reads like one
                    "estimate": (odds_ratio_ci(r["estimate"], r["ci_low"], r["ci_high"]) if logistic else
                                 "joint test" if r["term"] == "joint" else log_scale),
                    "odds_ratio": odds_ratio_ci(r["estimate"], r["ci_low"], r["ci_high"]) if logistic else "",
                    "log_scale": log_scale if logistic else "",
                    "ratio_label": ratio_head(r["model"]).replace("Ratio", "ratio") if r["model"] in RATIO_MODELS else "",
                    "p": p_short(r["p_value"], a.evidence_threshold),
                    "p_adjusted": p_short(r["p_adjusted"], a.evidence_threshold),
                    "n": str(int(r["n"])),
                    "tier": r["tier"],
                    "note": str(r.get("note", "") or ""),
                }
                if has_boot:
                    lo, hi = r["boot_ci_low"], r["boot_ci_high"]
                    row["boot"] = ("" if missing(lo) else ratio_with_ci(r["estimate"], lo, hi)[1] if logistic
                                   else interval(lo, hi))
                if "p_permutation" in t.columns:
                    row["p_permutation"] = p_short(r["p_permutation"], a.evidence_threshold)
                    if r["model"] != "linear":       # the Freedman-Lane test covers linear models only
                        row["p_permutation"] = "n/a"
                rows.append(row)
            when = ("over follow-up (Cox)" if tp == "" else
                    f"restricted mean survival time to {tp} {o.time_unit or ''}".rstrip() if o.type == "time_to_event" else
                    timepoint_text(tp, results.plan.data.time_unit))
            groups.append({"title": f"{olab.get(o.name, o.name)}, {when}", "rows": rows})
    return groups


# ---------------------------------------------------------------------------- Table 1
def covariate_texts(results) -> list[str]:
    """Each covariate as the methods text names it: a categorical one with its indicators."""
    cov = results.trial.covariates
    out = []
    for entry in results.plan.covariates:
        if isinstance(entry, str) or entry.type != "categorical":
            out.append(entry if isinstance(entry, str) else entry.column)
            continue
        k = sum(1 for s in cov.sources if s == entry.column)
        ref = cov.references.get(entry.column)
        out.append(f"{entry.column} (categorical: {k} indicator{'s' if k != 1 else ''}"
                   + (f", reference level {ref}" if ref is not None else "") + ")")
    return out
