"""Figures for the report and for manuscripts: one style, a colour-blind-safe palette, SVG + PNG.

Every figure is a bare ``Figure`` (no pyplot) drawn inside ``style()`` and serialised by ``svg_bytes``/``png_bytes``, which
fix the SVG hash salt and drop dates so that reruns give byte-identical files.
"""
from __future__ import annotations

import contextlib
import io

import matplotlib
import numpy as np

# Figures are built as bare Figure objects rendered by the Agg/SVG canvases at save time: no
# pyplot, so no display is needed and a notebook user's backend is never switched
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ..records import SEPARATION_KEPT, has_code
from .display import arm_name, comparison_name, level_names
from .drawing import OKABE_ITO, axis_window, clip_point, draw_interval, figure_stem, literal, ratio_ticks, wrap_label
from .effect_figures import figures_for
from .labels import label_of, moderator_labels, outcome_labels
from .sentences import level_text
from .subgroup_forest import subgroup_forest_figures
from .tables import (
    DIVERGING_NOTE,
    RATIO_MODELS,
    main_model_rows,
    model_order,
    moderator_label,
    per_text,
    term_label,
    timepoint_text,
)

# tier -> (marker, colour, legend text): shape and colour both carry the tier, for greyscale print
TIER_MARKERS = {
    "evidence": ("D", OKABE_ITO["vermillion"], "evidence"),
    "hypothesis-generating": ("^", OKABE_ITO["blue"], "hypothesis-generating"),
    "none": ("o", OKABE_ITO["grey"], "no evidence"),
}
FOLLOWUP_LINES = ["-", "--", ":", "-."]

RC = {
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.fontsize": 8,
    "legend.frameon": False,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "svg.fonttype": "path",      # glyphs as paths: the page looks the same without the font installed
    "svg.hashsalt": "effectmod",  # stable clip-path ids, hence byte-identical reruns
    "figure.dpi": 100,
}


@contextlib.contextmanager
def style():
    """The one rc context every effectmod figure is drawn and saved in."""
    with matplotlib.rc_context(RC):
        yield


def svg_bytes(fig: Figure) -> bytes:
    buf = io.BytesIO()
    with style():
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": "effectmod"})
    return buf.getvalue()


def png_bytes(fig: Figure, dpi: int = 300) -> bytes:
    buf = io.BytesIO()
    with style():
        fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": "effectmod"})
    return buf.getvalue()


def svg_and_png(fig: Figure, dpi: int = 300) -> tuple[bytes, bytes]:
    """Both files of one figure. (Each save measures its own tight box: text extents depend on
    the resolution, so a box measured once at screen resolution clips the 300-dpi PNG.)"""
    return svg_bytes(fig), png_bytes(fig, dpi)


def _wrap(text: str, width: int) -> str:
    return wrap_label(text, width)


# ---------------------------------------------------------------------------- diverging intervals
def diverging_rows(notes) -> np.ndarray:
    """Which rows carry the separation note of a diverging fit: ``notes`` holds each row's
    structured notes (tuples of ``records.Note``, matched by code) or, for a table read back
    from results.csv, its note text."""
    return np.array([has_code(n, SEPARATION_KEPT) if isinstance(n, tuple) else (isinstance(n, str) and DIVERGING_NOTE in n)
                     for n in notes], dtype=bool)


# ---------------------------------------------------------------------------- forest plot
def forest_rows(results, model: str | None = None):
    """The rows a forest plot shows (estimable, not joint), scaled per SD when the plan asks."""
    t = main_model_rows(results) if model is None else results.table[results.table["model"] == model]
    t = t[(t["term"] != "joint") & (t["tier"] != "not-estimable")].copy()
    per_sd = results.plan.analysis.forest_scale == "per_sd"
    if per_sd:
        # the table's per-SD columns: the SD over each model's analysed participants, as in results.csv
        continuous = t["moderator_sd"].notna()
        for c in ("estimate", "ci_low", "ci_high"):
            t[c] = np.where(continuous, t[f"{c}_per_sd"], t[c])
    return t, per_sd


