"""Figures that show whom the treatment helps: the conditional treatment effect against each
continuous moderator (CI band, Johnson-Neyman region, observed values), and a subgroup forest
plot for each binary or categorical moderator.

``figures_for(results)`` returns (file stem, caption, Figure) for the main analysis, continuous
moderators first, strongest interaction first, so a report can lead with the most telling one.
Each figure costs about a second to save as SVG + 300-dpi PNG, so by default the conditional-effect
plots are drawn for the claims only (tier evidence or hypothesis-generating; at least the single
strongest interaction, at most ``MAX_CURVES``); ``include="all"`` draws every continuous
moderator x outcome x follow-up.
Drawn with the report's style (Agg backend, Okabe-Ito colours, deterministic output).
"""
from __future__ import annotations

import math
import re

import numpy as np

# bare Figures rendered by savefig: no pyplot, so a notebook user's backend is never switched
from matplotlib.figure import Figure
from matplotlib.transforms import blended_transform_factory

from ..inference.credibility import row_better
from ..inference.effects import johnson_neyman_regions, moderator_values
from .display import level_name
from .drawing import ARM_COLOURS, LOG_RATIO_LIMIT, OKABE_ITO, axis_window, clip_point, draw_interval, figure_stem, literal, ratio_ticks
from .labels import label_of
from .model_names import rmst_when
from .sentences import level_text, number, p_text
from .subgroup_forest import arm_names
from .tables import main_model_rows, timepoint_text

GRID_POINTS = 121
MAX_CURVES = 12
CLAIM_TIERS = ("evidence", "hypothesis-generating")
LINE = OKABE_ITO["black"]
BAND = OKABE_ITO["grey"]


# the log-ratio scales, drawn on a log axis labelled in ratios
RATIO_NAMES = {"log odds ratio": "Odds ratio", "log hazard ratio": "Hazard ratio", "log rate ratio": "Rate ratio"}


def _ratio_name(sel) -> str:
    """'Odds ratio', 'Hazard ratio', 'Rate ratio', or 'Ratio' for rows of several (binary, count, ordinal and
    time-to-event outcomes)."""
    kinds = set(sel["scale"])
    return RATIO_NAMES.get(kinds.pop(), "Ratio") if len(kinds) == 1 else "Ratio"


def _main_models(results) -> set[str]:
    return set(main_model_rows(results)["model"])


def _interaction_row(results, fm, t):
    tab = results.table
    sel = tab[(tab["model"] == fm.spec.kind) & (tab["outcome"] == fm.spec.outcome) & (tab["moderator"] == fm.spec.moderator)
              & (tab["timepoint"] == t)]
    joint = sel[sel["term"] == "joint"]
    return (joint if len(joint) else sel).iloc[0] if len(sel) else None


def _interaction_p(results, fm, t) -> float:
    row = _interaction_row(results, fm, t)
    return math.nan if row is None else float(row["p_value"])


def figures_for(results, include: str = "claims") -> list[tuple[str, str, Figure]]:
    """Conditional-effect plots (continuous moderators) and subgroup forest plots (binary and
    categorical moderators) of the main analysis, as (file stem, caption, Figure).

    ``include``: "claims" (default) draws conditional-effect plots for the interactions whose
    tier is evidence or hypothesis-generating (at least the strongest one, at most MAX_CURVES);
    "all" draws every continuous moderator x outcome x follow-up. Subgroup plots: one per
    binary or categorical moderator.
    """
    if include not in ("claims", "all"):
        raise ValueError(f"include must be 'claims' or 'all', not {include!r}")
    main = _main_models(results)
    fitted = [f for f in results.fitted if f.fit is not None and f.design is not None and f.spec.kind in main]
    jn = results.sections.get("johnson_neyman")
    regions = results.jn_regions
    if jn is None:
        jn, regions = johnson_neyman_regions(fitted, results.trial, results.plan)
    curves = []
    for fm in fitted:
        if results.trial.moderators[fm.spec.moderator].type != "continuous":
            continue
        for t in fm.design.timepoints:
            row = jn[(jn["model"] == fm.spec.kind) & (jn["outcome"] == fm.spec.outcome) & (jn["timepoint"] == t)
                     & (jn["moderator"] == fm.spec.moderator)]
            curves.append((_interaction_p(results, fm, t), fm, t, row.iloc[0] if len(row) else None))
    curves.sort(key=lambda c: (math.inf if math.isnan(c[0]) else c[0]))
    if include == "claims":
        claims = [c for c in curves if _interaction_row(results, c[1], c[2])["tier"] in CLAIM_TIERS]
        curves = (claims or curves[:1])[:MAX_CURVES]
    out = [conditional_effect_figure(results, fm, t, row, regions.get(_jn_key(fm, t)) if row is not None else ())
           for _, fm, t, row in curves]
    done = set()
    for fm in fitted:
        m = results.trial.moderators[fm.spec.moderator]
        if m.type != "continuous" and fm.spec.moderator not in done:
            done.add(fm.spec.moderator)
            out.extend(_subgroup_figures(results, fm.spec.moderator, main))
    return out


