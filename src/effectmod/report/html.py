"""report.html: one self-contained page (inline CSS, figures as data: URIs, no scripts, no fetches).

The page is rendered by jinja2 with autoescaping on, so every text from the data or the plan is
escaped; figures are embedded as base64 SVG images, so nothing inside them can run either.
"""
from __future__ import annotations

import base64
import json
import math
import re
from dataclasses import dataclass

import pandas as pd

from .._version import __version__
from . import paragraph, tables
from .clusters import se_parts
from .comparisons import flattened
from .display import arm_name, comparison_name, display_flow, level_name
from .etables import etables
from .key_findings import key_findings
from .labels import label_of
from .model_names import rmst_when
from .ratio_display import ph_footnotes, ph_view, ratio_frame
from .section_tables import section_table
from .sentences import interval, level_text, number, threshold_text
from .text import printable
from .typography import minus

SECTION_TITLES = {
    "average_effects": "Average treatment effects",
    "conditional_effects": "Treatment effect at chosen moderator values",
    "johnson_neyman": "Johnson–Neyman regions of significance",
    "credibility": "Credibility of the effect modification claims",
    "additive_scale": "Interactions on the additive (risk difference) scale",
    "missingness": "Missing data",
    "missing_patterns": "Missing-data patterns",
    "complete_case": "Complete-case analysis beside the imputed analysis",
    "imputation_diagnostics": "Imputed values outside the observed range",
    "imputation_sensitivity": "Imputation sensitivity: the other imputation method",
    "predictive": "Predictive heterogeneity (PATH)",
    "risk_groups": "Risk modelling: treatment effects by predicted-risk group",
    "benefit_metrics": "Discrimination and calibration of the risk and effect models",
    "shrunken_subgroups": "Subgroup effects: raw and shrunken (empirical Bayes)",
    "absolute_risk": "Absolute risk by the horizon within each moderator level (Kaplan-Meier)",
    "time_to_event_flow": "Time-to-event flow: events, censoring and median follow-up by arm",
}
# the report text beside the forest plot: which scale the continuous moderators are drawn on
FOREST_NOTES = {
    "per_sd": ("Continuous moderators are drawn per standard deviation (SD): the interaction per unit times the "
               "moderator's SD among the participants the model analysed, so that moderators measured on different "
               "scales can be seen beside a binary moderator's wider interval (analysis.forest_scale: per_sd, the "
               "default). Table 2 and results.csv give the interactions per unit."),
    "raw": ("Interactions are drawn per unit of each moderator (analysis.forest_scale: raw); a moderator with a "
            "small unit may sit close to zero beside a binary moderator's wide interval."),
}

# sections drawn as a figure only (their numbers are in results.json)
FIGURE_ONLY_SECTIONS = {"benefit_curve"}
P_COLUMNS = {"p_value", "p", "p_adjusted", "p_interaction", "p_permutation", "joint_p"}
# the generic section tables (format_frame): machine words of the CSV's column names as a reader
# reads them ('rd_std_error' -> 'RD SE', 'p_value' -> 'P'); the CSV files keep their names
HEAD_PHRASES = (("std error", "SE"), ("p value", "P"), ("followup", "follow-up"), ("timepoint", "follow-up"))
HEAD_WORDS = {"se": "SE", "rd": "RD", "ci": "CI", "p": "P"}
QUANTITY_WORDS = {"rd_interaction": "interaction (difference in differences)"}


@dataclass(frozen=True)
class RenderedFigure:
    name: str
    caption: str
    svg: bytes

    @property
    def data_uri(self) -> str:
        return "data:image/svg+xml;base64," + base64.b64encode(self.svg).decode("ascii")


def render_report(results, figures: list[RenderedFigure]) -> str:
    """The whole page as text, embedding the figures the writer saved (report.outputs)."""
    env = _environment()
    # control characters and lone surrogates in user text would make the page invalid (or unwritable as UTF-8)
    return printable(env.get_template("report.html.j2").render(**report_context(results, figures)))