def forest_plot(results, model: str | None = None) -> Figure | None:
    """Interaction estimates with CIs: one panel per outcome, moderators down the page,
    follow-ups offset and drawn with their own line style, points marked by tier."""
    t, per_sd = forest_rows(results, model)
    if model is None and {"cox", "rmst"} <= set(t["model"]):
        # log hazard ratios and RMST differences (time units) share no axis: rmst has its own figure
        t = t[t["model"] != "rmst"]
    if t.empty:
        return None
    plan = results.plan
    olab, mlab = outcome_labels(plan), moderator_labels(plan)
    outcomes = [o.name for o in plan.outcomes if (t["outcome"] == o.name).any()]
    keys = []
    for m in plan.moderators:
        for term in dict.fromkeys(t.loc[t["moderator"] == m.name, "term"]):
            keys.append((m.name, term))
    timepoints = list(dict.fromkeys(t["timepoint"]))
    n_rows = len(keys)
    with style():
        # at least room for a two-line axis label and the legend under a single row
        fig = Figure(figsize=(3.2 + 2.6 * len(outcomes), max(2.2, 0.9 + 0.42 * n_rows * max(1, len(timepoints)) ** 0.5)))
        axes = fig.subplots(1, len(outcomes), sharey=True, squeeze=False)[0]
        step = 0.7 / max(1, len(timepoints))
        clipped = False
        for ax, out in zip(axes, outcomes):
            sub = t[t["outcome"] == out]
            window = axis_window(sub["ci_low"], sub["ci_high"], sub["estimate"], results.has_note(sub, SEPARATION_KEPT))
            clipped = clipped or window is not None
            for k, tp in enumerate(timepoints):
                offset = (k - (len(timepoints) - 1) / 2) * step
                for r in sub[sub["timepoint"] == tp].itertuples(index=False):
                    y = n_rows - 1 - keys.index((r.moderator, r.term)) - offset
                    marker, colour, _ = TIER_MARKERS.get(r.tier, TIER_MARKERS["none"])
                    draw_interval(ax, r.ci_low, r.ci_high, y, window, color=colour, lw=1.2,
                                  ls=FOLLOWUP_LINES[k % len(FOLLOWUP_LINES)], solid_capstyle="butt")
                    ax.plot([clip_point(r.estimate, window)], [y], marker=marker, color=colour, ms=5.5, ls="none",
                            markeredgecolor="black" if r.tier == "evidence" else colour, markeredgewidth=0.6)
            if window is not None:
                ax.set_xlim(*window)
            ax.axvline(0, color="black", lw=0.7, zorder=0)
            ax.set_title(literal(_wrap(olab.get(out, out), 34)))
            # no continuous moderator in the panel: each estimate is level vs reference, per no unit
            categorical_only = "moderator_sd" in sub.columns and not sub["moderator_sd"].notna().any()
            per = "" if categorical_only else " per SD of moderator" if per_sd else " per unit of moderator"
            ax.set_xlabel(wrap_label(axis_name(results, out, set(sub["model"])) + per, 40))
            if set(sub["model"]) <= set(RATIO_AXES):
                ratio_ticks(ax)         # log ratios drawn, ratios read (1 where the line is)
            ax.grid(axis="x", color="#dddddd", lw=0.5)
            ax.set_axisbelow(True)
        axes[0].set_yticks(range(n_rows))
        # raw scale: a moderator reported per k units (moderators[].per) says so in its label;
        # per SD: each continuous moderator's label says it is drawn per SD ("per SD" kept on one line)
        continuous = {m.name for m in plan.moderators if m.type == "continuous"}
        names = {m: (mlab.get(m, m) + (", per\u00a0SD" if m in continuous else "")) if per_sd
                 else moderator_label(plan, m, mlab) for m, _ in keys}
        # each level against its reference ('[2 vs 1]', '[female vs male]' for a binary moderator), as Table 2 says it
        refs = level_names(results)
        shown = {(m, term): term_label({"term": term, "moderator": m}, refs) for m, term in keys}
        axes[0].set_yticklabels([literal(_wrap(names[m] + (f" [{shown[m, term]}]" if shown[m, term] else ""), 30))
                                 for m, term in reversed(keys)])
        axes[0].set_ylim(-0.7, n_rows - 0.3)
        handles = [Line2D([], [], marker=mk, color=c, ls="none", ms=5.5,
                              markeredgecolor="black" if tier == "evidence" else c, label=lab)
                   for tier, (mk, c, lab) in TIER_MARKERS.items() if (t["tier"] == tier).any()]
        if len(timepoints) > 1:
            def place(k: int) -> str:
                return "upper" if k == 0 else "lower" if k == len(timepoints) - 1 else "middle"
            handles += [Line2D([], [], color="black", lw=1.2, ls=FOLLOWUP_LINES[k % len(FOLLOWUP_LINES)],
                                   label=literal(f"{timepoint_text(tp, results.plan.data.time_unit)} ({place(k)})"))
                        for k, tp in enumerate(timepoints)]
        if clipped:
            handles.append(Line2D([], [], marker=">", color="black", ls="none", ms=5,
                                  label="CI beyond the axis (diverging fit)"))
        fig.legend(handles=handles, loc="lower center", ncol=min(len(handles), 5), bbox_to_anchor=(0.5, -0.01))
        fig.tight_layout(rect=(0, 0.05 if n_rows > 4 else 0.12, 1, 1))
    return fig