def _subgroup_figures(results, moderator: str, main: set[str]) -> list:
    """The subgroup figure of a moderator; ratio models (e.g. Cox) and difference models (e.g. RMST)
    of one outcome are drawn in two figures, each on its own axis (the second's stem ends in its
    models' names), so that hazard ratios are not flattened beside RMST differences."""
    ce = results.sections.get("conditional_effects")
    ratio = set(ce.loc[ce["scale"].isin(tuple(RATIO_NAMES)), "model"]) & main if ce is not None else set()
    groups = [main] if not ratio or ratio == main else [ratio, main - ratio]
    out = []
    for k, models in enumerate(groups):
        drawn = subgroup_figure(results, moderator, models)
        if drawn is not None:
            out.append(drawn if k == 0 else (figure_stem(drawn[0], *sorted(models)), *drawn[1:]))
    return out


# ---------------------------------------------------------------------------- continuous moderators
def conditional_effect_figure(results, fm, t, jn_row, regions=None) -> tuple[str, str, Figure]:
    """The treatment effect against the moderator over its observed range, with the CI band, the
    Johnson-Neyman region shaded, the zero line and a rug of the observed values.

    ``regions``: the significant parts (``records.JNRegion``) to shade; by default those of
    ``results.jn_regions`` (computed for this model when the results have none)."""
    plan, trial = results.plan, results.trial
    level = plan.analysis.ci_level
    mod = next(m for m in plan.moderators if m.name == fm.spec.moderator)
    out = next(o for o in plan.outcomes if o.name == fm.spec.outcome)
    mlabel, olabel = label_of(mod), label_of(out)
    treated, control = arm_names(results)

    obs = moderator_values(fm, trial)
    grid = np.linspace(obs.min(), obs.max(), GRID_POINTS)
    cs = [fm.fit.contrast(fm.design.effect_L(np.array([m]), t)) for m in grid]
    est = np.array([c.estimate for c in cs])
    lo, hi = np.array([c.ci(level) for c in cs]).T
    p = _interaction_p(results, fm, t)
    logit = fm.spec.kind in ("logistic", "ordinal", "poisson", "negative_binomial", "cox")
    scale = {"logistic": "log odds ratio", "ordinal": "log odds ratio", "poisson": "log rate ratio",
             "negative_binomial": "log rate ratio", "cox": "log hazard ratio"}.get(fm.spec.kind, "difference")

    # a Figure outside pyplot: nothing to close, no global figure registry
    fig = Figure(figsize=(6.2, 3.9))
    ax = fig.add_subplot(1, 1, 1)
    parts = _regions(results, fm, t) if regions is None else regions
    # an rmst curve is survival time gained: longer is better when the event is bad (colon: the title
    # said 'Larger benefit at higher age' for an RMST gain falling from 27 to -49 days)
    lower_better = row_better(plan, out.name, fm.spec.kind) == "lower"
    # with outcomes[].better unset the direction is an assumption: every "favours"/"benefit" says so
    assumed = plan.better_basis(out.name) == "assumed"
    for a, b, sign in ((r.lower, r.upper, r.sign) for r in parts):
        arm = "treated" if (sign == "effect < 0") == lower_better else "control"
        favoured, colour = (treated if arm == "treated" else control), ARM_COLOURS[arm]   # one colour per arm in every figure
        ax.axvspan(a, b, color=colour, alpha=0.12, lw=0, zorder=0)
        why = f"; if {plan.better_direction(out.name)} is better" if assumed else ""
        ax.text((a + b) / 2, 0.97, literal(f"favours {favoured}\n(CI excludes {'1' if logit else '0'}{why})"),
                transform=blended_transform_factory(ax.transData, ax.transAxes), ha="center", va="top", fontsize=7.5, color=colour)
    ax.fill_between(grid, lo, hi, color=BAND, alpha=0.35, lw=0, label=f"{level_text(level)} CI")
    ax.plot(grid, est, color=LINE, lw=1.8, label="treatment effect")
    ax.axhline(0, color="black", lw=0.8, ls="-", zorder=1)
    for x in (jn_row["lower"], jn_row["upper"]) if jn_row is not None else ():
        if np.isfinite(x) and obs.min() <= x <= obs.max():
            ax.axvline(x, color="black", lw=0.8, ls="--")
            ax.annotate(_num(x), (x, 0.06), xycoords=blended_transform_factory(ax.transData, ax.transAxes),
                        xytext=(2, 0), textcoords="offset points", fontsize=7.5, ha="left", va="bottom")
    # rug inside the axes (axis ticks point outwards), darker where more participants share a value
    uniq, counts = np.unique(obs, return_counts=True)
    rug = blended_transform_factory(ax.transData, ax.transAxes)
    for x, k in zip(uniq, counts):
        ax.plot([x, x], [0.0, 0.04], transform=rug, color=OKABE_ITO["black"], lw=0.9,
                alpha=min(1.0, 0.25 + 0.75 * k / counts.max()), solid_capstyle="butt")
    ax.set_xlim(obs.min(), obs.max())
    ax.set_xlabel(literal(mlabel + (f" ({mod.units})" if mod.units else "")))
    when = "over follow-up " if t == "" else f"at {timepoint_text(t, plan.data.time_unit)} "
    if fm.spec.kind == "rmst":
        when = f"to the {rmst_when(plan, out.name, t)} "
        ax.set_ylabel(literal(f"RMST difference on {olabel}\n{when}({treated} − {control})"), fontsize=8)
    elif logit:
        # drawn in log ratios, labelled in ratios: a log axis whose line of no effect is the ratio 1
        ratio_ticks(ax, axis="y")
        ax.set_ylabel(literal(f"{RATIO_NAMES[scale]} for {olabel}\n{when}({treated} vs {control}, log axis)"), fontsize=8)
    else:
        ax.set_ylabel(literal(f"Treatment effect on {olabel}\n{when}({treated} − {control})"), fontsize=8)
    v10, v90 = np.percentile(obs, [10, 90])
    e10, e90 = (fm.fit.contrast(fm.design.effect_L(np.array([v]), t)).estimate for v in (v10, v90))
    title = _takeaway(v10, e10, v90, e90, p, mlabel, plan.analysis.evidence_threshold, treated, lower_better,
                      assumed, ratio=RATIO_NAMES[scale].lower() if logit else None)
    if fm.spec.kind == "rmst":      # the assumption behind an RMST gain is about the event, not the time
        title = re.sub(r" \(assuming (lower|higher) outcome is better\)",
                       " (assuming the event is bad)" if lower_better is False else " (assuming the event is good)", title)
    ax.set_title(literal(title), loc="left", fontsize=9.5)
    ax.legend(loc="lower right" if est[-1] > est[0] else "lower left", fontsize=7.5)
    # fixed margins: tight_layout costs a quarter of a second per figure, and the saved file is
    # cropped to its content anyway (savefig.bbox = tight in the report style)
    fig.subplots_adjust(left=0.13, right=0.98, bottom=0.13, top=0.9)

    region = jn_row["sign_description"] if jn_row is not None else ""
    if logit and region:
        # the figure is drawn in ratios: its words too (the CSV keeps the log scale's 'effect > 0')
        name = RATIO_NAMES[scale].lower()
        region = (region.replace("effect < 0", f"{name} < 1").replace("effect > 0", f"{name} > 1")
                  .replace("CI excludes 0", "CI excludes 1").replace("CI includes 0", "CI includes 1"))
    effect_text = f"{RATIO_NAMES[scale].lower()}, {treated} vs {control}, log axis" if logit else f"{treated} minus {control}"
    caption = (f"Treatment effect ({effect_text}) on {olabel} "
               f"{when}across observed values of {mlabel}, with its {level_text(level)} CI band; the title "
               "gives the effect at the moderator's 10th and 90th percentiles "
               f"({fm.spec.kind} model, n = {fm.design.n}; interaction {p_text(p, plan.analysis.evidence_threshold)}). "
               f"Shaded: where the CI excludes {'1' if logit else '0'} (Johnson-Neyman region, clipped to the observed range); dashed lines: "
               f"its boundaries; ticks along the axis: observed values. {region}. "
               f"Direction of benefit for {olabel}: {plan.better_text(out.name)}.")
    return figure_stem("effect", fm.spec.outcome, t, fm.spec.moderator), caption, fig


