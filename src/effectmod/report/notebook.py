"""Results in a notebook or a console session: a statsmodels-like text summary, a Markdown table,
the HTML table Jupyter shows, and the report's figures as matplotlib Figures.

``Results.summary()``, ``to_markdown()``, ``_repr_html_()`` and ``plot_*()`` delegate here. The
numbers are formatted as in the report's tables (``report.tables``); matplotlib is imported only
by the plot functions.
"""
from __future__ import annotations

import html
from typing import TYPE_CHECKING

import pandas as pd

from .comparisons import comparison_results, flattened
from .display import level_names
from .labels import moderator_labels, outcome_labels
from .model_names import rmst_when
from .sentences import level_text, threshold_text
from .tables import (
    MODEL_NAMES,
    RATIO_MODELS,
    estimate_ci,
    moderator_label,
    odds_ratio_ci,
    p_short,
    ratio_head,
    term_label,
    timepoint_text,
)
from .text import visible

if TYPE_CHECKING:
    from matplotlib.figure import Figure

# the report's tier colours and styles (templates/report.html.j2: --evidence, --hypothesis, ...)
TIER_CSS = {"evidence": "color:#D55E00;font-weight:700", "hypothesis-generating": "color:#0072B2;font-style:italic",
            "none": "color:#6b6b6b", "not-estimable": "color:#8a6d00"}
CELL = "padding:4px 8px;text-align:left;vertical-align:top"
NUM = "padding:4px 8px;text-align:right;white-space:nowrap"


def _adjusted(results) -> bool:
    return results.plan.analysis.multiplicity != "none"


def rows(results) -> list[dict[str, str]]:
    """The results rows as display text: outcome, follow-up, moderator (with units), term, model,
    estimate with CI (OR for logistic rows), P, adjusted P, n, tier and note."""
    plan, a = results.plan, results.plan.analysis
    olab, mlab = outcome_labels(plan), moderator_labels(plan)
    units = {m.name: m.units for m in plan.moderators if m.units}
    refs = level_names(results)
    out = []
    for r in results.table.to_dict(orient="records"):
        mod = r["moderator"]
        fmt = odds_ratio_ci if r["model"] in RATIO_MODELS else estimate_ci
        est = "" if r["term"] == "joint" or r["tier"] == "not-estimable" else fmt(r["estimate"], r["ci_low"], r["ci_high"])
        note = r.get("note", "")
        out.append({
            "outcome": olab.get(r["outcome"], r["outcome"]),
            "follow-up": (rmst_when(plan, r["outcome"], r["timepoint"]) if r["model"] == "rmst"
                          else "over follow-up" if r["timepoint"] == ""      # a Cox model's rows
                          else timepoint_text(r["timepoint"], plan.data.time_unit)),
            "moderator": moderator_label(plan, mod, mlab) + (f" ({units[mod]})" if mod in units else ""),
            # a level against its reference ('2 vs 1'), a binary moderator's comparison ('female vs male'),
            # as Table 2 names the row
            "term": "joint test" if r["term"] == "joint" else term_label(r, refs),
            "model": MODEL_NAMES.get(r["model"], r["model"]),
            "scale": (ratio_head(r["model"]).replace("Ratio", "ratio") if r["model"] in RATIO_MODELS
                      else "difference in RMST differences" if r["model"] == "rmst" else "β"),
            "estimate": est,
            "P": p_short(r["p_value"], a.evidence_threshold),
            "P adj": p_short(r["p_adjusted"], a.evidence_threshold) if _adjusted(results) else "",
            "n": str(r["n"]),
            "tier": str(r["tier"]),
            "note": "" if note is None or (isinstance(note, float) and note != note) else str(note),
        })
    return out


def _columns(results) -> list[str]:
    level = level_text(results.plan.analysis.ci_level)
    cols = ["outcome", "follow-up", "moderator", "term", "model", f"estimate ({level} CI)", "P"]
    return cols + (["P adj"] if _adjusted(results) else []) + ["n", "tier"]


def _cells(results, row: dict[str, str]) -> list[str]:
    est = f"{row['scale']} {row['estimate']}" if row["estimate"] else ""
    cells = [row["outcome"], row["follow-up"], row["moderator"], row["term"], row["model"], est, row["P"]]
    return cells + ([row["P adj"]] if _adjusted(results) else []) + [row["n"], row["tier"]]