# ---------------------------------------------------------------------------- flow diagram
def flow_counts(results) -> dict:
    """Numbers behind the CONSORT-style diagram: per arm, assessed and missing per outcome and follow-up."""
    trial = results.trial
    treat = trial.treat == 1
    arms = {"treated": treat, "control": ~treat}
    names = {a: (arm_name(results.plan, trial.flow.arm_values.get(a, a)), trial.flow.arms.get(a, int(m.sum()))) for a, m in arms.items()}
    if trial.multi_arm and trial.arm is not None:
        # multi-arm: every treated arm, then the control
        arms = {f"arm{k}": trial.arm == k for k in range(1, len(trial.arm_labels) + 1)} | {"control": trial.arm == 0}
        names = {a: (arm_name(results.plan, trial.arm_labels[int(a[3:]) - 1] if a != "control" else trial.flow.arm_values["control"]),
                     int(m.sum()))
                 for a, m in arms.items()}
    per_arm = {}
    for arm, mask in arms.items():
        lines = []
        for o in results.plan.outcomes:
            od = trial.outcomes.get(o.name)
            if od is None:
                continue
            for tp, y in od.followups.items():
                seen = int((mask & ~np.isnan(y)).sum())
                label = label_of(od)
                if od.status is not None:       # time to event: the arm's events beside the label
                    label += f" ({int(np.nansum(od.status[mask & ~np.isnan(y)]))} events)"
                lines.append((label, tp, seen, int(mask.sum()) - seen))
        per_arm[arm] = lines
    return {"flow": trial.flow, "per_arm": per_arm, "arms": names}