def _jn_key(fm, t) -> tuple:
    """The ROW_KEY of a model's Johnson-Neyman row at follow-up t."""
    return (fm.spec.outcome, t, fm.spec.moderator, "", fm.spec.kind)


def _regions(results, fm, t):
    """The significant parts (``JNRegion``) within the observed range, as numbers."""
    key = _jn_key(fm, t)
    if key in results.jn_regions:
        return results.jn_regions[key]
    return johnson_neyman_regions([fm], results.trial, results.plan)[1].get(key, ())


def _num(x: float) -> str:
    # 3 significant digits; whole numbers from 100 up, scientific notation from a million up
    return f"{x:.0f}" if 100 <= abs(x) < 1e6 else f"{x:.3g}"


def _takeaway(v10, e10, v90, e90, p, mlabel, threshold, treated, lower_better, assumed=False, ratio=None) -> str:
    """One line a clinician reads first: where the treatment helps more, and the effect at the
    moderator's 10th and 90th percentiles (with ``ratio``, e.g. 'hazard ratio', the log-ratio
    effects are given as that ratio)."""
    short = re.sub(r"\s*\(.*\)$", "", mlabel)
    if e10 == e90:
        return f"Effect the same across {short} (interaction {p_text(p, threshold)})"
    more_benefit_low = (e10 < e90) == lower_better
    where = "lower" if more_benefit_low else "higher"
    caveat = f" (assuming {'lower' if lower_better else 'higher'} outcome is better)" if assumed else ""
    if ratio is not None:
        return (f"Larger benefit of {treated} at {where} {short}{caveat}\n({ratio} {number(math.exp(e10), 2)} at {_num(v10)}, "
                f"{number(math.exp(e90), 2)} at {_num(v90)}; interaction {p_text(p, threshold)})")
    return (f"Larger benefit of {treated} at {where} {short}{caveat}\n(effect {number(e10, 1)} at {_num(v10)}, "
            f"{number(e90, 1)} at {_num(v90)}; interaction {p_text(p, threshold)})")