def _key(results) -> str:
    a = results.plan.analysis
    models = set(results.table["model"])
    # each scale explained only when some row is on it
    text = (f"evidence: P < {threshold_text(a.evidence_threshold)}; hypothesis-generating: P < "
            f"{threshold_text(a.exploratory_threshold)}.")
    if models & {"linear", "mixed"}:
        text += " β: difference in the treatment effect per unit of the moderator (or per the k units named beside it)."
    if models & {"logistic", "ordinal"}:
        text += (" ratio of ORs: the factor by which the treatment odds ratio changes per unit of the moderator "
                 "(or per the k units named beside it).")
    if {"poisson", "negative_binomial"} & models:
        text += " ratio of RRs: the factor by which the treatment rate ratio changes, likewise."
    if "cox" in models:
        text += " ratio of HRs: the factor by which the treatment hazard ratio changes (time-to-event outcomes)."
    if "rmst" in models:
        text += (" difference in RMST differences: the treated-minus-control difference in restricted mean survival "
                 "time to the horizon in a level minus that in the reference level (per unit of a continuous moderator).")
    if _adjusted(results):
        text += f" P adj: adjusted for multiplicity ({a.multiplicity})."
    return text


def _notes(rows_: list[dict[str, str]]) -> list[str]:
    return list(dict.fromkeys(r["note"] for r in rows_ if r["note"]))


# ---------------------------------------------------------------------------- text
def summary_text(results) -> str:
    """A plain-text summary like statsmodels' ``summary()``: title, models, n, one line per
    interaction row, the tier key and the notes."""
    results = flattened(results)    # multi-arm: each moderator per comparison and for all arms
    plan = results.plan
    body = rows(results)
    head = _columns(results)
    # user text (labels, levels, notes) with its control characters shown as escapes, as the console shows them
    lines_ = [[visible(c) for c in _cells(results, r)] for r in body]
    widths = [max([len(h)] + [len(c[i]) for c in lines_]) for i, h in enumerate(head)]
    right = {"P", "P adj", "n"}

    def line(cells: list[str]) -> str:
        return "  ".join(c.rjust(w) if h in right else c.ljust(w) for c, w, h in zip(cells, widths, head)).rstrip()

    rule_width = max(len(line(head)), 40)
    title = visible(plan.title or "effectmod results")
    models = ", ".join(dict.fromkeys(MODEL_NAMES.get(m, m) for m in results.table["model"]))
    flow = results.trial.flow
    n = results.table["n"]
    n_text = f"{n.min()}" if n.min() == n.max() else f"{n.min()}-{n.max()}"
    out = [title, "=" * rule_width,
           f"Models: {models}",
           f"Participants: {flow.randomised} in {flow.analysed_arms}; n per analysis {n_text}",
           f"Outcomes: {len(plan.outcomes)}; moderators: {len(plan.moderators)}; CI level: "
           f"{level_text(plan.analysis.ci_level)}"
           + (f"; multiplicity: {plan.analysis.multiplicity}" if _adjusted(results) else ""),
           "-" * rule_width, line(head), "-" * rule_width]
    out += [line(c) for c in lines_]
    out += ["=" * rule_width, _key(results)]
    notes = _notes(body)
    if notes:
        out += ["Notes:"] + [f"[{i}] {visible(note)}" for i, note in enumerate(notes, 1)]
    return "\n".join(out)


def markdown_table(results) -> str:
    """The main results as a GitHub-flavoured Markdown table (no optional packages), then the key
    and the notes."""
    results = flattened(results)    # multi-arm: each moderator per comparison and for all arms
    head = _columns(results)
    right = {"P", "P adj", "n"}

    def cell(text: str) -> str:
        # a label is text, never markup: '<script>' would be raw HTML to a Markdown renderer
        return html.escape(text, quote=False).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")

    body = rows(results)
    out = ["| " + " | ".join(cell(h) for h in head) + " |",
           "|" + "|".join("---:" if h in right else ":---" for h in head) + "|"]
    out += ["| " + " | ".join(cell(c) for c in _cells(results, r)) + " |" for r in body]
    out += ["", cell(_key(results))]
    notes = _notes(body)
    if notes:
        out += [""] + [f"{i}. {cell(note)}" for i, note in enumerate(notes, 1)]
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------- notebook HTML
def notebook_html(results) -> str:
    """The HTML table Jupyter shows: the report's tier colours and cell padding, adjusted P when
    the plan corrects for multiplicity, moderator units and follow-up units."""
    results = flattened(results)    # multi-arm: each moderator per comparison and for all arms
    head = _columns(results)
    right = {"P", "P adj", "n"}
    body = []
    for r in rows(results):
        style = TIER_CSS.get(r["tier"], "")
        tds = []
        for h, c in zip(head, _cells(results, r)):
            css = NUM if h in right else CELL
            if h in ("P", "P adj", "tier") or h.startswith("estimate"):
                css += ";" + style
            tds.append(f'<td style="{css}">{html.escape(c)}</td>')
        title = f' title="{html.escape(r["note"])}"' if r["note"] else ""
        body.append(f"<tr{title}>" + "".join(tds) + "</tr>")
    title = html.escape(results.plan.title or "effectmod results")
    ths = "".join(f'<th style="{NUM if h in right else CELL};border-bottom:1px solid #1d1d1d">{html.escape(h)}</th>'
                  for h in head)
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in _notes(rows(results)))
    return ('<div><p style="font-weight:bold;margin:0 0 4px">' + title + "</p>"
            '<table style="border-collapse:collapse;font-size:12px;font-variant-numeric:tabular-nums">'
            f"<thead><tr>{ths}</tr></thead><tbody>" + "".join(body) + "</tbody></table>"
            f'<p style="font-size:11px;color:#5a5a5a;margin:4px 0">{html.escape(_key(results))}</p>'
            + (f'<ol style="font-size:11px;color:#5a5a5a">{notes}</ol>' if notes else "") + "</div>")