def flow_diagram(results) -> Figure:
    """CONSORT-style flow: participants in the file, exclusions with reasons, the two arms,
    and per arm the outcome assessments available at each follow-up."""
    c = flow_counts(results)
    flow = c["flow"]
    excluded = sum(n for _, n in flow.excluded)
    n_lines = max(*(len(v) for v in c["per_arm"].values()), 1)
    k_arms = len(c["arms"])
    places = ((24, "treated"), (74, "control")) if k_arms == 2 else tuple(
        (8 + 84 * i / (k_arms - 1), a) for i, a in enumerate(c["arms"]))
    wrap = 24 if k_arms == 2 else max(10, 60 // k_arms)
    height = 3.3 + 0.16 * n_lines + 0.15 * len(flow.excluded)
    box = dict(boxstyle="round,pad=0.5", facecolor="white", edgecolor="#333333", lw=0.9)
    arm_box = dict(box, facecolor="#EAF4FB")
    with style():
        fig = Figure(figsize=(7.2, height))
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_xlim(0, 100)
        ax.axis("off")
        y_top = 100
        top = f"Participants in the data file\n(n = {flow.participants_in_file})"
        ax.text(49, y_top, literal(top), ha="center", va="top", bbox=box)
        y_rand = y_top - 24 - (3.5 * len(flow.excluded) if excluded else 0)
        y_ex = (y_top - 9 + y_rand) / 2   # the exclusion box sits between the two boxes it branches from
        if excluded:
            reasons = "\n".join(_wrap(f"{r}: {n}", 34) for r, n in flow.excluded)
            ax.text(62, y_ex, literal(f"Excluded (n = {excluded})\n{reasons}"), ha="left", va="center",
                    bbox=dict(box, facecolor="#FBEFE6"), fontsize=8)
            ax.annotate("", xy=(61.5, y_ex), xytext=(49, y_ex),
                        arrowprops=dict(arrowstyle="-|>", color="#333333", lw=0.9))
        ax.annotate("", xy=(49, y_rand + 1), xytext=(49, y_top - 9), arrowprops=dict(arrowstyle="-|>", color="#333333", lw=0.9))
        what = "the two analysed arms" if k_arms == 2 else f"the {k_arms} analysed arms"
        ax.text(49, y_rand, f"Randomised, in {what}\n(n = {flow.randomised})", ha="center", va="top", bbox=box)
        y_arm = y_rand - 22
        for x, arm in places:
            ax.annotate("", xy=(x, y_arm + 1), xytext=(49, y_rand - 8.5),
                        arrowprops=dict(arrowstyle="-|>", color="#333333", lw=0.9, connectionstyle="angle,angleA=0,angleB=90"))
            label, n_arm = c["arms"][arm]
            ax.text(x, y_arm, literal(f"Allocated to {_wrap(label, wrap)}\n(n = {n_arm})"),
                    ha="center", va="top", bbox=arm_box, fontweight="bold")
            lines = c["per_arm"][arm]
            text = "Outcome assessed (missing)\n" + "\n".join(
                f"{_wrap(lab, wrap + 4)}{', ' + timepoint_text(tp, results.plan.data.time_unit) if tp != '' else ''}: {seen} ({miss})"
                for lab, tp, seen, miss in lines)
            ax.annotate("", xy=(x, y_arm - 17), xytext=(x, y_arm - 8), arrowprops=dict(arrowstyle="-|>", color="#333333", lw=0.9))
            ax.text(x, y_arm - 18, literal(text), ha="center", va="top", bbox=box, fontsize=8, linespacing=1.4)
        # the lowest box hangs below y_arm - 18 by its text height; leave room for it and no more
        ax.set_ylim(y_arm - 18 - (4 + 2.4 * n_lines) * 4.2 / height, 103)
    return fig


# ---------------------------------------------------------------------------- collection
def report_figures(results) -> list[tuple[str, str, Figure]]:
    """(name, caption, figure) of every figure, in report order; other engineers' effect figures last."""
    figs = [("consort_flow", "Flow of participants (CONSORT-style): participants in the file, exclusions, "
             "allocation, and outcome assessments available per arm at each follow-up.", flow_diagram(results))]
    if results.trial.multi_arm:
        # multi-arm: each comparison's figures, from its view of the models (names end in the arm)
        from .comparisons import comparison_results
        for comparison, slug, sub in comparison_results(results):
            shown = comparison_name(results.plan, results.trial, comparison)
            figs += [(f"{name}_{slug}", f"{shown}. {caption}", fig) for name, caption, fig in _model_figures(sub)]
    else:
        figs += _model_figures(results)
    # one naming rule for every figure's file and anchor (free-text follow-up labels, arm names)
    return [(figure_stem(name), caption, fig) for name, caption, fig in figs]


def _model_figures(results) -> list[tuple[str, str, Figure]]:
    figs: list[tuple[str, str, Figure]] = []
    per_sd = results.plan.analysis.forest_scale == "per_sd"
    scale = ("per standard deviation (SD) of each continuous moderator (its interaction per unit times the SD "
             "among the participants the model analysed, so that moderators measured on different scales, and "
             "beside a binary moderator's wide interval, are all visible; Table 2 and results.csv give them per "
             "unit); binary and categorical moderators: level vs reference"
             if per_sd else "per unit of each moderator (raw units)"
             + ("; per k units where the moderator's label says so" if any(per_text(m) for m in results.plan.moderators) else ""))
    models = model_order(results)
    main = results.plan.analysis.model
    fp = forest_plot(results)
    if fp is not None:
        figs.append(("forest_interactions", f"Treatment × moderator interactions, {scale}, with "
                     f"{_pct(results.plan.analysis.ci_level)} CIs; main analysis ({_model_words(main, models)}). "
                     "A positive estimate means a larger (less negative) treated-minus-control difference in the "
                     "outcome when the moderator is higher" + ("; for odds, rate and hazard ratios (drawn on the log scale), "
                     "a larger ratio" if set(models) & RATIO_MODELS else "") + ". Marker shape and colour show the tier; "
                     "joint tests and not-estimable interactions are not drawn"
                     + ("; restricted mean survival time rows are in the next figure" if {"cox", "rmst"} <= set(models) else "")
                     + ".", fp))
    if {"cox", "rmst"} <= set(models):
        f_rmst = forest_plot(results, "rmst")
        if f_rmst is not None:
            figs.append(("forest_interactions_rmst", "Treatment × moderator interactions on the restricted mean survival "
                         f"time to the horizon (difference in RMST differences, in the time column's units), {scale}, with "
                         f"{_pct(results.plan.analysis.ci_level)} CIs. A positive estimate means a larger treated-minus-"
                         "control RMST difference when the moderator is higher.", f_rmst))
    for model in results.plan.analysis.sensitivity:
        if model in models:
            f = forest_plot(results, model)
            if f is not None:
                figs.append((f"forest_interactions_{model}", f"As the previous figure, for the {model} model "
                             "sensitivity analysis.", f))
    with style():
        figs += subgroup_forest_figures(results)
        if any(f.spec.kind == "cox" for f in results.fitted):
            from .km_figures import km_figures
            figs += km_figures(results)
    figs += effect_figures(results)
    if results.plan.predictive is not None:
        from .predictive_figures import predictive_figures
        with style():
            figs += predictive_figures(results)
    return figs


def effect_figures(results) -> list[tuple[str, str, Figure]]:
    """Conditional-effect, Johnson-Neyman and subgroup figures (report.effect_figures)."""
    with style():
        return [(str(n), str(c), f) for n, c, f in figures_for(results)]


def _pct(level: float) -> str:
    return level_text(level)


def _model_words(main: str, models: list[str]) -> str:
    words = {"linear": "linear regression", "mixed": "linear mixed model", "logistic": "logistic regression",
             "poisson": "Poisson regression", "negative_binomial": "negative binomial regression",
             "ordinal": "proportional-odds regression", "cox": "Cox regression", "rmst": "restricted mean survival time"}
    typed = ("logistic", "poisson", "negative_binomial", "ordinal", "cox", "rmst")
    used = ([main] if main in models or not any(m in models for m in typed) else []) + [m for m in typed if m in models and m != main]
    return " and ".join(words.get(m, m) for m in used)


def axis_name(results, outcome: str, models: set[str]) -> str:
    """The forest plot's x axis for one outcome: the interaction's scale (a ratio of ratios on a log
    axis for the ratio models, the RMST difference in the outcome's time unit, else β)."""
    if models == {"rmst"}:
        unit = next((o.time_unit for o in results.plan.outcomes if o.name == outcome), None)
        return "Difference in RMST differences" + (f" ({unit})" if unit else "")
    found = {RATIO_AXES[m] for m in models if m in RATIO_AXES}
    if len(found) == 1 and models <= set(RATIO_AXES):
        return f"Ratio of {found.pop()} (log scale)"
    return "Interaction β"


# the ratio a ratio model's interaction is, on the forest plot's log axis labelled in ratios
RATIO_AXES = {"logistic": "odds ratios", "ordinal": "cumulative odds ratios", "poisson": "rate ratios",
              "negative_binomial": "rate ratios", "cox": "hazard ratios"}


def close(figures) -> None:
    """Release the figures' memory (they live outside pyplot's registry, so nothing else holds them)."""
    for _, _, fig in figures:
        fig.clear()


__all__ = ["style", "svg_bytes", "png_bytes", "forest_plot", "flow_diagram", "report_figures", "OKABE_ITO",
           "TIER_MARKERS", "literal", "axis_window", "draw_interval", "diverging_rows"]
