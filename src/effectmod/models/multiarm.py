"""Multi-arm trials (CONTRACT §6.2-6.3): one model with every arm, rows per comparison.

A multi-arm design has one indicator ``treat[<arm>]`` per treated arm (the control is 0 on all)
and the products ``treat[<arm>]:<moderator column>``. Each comparison ("<arm> vs <control>")
gets the rows a two-arm model gives (its interaction rows and, for a categorical moderator, its
``joint`` row); the model gets one more ``joint`` row, ``comparison`` "all arms": the Wald test
that every arm x moderator coefficient is 0 (F on the model's df for linear and mixed models,
chi-square for the likelihood families), built only from the engine's ``contrast`` and ``wald``.
Here rather than in ``fit.py``: the row maker is passed in, so this module imports no fitting code.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from .design import Design

ALL_ARMS = "all arms"

RowMaker = Callable[..., dict]


def arm_codes(design: Design) -> np.ndarray:
    """Each design row's arm: 0 control, 1..k the treated arms (two-arm: the ``treat`` column)."""
    if not design.arms:
        return design.X[:, design.index("treat")].astype(int)
    codes = np.zeros(design.X.shape[0], dtype=int)
    for k, arm in enumerate(design.arms, start=1):
        codes[design.X[:, design.index(design.treat_name(arm))] == 1] = k
    return codes


def arm_names(design: Design, codes) -> str:
    labels = (design.control, *design.arms)
    return ", ".join(repr(labels[int(c)]) for c in codes)


def arms_problem(design: Design, where: str) -> str | None:
    """A treated arm or the control without participants in the model (multi-arm designs)."""
    seen = set(np.unique(arm_codes(design)).tolist())
    absent = [k for k in range(len(design.arms) + 1) if k not in seen]
    if absent:
        return f"arm(s) {arm_names(design, absent)} have no participants with the model's variables observed {where}"
    return None


def level_problem(design: Design, codes: np.ndarray, in_level: np.ndarray, source: str, level, where: str) -> str | None:
    """A moderator level missing from some arm: that arm's interaction is not estimable."""
    seen = set(np.unique(codes[in_level]).tolist())
    absent = [k for k in range(len(design.arms) + 1) if k not in seen]
    if absent:
        return (f"moderator '{source}' level {level!r} does not occur in arm(s) {arm_names(design, absent)} {where}; "
                "its interaction is not estimable")
    return None


def interaction_Ls(design: Design, timepoint: str | None) -> list[np.ndarray]:
    """Every arm x moderator coefficient at a follow-up (the all-arms joint test's rows)."""
    return [design.interaction_L(j, timepoint, arm) for arm in design.arms for j in range(len(design.mod_names))]


def multiarm_rows(spec, design: Design, fit, level: float, make_row: RowMaker) -> list[dict]:
    """Per follow-up: each comparison's rows, then the all-arms joint row."""
    rows: list[dict[str, Any]] = []
    categorical = design.terms != ("",)
    for t in design.timepoints:
        for arm in design.arms:
            comparison = design.comparison(arm)
            Ls = []
            for j, term in enumerate(design.terms):
                L = design.interaction_L(j, t, arm)
                Ls.append(L)
                c = fit.contrast(L)
                lo, hi = c.ci(level)
                extra = {k: getattr(c, k) for k in ("fmi", "riv") if hasattr(c, k)}
                rows.append(make_row(spec, t, term, design.n, estimate=c.estimate, std_error=c.std_error, ci_low=lo,
                                     ci_high=hi, p_value=c.p_value, df=c.df, comparison=comparison, **extra))
            if categorical:
                w = fit.wald(np.vstack(Ls))
                rows.append(make_row(spec, t, "joint", design.n, p_value=w.p_value, df=w.df_den, statistic=w.statistic,
                                     df_num=w.df_num, comparison=comparison))
        if spec.kind == "rmst":
            continue            # rmst rows have no all-arms row (CONTRACT 6.3)
        w = fit.wald(np.vstack(interaction_Ls(design, t)))
        rows.append(make_row(spec, t, "joint", design.n, p_value=w.p_value, df=w.df_den, statistic=w.statistic,
                             df_num=w.df_num, comparison=ALL_ARMS))
    return rows


def multiarm_empty_rows(spec, design: Design, note, make_row: RowMaker) -> list[dict]:
    rows = []
    categorical = design.terms != ("",)
    for t in design.timepoints:
        for arm in design.arms:
            comparison = design.comparison(arm)
            for term in design.terms:
                rows.append(make_row(spec, t, term, design.n, note=note, comparison=comparison))
            if categorical:
                rows.append(make_row(spec, t, "joint", design.n, note=note, comparison=comparison))
        if spec.kind != "rmst":     # rmst rows have no all-arms row (CONTRACT 6.3)
            rows.append(make_row(spec, t, "joint", design.n, note=note, comparison=ALL_ARMS, df_num=math.nan))
    return rows


def comparison_views(design: Design) -> list[tuple[str, Design]]:
    """One two-arm view of a multi-arm design per comparison: the same columns (so the same
    fit's coefficients and vcov apply), renamed so that ``treat`` and ``treat:<mod>`` are the
    comparison's arm indicator and products (the other arms' columns keep their names), and the
    rows of the control and that arm only. Contrasts built from a view (``effect_L``,
    ``interaction_L``) are the comparison's; its rows serve per-arm summaries (subgroup counts,
    observed moderator values). A view is never refitted: its X is not the model's."""
    from dataclasses import replace
    out = []
    codes = arm_codes(design)
    for k, arm in enumerate(design.arms, start=1):
        prefix = design.treat_name(arm)
        # the arm's indicator wherever it stands in a name (treat[A]:mod, time[t]:treat[A]:mod)
        names = tuple(_renamed(nm, prefix) for nm in design.names)
        keep = (codes == 0) | (codes == k)
        out.append((design.comparison(arm), replace(
            design, X=design.X[keep], y=design.y[keep], rows=design.rows[keep], names=names, arms=(), control="",
            groups=None if design.groups is None else design.groups[keep],
            times=None if design.times is None else design.times[keep],
            event=None if design.event is None else design.event[keep],
            offset=None if design.offset is None else design.offset[keep],
            clusters=None if design.clusters is None else design.clusters[keep])))
    return out


def _renamed(name: str, prefix: str) -> str:
    """``name`` with the factor ``prefix`` (treat[<arm>], an arm label may hold ':') called ``treat``."""
    parts = f":{name}:".replace(f":{prefix}:", ":treat:")
    return parts[1:-1]