# ---------------------------------------------------------------------------- figures
def comparison_view(results, comparison: str | None = None):
    """A multi-arm trial's results for one comparison ("<arm> vs <control>", or the arm; default
    the first); two-arm results as they are."""
    if not results.trial.multi_arm:
        return results
    views = comparison_results(results)
    if comparison is None:
        return views[0][2]
    for name, _, view in views:
        if comparison in (name, name.split(" vs ")[0]):
            return view
    raise ValueError(f"comparison must be one of {_choices(v[0] for v in views)}, not {comparison!r}")


def plot_forest(results, model: str | None = None, comparison: str | None = None) -> Figure:
    """The report's forest plot of the interaction estimates (main analysis, or ``model``;
    multi-arm: of one ``comparison``, default the first)."""
    from .figures import forest_plot
    results = comparison_view(results, comparison)
    fig = forest_plot(results, model)
    if fig is None:
        raise ValueError("no estimable interaction to plot" + (f" for model {model!r}" if model else ""))
    return fig


def _choices(values) -> str:
    return ", ".join(repr(str(v)) for v in dict.fromkeys(values))


def plot_subgroups(results, moderator: str | None = None, comparison: str | None = None) -> Figure:
    """The report's subgroup plot: the treatment effect in each level of a binary or categorical
    moderator (default: the plan's first one; multi-arm: of one ``comparison``, default the first)."""
    from .effect_figures import _main_models, subgroup_figure
    from .figures import style
    results = comparison_view(results, comparison)
    levelled = [m.name for m in results.plan.moderators if results.trial.moderators[m.name].type != "continuous"]
    if moderator is None and levelled:
        moderator = levelled[0]
    if moderator is None or moderator not in levelled:
        raise ValueError(f"moderator must be a binary or categorical moderator of the plan ({_choices(levelled)}), "
                         f"not {moderator!r}")
    with style():
        drawn = subgroup_figure(results, moderator, _main_models(results))
    if drawn is None:
        raise ValueError(f"no subgroup effects to plot for moderator {moderator!r}")
    return drawn[2]


def plot_effect(results, moderator: str, outcome: str, timepoint, comparison: str | None = None) -> Figure:
    """The report's conditional-effect plot: the treatment effect on ``outcome`` at ``timepoint``
    across the observed values of a continuous ``moderator``, Johnson-Neyman region shaded
    (multi-arm: of one ``comparison``, default the first)."""
    from .effect_figures import _main_models, conditional_effect_figure
    from .figures import style
    results = comparison_view(results, comparison)
    main = _main_models(results)
    fitted = [f for f in results.fitted if f.fit is not None and f.design is not None and f.spec.kind in main
              and results.trial.moderators[f.spec.moderator].type == "continuous"]
    for name, value, have in (("moderator", moderator, [f.spec.moderator for f in fitted]),
                              ("outcome", outcome, [f.spec.outcome for f in fitted])):
        if value not in have:
            raise ValueError(f"{name} must be one of {_choices(have)} (continuous moderators with an estimable "
                             f"model), not {value!r}")
    # one fitted model per follow-up, or one for all of them (mixed)
    found = [(f, t) for f in fitted if f.spec.moderator == moderator and f.spec.outcome == outcome
             for t in f.design.timepoints]
    match = [(f, t) for f, t in found if str(t) == str(timepoint)]
    if not match:
        raise ValueError(f"timepoint must be one of {_choices(t for _, t in found)} for {outcome!r} and {moderator!r}, "
                         f"not {timepoint!r}")
    fm, t = match[0]
    jn = results.sections.get("johnson_neyman")
    row = None
    if isinstance(jn, pd.DataFrame) and len(jn):
        sel = jn[(jn["model"] == fm.spec.kind) & (jn["outcome"] == outcome) & (jn["timepoint"] == t)
                 & (jn["moderator"] == moderator)]
        row = sel.iloc[0] if len(sel) else None
    with style():
        return conditional_effect_figure(results, fm, t, row)[2]