# ---------------------------------------------------------------------------- binary / categorical moderators
def subgroup_figure(results, moderator: str, models: set[str]):
    """Effect in each level of a binary or categorical moderator (per outcome and follow-up),
    with CIs and the interaction P."""
    ce = results.sections.get("conditional_effects")
    if ce is None or ce.empty:
        return None
    sel = ce[(ce["moderator"] == moderator) & ce["model"].isin(models) & (ce["scale"] != "risk difference")]
    if sel.empty:
        return None
    plan = results.plan
    level = plan.analysis.ci_level
    mod = next(m for m in plan.moderators if m.name == moderator)
    olab = {o.name: label_of(o) for o in plan.outcomes}
    treated, control = arm_names(results)
    groups = list(dict.fromkeys(zip(sel["outcome"], sel["timepoint"], sel["model"])))
    levels = list(dict.fromkeys(sel["moderator_value"]))
    colours = [OKABE_ITO[c] for c in ("blue", "orange", "green", "purple", "sky", "vermillion", "yellow")]
    n_rows = len(groups) * (len(levels) + 1)
    fig = Figure(figsize=(6.6, 1.0 + 0.24 * n_rows))
    ax = fig.add_subplot(1, 1, 1)
    # a diverging subgroup effect (e.g. no events in one arm of a level) is cut at the axis edge
    log_ratio = sel["scale"].astype(str).str.contains("ratio").to_numpy()
    with np.errstate(invalid="ignore"):
        wide = np.maximum(np.abs(sel["ci_low"].to_numpy(float)), np.abs(sel["ci_high"].to_numpy(float))) > LOG_RATIO_LIMIT
    window = axis_window(sel["ci_low"], sel["ci_high"], sel["effect"], log_ratio & wide)
    y = n_rows
    ticks: list[int] = []
    labels: list[str] = []
    headings: list[int] = []
    for outcome, t, model in groups:
        y -= 1
        sub = sel[(sel["outcome"] == outcome) & (sel["timepoint"] == t) & (sel["model"] == model)]
        tab = results.table
        ints = tab[(tab["model"] == model) & (tab["outcome"] == outcome) & (tab["timepoint"] == t) & (tab["moderator"] == moderator)]
        joint = ints[ints["term"] == "joint"]
        p = float((joint if len(joint) else ints)["p_value"].iloc[0])
        ticks.append(y)
        headings.append(len(labels))
        when = (rmst_when(plan, outcome, t) if model == "rmst" else
                timepoint_text(t, results.plan.data.time_unit) if t != "" else "over follow-up")
        labels.append(literal(f"{olab.get(outcome, outcome)}, {when}"))
        ax.text(1.01, y, f"interaction {p_text(p, plan.analysis.evidence_threshold)}",
                transform=blended_transform_factory(ax.transAxes, ax.transData), va="center", fontsize=7.5)
        for k, lv in enumerate(levels):
            y -= 1
            r = sub[sub["moderator_value"] == lv]
            if r.empty:
                continue
            r = r.iloc[0]
            c = colours[k % len(colours)]
            draw_interval(ax, r["ci_low"], r["ci_high"], y, window, color=c, lw=1.6)
            ax.plot([clip_point(r["effect"], window)], [y], "o", color=c, ms=5)
            ticks.append(y)
            labels.append(literal(level_name(plan, moderator, lv)))
    ax.axvline(0, color="black", lw=0.8)
    if window is not None:
        ax.set_xlim(*window)
    ax.set_yticks(ticks)
    for k, tick in enumerate(ax.set_yticklabels(labels, fontsize=7.5)):
        tick.set_fontweight("bold" if k in headings else "normal")
    ax.set_ylim(y - 0.7, n_rows - 0.3)
    logit = sel["scale"].isin(tuple(RATIO_NAMES)).any()
    if logit and sel["scale"].isin(tuple(RATIO_NAMES)).all():
        # every row a ratio: a log axis labelled in ratios
        ratio_ticks(ax)
        ax.set_xlabel(literal(f"{_ratio_name(sel)} ({treated} vs {control}, log axis) with {level_text(level)} CI"))
    else:
        ratios = ", ".join(sorted(set(sel["scale"]) & set(RATIO_NAMES)))
        what = "RMST difference" if set(sel["model"]) == {"rmst"} else "Treatment effect"
        ax.set_xlabel(literal(f"{what} ({treated} − {control}{'; ratio models: ' + ratios if logit else ''}) with "
                              f"{level_text(level)} CI"))
    ax.set_title(literal(f"Treatment effect by {label_of(mod)}"), loc="left", fontsize=9.5)
    ax.grid(axis="x", color="#dddddd", lw=0.5)
    fig.subplots_adjust(left=0.3, right=0.8)
    effect = (f"{_ratio_name(sel).lower()}, {treated} vs {control}, log axis"
              if sel["scale"].isin(tuple(RATIO_NAMES)).all()
              else f"{treated} minus {control}")
    caption = (f"Treatment effect ({effect}) within each level of {label_of(mod)}, per outcome "
               f"and follow-up, with {level_text(level)} CIs; right: P of the test of interaction (joint test for "
               "categorical moderators). Subgroup effects are descriptive; the interaction test is the evidence "
               "that the effect differs.")
    return figure_stem("subgroups", moderator), caption, fig
