"""Drawing primitives shared by every figure: the colour-blind-safe palette, user text drawn
literally, and confidence intervals cut at an axis window (with an arrowhead) where a diverging
fit would otherwise stretch the axis."""
from __future__ import annotations

import re
import textwrap

import numpy as np

from .text import printable


def figure_stem(*parts) -> str:
    """A figure's file name and HTML anchor from its parts: anything but letters, digits, '_', '.'
    and '-' (spaces in a follow-up label, '+' in an arm) becomes '-', so the file and its link work;
    empty parts are left out."""
    # an empty part (a Cox model's follow-up) adds no separator: 'subgroup_forest_death', not '..._death_'
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", "_".join(str(p) for p in parts if str(p) != ""))

# Okabe-Ito: distinguishable under the common colour-vision deficiencies
OKABE_ITO = {"orange": "#E69F00", "sky": "#56B4E9", "green": "#009E73", "yellow": "#F0E442",
             "blue": "#0072B2", "vermillion": "#D55E00", "purple": "#CC79A7", "black": "#000000",
             "grey": "#999999"}
# one colour per arm in every figure that says which arm an effect favours
ARM_COLOURS = {"treated": OKABE_ITO["blue"], "control": OKABE_ITO["vermillion"]}


# ---------------------------------------------------------------------------- user text
def literal(text) -> str:
    """User text (labels, level and arm names, titles) drawn by matplotlib exactly as written.

    matplotlib reads a pair of '$' as mathtext (and crashes on unbalanced TeX inside), and a
    legend hides labels starting with '_'. Escaping every '$' turns mathtext off for the
    string, so backslashes, braces, '%' and '^' print as they are; a zero-width space in
    front of a leading '_' keeps a legend entry visible.
    """
    s = printable(text).replace("$", r"\$")
    return "\u200b" + s if s.startswith("_") else s


_PARENS = re.compile(r"\([^()]*\)")
_NBSP = "\u00a0"


def wrap_label(text, width: int) -> str:
    """``text`` wrapped to lines of about ``width`` characters, never inside parentheses ('(NRS 0-10)'
    stays on one line) and never inside a word or at a hyphen; a longer unit runs over the width."""
    s = str(text)
    held = _PARENS.sub(lambda m: m.group(0).replace(" ", _NBSP), s)
    lines = textwrap.wrap(held, width, break_long_words=False, break_on_hyphens=False)
    return "\n".join(line.replace(_NBSP, " ") for line in lines) or s


# a treatment effect on a log-ratio scale beyond this (a ratio of e^30, about 1e13) only comes from
# a diverging fit; used where rows carry no note (the subgroup effects)
LOG_RATIO_LIMIT = 30.0


def axis_window(lows, highs, estimates, diverging=None) -> tuple[float, float] | None:
    """x-limits that show every ordinary interval and leave out the diverging ones (``diverging``,
    or any missing or infinite number); None when no row is diverging."""
    lows, highs, ests = (np.asarray(v, dtype=float) for v in (lows, highs, estimates))
    if lows.size == 0:
        return None
    ordinary = np.isfinite(lows) & np.isfinite(highs) & np.isfinite(ests)
    if diverging is not None:
        ordinary &= ~np.asarray(diverging, dtype=bool)
    if ordinary.all():
        return None
    if ordinary.any():
        lo = min(float(lows[ordinary].min()), 0.0)
        hi = max(float(highs[ordinary].max()), 0.0)
    else:
        lo, hi = -1.0, 1.0
    pad = 0.08 * (hi - lo or 1.0)
    return lo - pad, hi + pad


def draw_interval(ax, low: float, high: float, y: float, window, **line) -> None:
    """The CI line of one row, cut at ``window`` (from ``axis_window``) with an arrowhead at the
    axis edge where it goes on beyond it (a missing bound counts as beyond)."""
    if window is None:
        ax.plot([low, high], [y, y], **line)
        return
    a, b = window
    beyond_low, beyond_high = bool(np.isnan(low) or low < a), bool(np.isnan(high) or high > b)
    lo = a if beyond_low else min(low, b)
    hi = b if beyond_high else max(high, a)
    ax.plot([lo, hi], [y, y], **line)
    colour = line.get("color", "black")
    if beyond_low:
        ax.plot([a], [y], marker="<", color=colour, ms=5, ls="none", clip_on=False)
    if beyond_high:
        ax.plot([b], [y], marker=">", color=colour, ms=5, ls="none", clip_on=False)


def clip_point(x: float, window) -> float:
    """An estimate inside the axis window (a diverging estimate sits at the edge it points to)."""
    if window is None or np.isnan(x):
        return x
    return min(max(x, window[0]), window[1])


def ratio_ticks(ax, axis: str = "x") -> None:
    """Label an x-axis (or, with axis="y", a y-axis) drawn in log ratios with ratios (1-2-5 steps;
    finer on a narrow axis): a log axis labelled in odds, hazard or rate ratios."""
    lo_x, hi_x = ax.get_xlim() if axis == "x" else ax.get_ylim()
    for cands in (np.array([1e-3, 2e-3, 5e-3, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]),
                  np.array([0.25, 0.33, 0.5, 0.67, 0.8, 1, 1.25, 1.5, 2, 3, 4]),
                  np.array([0.6, 0.7, 0.8, 0.9, 1, 1.1, 1.2, 1.3, 1.5])):
        ticks = cands[(np.log(cands) >= lo_x) & (np.log(cands) <= hi_x)]
        if len(ticks) >= 3:
            break
    # a wide axis (odds ratios 0.005 to 1 in HSAUR3::Lanza's subgroups): 1-5 steps, then decades only,
    # so that the labels do not run into one another ('0.0050.010.02')
    for steps in ((1.0, 5.0), (1.0,)):
        if len(ticks) <= 6:
            break
        mantissa = np.round(ticks / 10.0 ** np.floor(np.log10(ticks) + 1e-9), 6)
        ticks = ticks[np.isin(mantissa, steps)]
    if axis == "y":
        if len(ticks) < 2:      # a very narrow axis: matplotlib's own ticks, labelled as ratios
            ticks = np.exp([v for v in ax.get_yticks() if lo_x <= v <= hi_x])
            ax.set_yticks(np.log(ticks))
            ax.set_yticklabels([f"{v:.3g}" for v in ticks])
            return
        ax.set_yticks(np.log(ticks))
        ax.set_yticklabels([f"{v:g}" for v in ticks])
        return
    ax.set_xticks(np.log(ticks))
    ax.set_xticklabels([f"{v:g}" for v in ticks])