def _environment():
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
    env = Environment(loader=PackageLoader("effectmod.report", "templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    # Table 2 and the eTables print negative numbers with a true minus sign (report.typography)
    env.filters["minus"] = minus
    return env


def report_context(results, figures: list[RenderedFigure]) -> dict:
    t1 = tables.table1(results)
    original = results
    # a multi-arm trial's tables and text: each moderator per comparison and for all arms (report.comparisons)
    results = flattened(results)
    plan, a = results.plan, results.plan.analysis
    flow = display_flow(original.plan, results.trial.flow)      # the arms' display names (data.arm_labels)
    agreement = paragraph.direction_agreement(original)
    if original is not results:
        plan = original.plan
    moderators = [{"label": label_of(m), "name": m.name, "column": m.column, "type": m.type,
                   "direction": paragraph.DIRECTION_TEXT[m.hypothesised_direction], "rationale": m.rationale,
                   "agreed": agreement.get(m.name, ""), "prespecified": "yes" if m.prespecified else "post hoc"}
                  for m in plan.moderators]
    forest = [f for f in figures if f.name.startswith("forest_interactions")]
    other = [f for f in figures if f.name != "consort_flow" and not f.name.startswith("forest_interactions")]
    known = [n for n in SECTION_TITLES if n in results.sections]
    extra = known + [n for n in results.sections if n not in SECTION_TITLES and n not in FIGURE_ONLY_SECTIONS]
    # a section without rows (rhDNase: no credibility rows, no absolute risks for a continuous moderator)
    # is left out rather than shown as an empty table of column names
    extra = [n for n in extra if not (isinstance(results.sections[n], pd.DataFrame) and results.sections[n].empty)]
    return {
        "title": plan.title or "Treatment effect modifier analysis",
        "version": __version__,
        "inputs": [(k, v.get("source", ""), v.get("sha256", "")) for k, v in sorted(results.inputs.items())],
        # the printed text's negative numbers with a true minus sign, as in the tables (the console and
        # Results.summary() keep the hyphen-minus)
        "key_findings": [minus(t) for t in key_findings(results)],
        "plan_summary": _plan_summary(original),
        "methods": paragraph.methods_text(original),
        "moderators": moderators,
        "flow": flow,
        "flow_models": _flow_models(original),
        # 'Ranges are over the moderators' only under a table that shows a range (n 70-72, exclusions 1-3)
        "flow_ranges": any(re.search(r"^\d+-\d+$|: \d+-\d+(;|$)", f"{r['n']}|{r['excluded']}".replace("|", "\n"), re.M)
                           for r in _flow_models(original)),
        "consort": next((f for f in figures if f.name == "consort_flow"), None),
        "table1": t1,
        "table1_rule": (f"Continuous characteristics are shown as mean (SD), or as median (IQR) when the absolute sample "
                        f"skewness over both arms exceeds {tables.SKEW_LIMIT:g}; categories as n (%) of those with the value "
                        "recorded; missing values are counted on their own line."),
        # the Cox models' proportional-hazards test once per model under the tables, not in each cell
        "jama": tables.jama_table(ph_view(results)),
        "etables": etables(ph_view(results)),
        "ph_notes": ph_footnotes(results),
        # the results-by-group table lists every model's rows: a Model column when a follow-up has several
        "multi_model": tables.jama_table(results, models=set(results.table["model"])).multi_model,
        "has_logistic": "logistic" in set(results.table["model"]),
        "has_count": bool({"poisson", "negative_binomial"} & set(results.table["model"])),
        "has_ordinal": "ordinal" in set(results.table["model"]),
        "has_cox": "cox" in set(results.table["model"]),
        "has_rmst": "rmst" in set(results.table["model"]),
        "rmst_units": ", ".join(sorted({o.time_unit or "the time column's units" for o in results.plan.outcomes if o.type == "time_to_event"})),
        "scale_legend": scale_legend(results),
        "model_names": tables.MODEL_NAMES,
        "paragraphs": [minus(t) for t in paragraph.results_paragraph(results)],
        "groups": tables.grouped_results(ph_view(results)),
        "has_boot": "boot_ci_low" in results.table.columns,
        "cluster_note": _cluster_note(results),
        # the permutation P column only when some row has one (the test covers linear models only)
        "has_perm": "p_permutation" in results.table.columns and bool(results.table["p_permutation"].notna().any()),
        "has_adjusted": a.multiplicity != "none",
        "ci": level_text(a.ci_level),
        "thresholds": (threshold_text(a.evidence_threshold), threshold_text(a.exploratory_threshold)),
        "forest": forest,
        "forest_note": FOREST_NOTES[a.forest_scale],
        "other_figures": other,
        "sections": [_section(n, results.sections[n], results) for n in extra],
    }


def scale_legend(results) -> str:
    """What each interaction under Table 2 is, for the models the analysis has only (no 'β' in
    a report of Cox or logistic models)."""
    models = set(results.table["model"])
    units = ", ".join(sorted({o.time_unit or "the time column's units" for o in results.plan.outcomes
                              if o.type == "time_to_event"}))
    parts = [
        ({"linear", "mixed"}, "β: difference in the treatment effect per unit of the moderator (raw units)"),
        ({"logistic"}, "ratio of ORs (binary outcomes): ratio of odds ratios per unit of the moderator"),
        ({"poisson", "negative_binomial"}, "ratio of RRs (count outcomes): ratio of rate ratios per unit of the moderator"),
        ({"ordinal"}, "ratio of ORs (ordinal outcomes): ratio of proportional (cumulative) odds ratios, above 1 meaning "
                      "a larger shift towards higher categories"),
        ({"cox"}, "ratio of HRs (time-to-event outcomes): ratio of hazard ratios per unit of the moderator"),
        ({"rmst"}, "difference in RMST differences (time-to-event outcomes, horizon in the column head): the "
                   "treated-minus-control difference in restricted mean survival time to the horizon in a moderator "
                   f"level minus that in the reference level, or per unit of a continuous moderator, in {units}"),
    ]
    shown = [text for kinds, text in parts if kinds & models] or [parts[0][1]]
    text = "; ".join(shown)
    return text if text.startswith("β") else text[:1].upper() + text[1:]     # a sentence, but β stays β


def _cluster_note(results) -> str:
    from .clusters import table_note
    return table_note(results)


def _moderator_count(plan) -> str:
    post_hoc = sum(not m.prespecified for m in plan.moderators)
    return f"{len(plan.moderators) - post_hoc} pre-specified" + (f", {post_hoc} post hoc" if post_hoc else "")


def _plan_summary(results) -> list[tuple[str, str]]:
    plan, a = results.plan, results.plan.analysis
    flow = results.trial.flow
    unit = plan.data.time_unit     # numbered follow-ups with the plan's unit ('18 weeks, 52 weeks')
    outcomes = "; ".join(f"{label_of(o)} ({o.type}; follow-ups "
                         + ", ".join(tables.timepoint_text(tp, unit) if unit else tp
                                     for tp in results.trial.outcomes[o.name].followups) + ")"
                         if o.type != "time_to_event" else
                         f"{label_of(o)} (time to event: {o.time}, event {o.event}"
                         + (f"; horizon {o.horizon:g} {o.time_unit or ''}".rstrip() if o.horizon is not None else "") + ")"
                         for o in plan.outcomes if o.name in results.trial.outcomes)
    items = [
        ("Arms", f"{display_flow(plan, flow).arm_values['treated']} (treated) vs {display_flow(plan, flow).arm_values['control']} (control)"),
        ("Outcomes", outcomes),
        ("Moderators", _moderator_count(plan)),
        ("Models", ", ".join(tables.MODEL_NAMES.get(m, m) for m in tables.model_order(results))),
        ("Covariates", ", ".join(tables.covariate_texts(results)) or "none"),
        ("Baseline adjustment", ("yes" if a.adjust_for_baseline else "no")
         # time-to-event outcomes have no baseline value; say so rather than a bare 'yes' (colon, veteran, pbc)
         if any(o.baseline is not None for o in results.trial.outcomes.values()) or not a.adjust_for_baseline
         else "yes, but no outcome has a baseline value"),
        ("Confidence level", level_text(a.ci_level)),
        ("Tiers", f"evidence P < {threshold_text(a.evidence_threshold)}; hypothesis-generating P < "
                  f"{threshold_text(a.exploratory_threshold)}"),
        ("Multiple testing", {"none": "none", "holm": "Holm", "fdr_bh": "Benjamini-Hochberg"}[a.multiplicity]),
    ]
    if a.se == "CR2" and results.plan.data.cluster is not None and "linear" not in set(results.table["model"]):
        # survival::rhDNase (Cox with 51 centres): 'CR2' named a variance no model used
        items.append(("Standard errors", "; ".join(se_parts(results)) or a.se))
    elif a.se != "classical":
        items.append(("Standard errors", a.se))
    if a.bootstrap:
        items.append(("Bootstrap", f"{a.bootstrap} resamples"))
    if a.imputations:
        items.append(("Multiple imputation", f"{a.imputations} imputations"))
    items.append(("Seed", str(a.seed)))
    return items


def _flow_models(results) -> list[dict]:
    """Analysed per model, collapsed over moderators: n range and the exclusion reasons seen."""
    olab = tables.outcome_labels(results.plan)
    groups: dict[tuple, dict] = {}
    for f in results.fitted:
        s = f.summary
        key = (s.get("model", f.spec.kind), s.get("outcome"), s.get("timepoint") or "all follow-ups")
        g = groups.setdefault(key, {"n": [], "reasons": {}})
        g["n"].append(int(s.get("n", 0)))
        for e in s.get("excluded", []):
            lo, hi = g["reasons"].get(e["reason"], (math.inf, 0))
            g["reasons"][e["reason"]] = (min(lo, e["participants"]), max(hi, e["participants"]))
    out = []
    for (model, outcome, tp), g in groups.items():
        lo, hi = min(g["n"]), max(g["n"])
        reasons = "; ".join(f"{r}: {a if a == b else f'{a}-{b}'}" for r, (a, b) in g["reasons"].items())
        out.append({"model": tables.MODEL_NAMES.get(model, model), "outcome": olab.get(outcome, outcome),
                    "timepoint": ("over follow-up" if model == "cox" else tp) if tp == "all follow-ups"
                    else rmst_when(results.plan, outcome, tp) if model == "rmst"
                    else tables.timepoint_text(tp, results.plan.data.time_unit),
                    "n": str(lo) if lo == hi else f"{lo}-{hi}", "excluded": reasons or "none"})
    return out


def _section(name: str, value, results) -> dict:
    title = SECTION_TITLES.get(name, name.replace("_", " ").capitalize())
    if isinstance(value, pd.DataFrame):
        # log-ratio rows exponentiated (complete-case, imputation sensitivity, shrunken subgroups)
        shown, note = ratio_frame(name, value)
        return {"name": name, "title": title, "frame": format_frame(shown, results), "json": None,
                "table": section_table(name, value, results), "note": note}
    return {"name": name, "title": title, "frame": None, "table": None, "note": "",
            "json": json.dumps(value, indent=2, ensure_ascii=False, default=str, sort_keys=True)}


def format_frame(df: pd.DataFrame, results) -> pd.DataFrame:
    """Any section's frame with labels for names and every number formatted by CONTRACT §5."""
    a = results.plan.analysis
    olab, mlab = tables.outcome_labels(results.plan), tables.moderator_labels(results.plan)
    out = pd.DataFrame(index=df.index)
    cols = list(df.columns)
    skip = set()
    for c in cols:
        if c in skip:
            continue
        s = df[c]
        low, high = _pair(c, cols)
        if low:
            skip.add(high)
            out[c.replace("_low", "").replace("ci", "CI") or c] = [
                "" if tables.missing(x) or tables.missing(y) else minus(interval(x, y)) for x, y in zip(df[low], df[high])]
            if low == "risk_low":   # predicted-risk group bounds: the outer groups are open-ended
                out["risk"] = [_open_bounds(x, y) for x, y in zip(df[low], df[high])]
            continue
        if c == "outcome":
            out[c] = [olab.get(v, v) for v in s]
        elif c == "moderator":
            out[c] = [mlab.get(v, v) for v in s]
        elif c == "arm":            # an arm by its display name (data.arm_labels); 'all' stays
            # additive_scale names the arms by role ('treated', 'control'; toenail): their display names
            roles = results.trial.flow.arm_values
            role = {k: v for k, v in roles.items() if k not in roles.values()}
            out[c] = ["" if tables.missing(v) else arm_name(results.plan, role.get(v, v)) for v in s]
        elif c == "comparison":     # a multi-arm comparison by the arms' display names
            out[c] = ["" if tables.missing(v) else comparison_name(results.plan, results.trial, v) for v in s]
        elif c in P_COLUMNS or c.startswith("p_"):
            out[c] = [tables.p_short(v, a.evidence_threshold) for v in s]
        elif c == "median_followup":    # a time with the row's time_unit: '2332 days', not '2332.00' beside 'days'
            units = df["time_unit"] if "time_unit" in df.columns else [None] * len(s)
            skip.add("time_unit")
            out[c] = ["" if tables.missing(v) else f"{float(v):.10g}" + ("" if tables.missing(u) or not u else f" {u}")
                      for v, u in zip(s, units)]
        elif c == "horizon" and "outcome" in df.columns:
            # a time, with the outcome's unit: '180 days' (was '180.00')
            out[c] = ["" if tables.missing(v) else rmst_when(results.plan, o, f"{float(v):g}").removeprefix("horizon ")
                      for v, o in zip(s, df["outcome"])]
        elif pd.api.types.is_float_dtype(s.dtype):
            # a true minus sign, as in Table 2 (report.typography)
            out[c] = ["" if tables.missing(v) or (isinstance(v, float) and math.isinf(v)) else minus(number(v)) for v in s]
        elif c == "quantity":       # 'risk_difference' -> 'risk difference'
            out[c] = ["" if tables.missing(v) else QUANTITY_WORDS.get(str(v), str(v).replace("_", " ")) for v in s]
        else:
            out[c] = ["" if tables.missing(v) else str(v) for v in s]
    labelled = {m.name for m in results.plan.moderators if m.level_labels}
    for c in ("level", "term"):         # a labelled moderator's levels by their labels (moderators[].level_labels)
        if c in out.columns and "moderator" in df.columns and labelled:
            out[c] = [level_name(results.plan, m, v) if m in labelled and not tables.missing(v) else shown
                      for v, m, shown in zip(df[c], df["moderator"], out[c])]
    out.columns = [_head(c) for c in out.columns]
    return out.reset_index(drop=True)


def _head(column) -> str:
    """A section table's column name as a header: 'rd_std_error' -> 'RD SE', 'p_value' -> 'P'."""
    text = str(column).replace("_", " ")
    for phrase, shown in HEAD_PHRASES:
        text = (f" {text} ").replace(f" {phrase} ", f" {shown} ").strip()
    return " ".join(HEAD_WORDS.get(w, w) for w in text.split(" "))


def _open_bounds(low, high) -> str:
    """A predicted-risk group's bounds: 'up to 0.30', '0.30-0.39', 'above 0.51' (not '-∞ to 0.30',
    which reads as if a risk could be negative)."""
    if tables.missing(low) or tables.missing(high):
        return ""
    if math.isinf(low) and math.isinf(high):
        return "all"
    if math.isinf(low):
        return f"up to {number(high)}"
    if math.isinf(high):
        return f"above {number(low)}"
    return interval(low, high)


def _pair(col: str, cols: list[str]) -> tuple[str | None, str | None]:
    if col.endswith("_low") and col[:-4] + "_high" in cols:
        return col, col[:-4] + "_high"
    return None, None


__all__ = ["render_report", "report_context", "format_frame", "RenderedFigure"]
