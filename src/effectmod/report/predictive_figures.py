"""Risk-modelling figures (PATH): per outcome and follow-up, the treatment effect in each
predicted-risk group with its interval, absolute (mean or risk difference, with the curve of the
treatment x predicted-risk model) and, for binary outcomes, relative (odds ratio, log axis) side
by side."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .drawing import OKABE_ITO, figure_stem, literal
from .labels import label_of
from .sentences import level_text
from .tables import timepoint_text


def predictive_figures(results) -> list[tuple[str, str, Figure]]:
    risk = results.sections.get("risk_groups")
    if not isinstance(risk, pd.DataFrame) or risk.empty:
        return []
    curve = results.sections.get("benefit_curve")
    plan = results.plan
    out = []
    for (outcome, t), g in risk.groupby(["outcome", "timepoint"], sort=False):
        o = next(x for x in plan.outcomes if x.name == outcome)
        c = curve[(curve["outcome"] == outcome) & (curve["timepoint"] == t)] if isinstance(curve, pd.DataFrame) else None
        scales = _scales(o)
        fig = _figure(g, c, o.type == "binary", scales)
        olab, when = label_of(o), timepoint_text(t, plan.data.time_unit)
        if o.type == "time_to_event":
            when = f"risk by {o.horizon:g}" + (f" {o.time_unit}" if o.time_unit else "")
        fig.suptitle(literal(f"{olab}, {when}: treatment effect by predicted risk"), x=0.01, ha="left", fontsize=9.5)
        status = "pre-specified" if plan.predictive is not None and plan.predictive.prespecified else "exploratory"
        caption = (f"Risk modelling ({status}) for {olab} at {when}: participants grouped by their risk predicted by a model "
                   "blind to treatment; in each group the treated-minus-control difference "
                   f"({'risk difference' if o.type == 'binary' else 'mean difference'}) with its {level_text(plan.analysis.ci_level)} CI "
                   "at the group's mean predicted risk, and the curve of the treatment × predicted-risk model"
                   + ("; right: the odds ratio in each group (log axis)." if o.type == "binary" else "."))
        if scales is not None and o.type in FAMILY_CAPTIONS:
            caption = (f"Risk modelling ({status}) for {olab}: participants grouped by their risk predicted by a model blind to "
                       f"treatment; in each group the treated-minus-control {scales[1]} with its "
                       f"{level_text(plan.analysis.ci_level)} CI at the group's mean predicted risk"
                       f"{FAMILY_CAPTIONS[o.type]}; right: the {scales[2]} in each group (log axis).")
        # a file name and an HTML anchor: no spaces ('5 years' -> '5-years', as the other figures)
        out.append((figure_stem("risk_groups", outcome, t), caption, fig))
    return out


# the families' caption middles: the time-to-event figure has no curve
FAMILY_CAPTIONS = {"time_to_event": " (Kaplan-Meier restricted mean survival times to the horizon)",
                   "count": ", and the curve of the treatment × predicted-rate model"}


def _scales(o) -> tuple[str, str, str] | None:
    """(x axis, absolute effect, relative effect) labels of a time-to-event or count outcome."""
    if o.type == "time_to_event":
        unit = f" {o.time_unit}" if o.time_unit else ""
        return (f"predicted risk by {o.horizon:g}{unit} (probability)",
                f"RMST difference ({o.time_unit})" if o.time_unit else "RMST difference", "hazard ratio")
    if o.type == "count":
        return ("predicted rate (events per unit exposure)", "rate difference", "rate ratio")
    return None


def _figure(g: pd.DataFrame, curve, binary: bool, scales: tuple[str, str, str] | None = None) -> Figure:
    if scales is not None:
        return _family_figure(g, curve, scales)
    panels = 2 if binary else 1
    fig = Figure(figsize=(4.2 * panels + 0.6, 3.4))
    x = g["mean_predicted_risk"].to_numpy(float)
    axes = [fig.add_subplot(1, panels, k + 1) for k in range(panels)]
    ax = axes[0]
    _points(ax, x, g, "absolute")
    if curve is not None and len(curve):
        ax.plot(curve["predicted_risk"], curve["absolute_effect"], color=OKABE_ITO["blue"], lw=1.2)
    ax.axhline(0, color="black", lw=0.7, zorder=0)
    ax.set_xlabel("predicted risk (probability)" if binary else "predicted outcome", fontsize=8)
    ax.set_ylabel("risk difference" if binary else "mean difference", fontsize=8)
    if binary:
        ax2 = axes[1]
        _points(ax2, x, g, "relative")
        ax2.set_yscale("log")
        ax2.axhline(1, color="black", lw=0.7, zorder=0)
        _ratio_yticks(ax2)
        ax2.set_xlabel("predicted risk (probability)", fontsize=8)
        ax2.set_ylabel("odds ratio", fontsize=8)
    for a in axes:
        a.tick_params(labelsize=7.5)
        for side in ("right", "top"):
            a.spines[side].set_visible(False)
    fig.subplots_adjust(left=0.12, right=0.97, bottom=0.17, top=0.85, wspace=0.35)
    return fig


def _family_figure(g: pd.DataFrame, curve, scales: tuple[str, str, str]) -> Figure:
    """Absolute (left) and relative (right, log axis) effects by risk group of a time-to-event or count outcome."""
    fig = Figure(figsize=(9.0, 3.4))
    x = g["mean_predicted_risk"].to_numpy(float)
    ax, ax2 = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    _points(ax, x, g, "absolute")
    if curve is not None and len(curve):
        ax.plot(curve["predicted_risk"], curve["absolute_effect"], color=OKABE_ITO["blue"], lw=1.2)
    ax.axhline(0, color="black", lw=0.7, zorder=0)
    ax.set_ylabel(scales[1], fontsize=8)
    _points(ax2, x, g, "relative")
    ax2.set_yscale("log")
    ax2.axhline(1, color="black", lw=0.7, zorder=0)
    _ratio_yticks(ax2)
    ax2.set_ylabel(scales[2], fontsize=8)
    for a in (ax, ax2):
        a.set_xlabel(scales[0], fontsize=8)
        a.tick_params(labelsize=7.5)
        for side in ("right", "top"):
            a.spines[side].set_visible(False)
    fig.subplots_adjust(left=0.12, right=0.97, bottom=0.17, top=0.85, wspace=0.35)
    return fig


def _ratio_yticks(ax) -> None:
    """Odds-ratio labels (1-2-5 steps, finer on a narrow axis) on a log y axis."""
    from matplotlib.ticker import NullFormatter, NullLocator
    low, high = ax.get_ylim()
    for cands in ([0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100], [0.25, 0.33, 0.5, 0.67, 0.8, 1, 1.25, 1.5, 2, 3, 4],
                  [0.6, 0.7, 0.8, 0.9, 1, 1.1, 1.2, 1.3, 1.5]):
        ticks = [v for v in cands if low <= v <= high]
        if len(ticks) >= 3:
            break
    ax.yaxis.set_minor_locator(NullLocator())
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_yticks(ticks)
    ax.set_yticklabels([f"{v:g}" for v in ticks])


def _points(ax, x: np.ndarray, g: pd.DataFrame, kind: str) -> None:
    est = g[f"{kind}_effect"].to_numpy(float)
    lo, hi = g[f"{kind}_ci_low"].to_numpy(float), g[f"{kind}_ci_high"].to_numpy(float)
    ok = np.isfinite(est) & np.isfinite(lo) & np.isfinite(hi) & np.isfinite(x)
    if kind == "relative":
        ok &= (lo > 0)
    for xi, e, a, b, label in zip(x[ok], est[ok], lo[ok], hi[ok], g["risk_group"].astype(str).to_numpy()[ok]):
        ax.plot([xi, xi], [a, b], color="black", lw=1.1)
        ax.plot([xi], [e], marker="s", color="black", ms=4.5)
        ax.annotate(label, (xi, b), xytext=(0, 3), textcoords="offset points", ha="center", fontsize=7, color="#555555")
    if not ok.any():
        ax.text(0.5, 0.5, "no group with a finite effect", transform=ax.transAxes, ha="center", fontsize=8)
    if math.isfinite(float(np.nanmin(x))) and math.isfinite(float(np.nanmax(x))) and ok.any():
        pad = 0.05 * (float(np.nanmax(x)) - float(np.nanmin(x)) or 1.0)
        ax.set_xlim(float(np.nanmin(x)) - pad, float(np.nanmax(x)) + pad)


SHRUNKEN_COLOUR = "#777777"
SHRUNKEN_CAPTION = (" Grey hollow diamonds below each level: the same effect shrunk towards the common effect (empirical Bayes, "
                    "shrunken_subgroups.csv).")


def shrunken_point(results, row) -> tuple[float, float, float] | None:
    """(estimate, low, high) of the shrunken effect for a subgroup forest's level row, if computed."""
    frame = results.sections.get("shrunken_subgroups")
    if not isinstance(frame, pd.DataFrame) or frame.empty:
        return None
    hit = frame[(frame["outcome"] == row["outcome"]) & (frame["timepoint"].astype(str) == str(row["timepoint"]))
                & (frame["moderator"] == row["moderator"]) & (frame["level"].astype(str) == str(row["moderator_value"]))
                & (frame["model"] == row["model"])]
    if hit.empty:
        return None
    h = hit.iloc[0]
    return float(h["shrunken_estimate"]), float(h["shrunken_ci_low"]), float(h["shrunken_ci_high"])


def draw_shrunken(ax, point, y: float, window, clip) -> None:
    """The shrunken effect as a grey hollow diamond with its interval, just below the raw one."""
    from .drawing import draw_interval
    est, low, high = point
    draw_interval(ax, low, high, y - 0.3, window, color=SHRUNKEN_COLOUR, lw=0.9, solid_capstyle="butt")
    ax.plot([clip(est, window)], [y - 0.3], marker="D", mfc="white", color=SHRUNKEN_COLOUR, ms=3.5, ls="none")
