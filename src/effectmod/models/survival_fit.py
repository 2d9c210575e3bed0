"""Fit one time-to-event spec (``cox`` or ``rmst``) and return its rows (CONTRACT §6.3).

``cox``: Efron Cox model of ``treat + mod + treat:mod + covariates``; the rows come from the
shared ``interaction_rows`` (log hazard-ratio scale); every row carries the proportional-hazards
test (cox.zph) of the treatment and interaction terms, and a pointer to the RMST rows when it
fails. ``rmst``: binary/categorical moderators - Kaplan-Meier RMST per arm within each level
(a saturated arm x level record whose interaction coefficients are the level differences minus
the reference level's); continuous moderators - a linear model of RMST pseudo-observations with
an HC0 sandwich. Both give Wald z rows through the same ``interaction_rows``.
Multi-arm designs: the Cox rows per comparison plus the all-arms chi-square, each comparison's
rows with the proportional-hazards test of its own arm's terms; the RMST cells are every arm
within each level (each treated arm's columns against the control), no all-arms row.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..data.trial import TrialData
from ..engines.base import WaldZ
from ..formatting import p_text
from ..records import NON_PROPORTIONAL, PROPORTIONAL_HAZARDS, Note
from .design import Design
from .errors import NotEstimable
from .spec import ModelSpec

if TYPE_CHECKING:
    from ..engines.cox import CoxFit

PH_ALPHA = 0.05


@dataclass(frozen=True)
class ZFit(WaldZ):
    """Coefficients with a covariance and a normal reference (RMST records)."""

    coef: np.ndarray
    vcov: np.ndarray
    names: tuple[str, ...]


def survival_engine(spec: ModelSpec, design: Design, trial: TrialData, problem: str | None, robust: bool = True):
    """(fit, summary, notes, problem) of a cox or rmst spec; ``problem`` is the shared
    pre-fit check's finding (models/fit.py), None when the model can be fitted. ``robust``: the
    grouped robust variance over ``design.clusters`` (se: CR2); False keeps the model-based one."""
    from ..engines.errors import NotConverged, RankDeficient
    assert design.event is not None
    if problem and problem.startswith(("every analysed participant has the same outcome", "the outcome has no events or only events")):
        problem = None          # equal follow-up times are not by themselves a problem
    if problem is None and design.event.sum() == 0:
        problem = "no events among the analysed participants"
    if problem is None and spec.kind == "cox":
        problem = _eventless_cell(design, trial, spec)
    fit: ZFit | CoxFit | None = None
    notes: tuple[Note, ...] = ()
    summary: dict = {"events": int(design.event.sum()), "censored": int((design.event == 0).sum())}
    if problem is None:
        try:
            if spec.kind == "cox":
                fit, notes, extra = _cox(design, trial, spec, robust)
            else:
                fit, notes, extra = _rmst(spec, design, trial)
            summary.update(extra)
        except RankDeficient as exc:
            problem = f"design columns are collinear ({', '.join(exc.columns)})"
        except NotConverged as exc:
            problem = exc.reason
        except NotEstimable as exc:
            problem = str(exc)
    return fit, summary, notes, problem


def _eventless_cell(design: Design, trial: TrialData, spec: ModelSpec) -> str | None:
    """An arm x level cell of a binary or categorical moderator without events: its hazard ratio
    runs off to 0 (monotone likelihood), so the interaction is not estimable."""
    from .multiarm import arm_codes
    m = trial.moderators[spec.moderator]
    if m.type == "continuous":
        return None
    assert design.event is not None
    codes = m.values[design.rows]
    arm = arm_codes(design)
    flow = trial.flow.arm_values
    labels = ((design.control, *design.arms) if design.arms
              else (flow.get("control", "control"), flow.get("treated", "treated")))
    for k, level in enumerate(m.levels):
        for a in range(len(labels) - 1, -1, -1):
            sel = (codes == k) & (arm == a)
            if sel.any() and design.event[sel].sum() == 0:
                n = int(sel.sum())
                return (f"no events in arm {labels[a]} with {m.source} = {level} ({n} participant{'s' * (n != 1)}): "
                        "its hazard ratio is not estimable (monotone likelihood)")
    return None


def _cox(design: Design, trial: TrialData, spec: ModelSpec, robust: bool = True):
    from ..engines.cox import fit_cox
    assert design.event is not None
    # data.cluster (CONTRACT 6.3): the grouped robust variance of coxph(..., cluster = )
    fit = fit_cox(design.X, design.y, design.event, design.names, cluster=design.clusters if robust else None)
    ph = fit.ph or {"terms": {}, "global": (math.nan, 0, math.nan)}
    chi, df, p_global = ph["global"]
    horizon = trial.outcomes[spec.outcome].horizon
    where = "see the rmst rows" if horizon is not None else "set outcomes[].horizon for rmst rows"
    summary: dict = {"ph_test": {"terms": {k: {"chisq": v[0], "p": v[1]} for k, v in ph["terms"].items()},
                                 "global": {"chisq": chi, "df": df, "p": p_global}}, "loglik": fit.loglik}
    if not design.arms:
        notes, failed = _ph_notes(ph, "treat", design.mod_names, p_global, where)
        summary["ph_failed"] = failed
        return fit, notes, summary
    # multi-arm: each comparison's rows carry the test of its own arm's terms; the all-arms row the global test
    by_comparison, all_failed = {}, []
    for arm in design.arms:
        notes, failed = _ph_notes(ph, design.treat_name(arm), design.mod_names, p_global, where, design.comparison(arm))
        by_comparison[design.comparison(arm)] = notes
        all_failed += failed
    from .multiarm import ALL_ARMS
    by_comparison[ALL_ARMS] = (Note(PROPORTIONAL_HAZARDS, f"proportional-hazards test: global {p_text(p_global)}"),)
    summary.update(ph_failed=all_failed, comparison_notes=by_comparison)
    return fit, tuple(n for notes in by_comparison.values() for n in notes), summary


def _ph_notes(ph: dict, treat: str, mod_names, p_global: float, where: str,
              comparison: str = "") -> tuple[tuple[Note, ...], list[str]]:
    """The cox.zph note of one comparison's treatment and interaction terms (``treat`` the arm's
    indicator; ``comparison`` names it in a multi-arm model), and a pointer to the RMST rows when
    one of them fails."""
    tested = [treat, *(f"{treat}:{nm}" for nm in mod_names)]
    plain = ["treat", *(f"treat:{nm}" for nm in mod_names)]
    parts = [f"{_ph_name(nm)} {p_text(ph['terms'][t][1])}" for t, nm in zip(tested, plain) if t in ph["terms"]]
    label = f" ({comparison})" if comparison else ""
    notes = [Note(PROPORTIONAL_HAZARDS, f"proportional-hazards test{label}: {', '.join(parts)}, global {p_text(p_global)}")]
    failed = [t for t in tested if t in ph["terms"] and ph["terms"][t][1] < PH_ALPHA]
    if failed:
        names = [_ph_name(nm) for t, nm in zip(tested, plain) if t in failed]
        notes.append(Note(NON_PROPORTIONAL, f"hazards not proportional ({comparison + ': ' if comparison else ''}{', '.join(names)}); {where}"))
    return tuple(notes), failed


def _ph_name(term: str) -> str:
    return "treatment" if term == "treat" else ("interaction" if term == "treat:mod" else f"interaction ({term[len('treat:mod['):-1]})")


def _rmst(spec: ModelSpec, design: Design, trial: TrialData):
    from ..engines.survival_km import kaplan_meier, pseudo_rmst, rmst
    assert design.event is not None
    o = trial.outcomes[spec.outcome]
    assert o.horizon is not None
    tau = float(o.horizon)
    unit = f" {o.time_unit}" if o.time_unit else ""
    m = trial.moderators[spec.moderator]
    if m.type == "continuous":
        if design.y.max() < tau:
            raise NotEstimable(f"the last participant is observed at {design.y.max():g}{unit}, before the horizon {tau:g}{unit}: "
                               "the RMST to the horizon is undefined")
        ps = pseudo_rmst(design.y, design.event, tau)
        X = design.X
        coef, *_ = np.linalg.lstsq(X, ps, rcond=None)
        bread = np.linalg.inv(X.T @ X)
        u = X * (ps - X @ coef)[:, None]
        vcov = bread @ (u.T @ u) @ bread
        return ZFit(coef, vcov, design.names), (), {"rmst_method": "pseudo-observations (infinitesimal jackknife), HC0",
                                                     "horizon": tau}
    # saturated arm x level: one KM per cell (multi-arm: every arm, each treated arm's own columns)
    from .multiarm import arm_codes
    arm_of = arm_codes(design)
    mods = design.X[:, [design.index(nm) for nm in design.mod_names]]
    level = np.zeros(len(arm_of), dtype=int)
    for j in range(mods.shape[1]):
        level[mods[:, j] == 1] = j + 1
    flow = trial.flow.arm_values
    labels = ((design.control, *design.arms) if design.arms
              else (flow.get("control", "control"), flow.get("treated", "treated")))
    treats = [design.treat_name(arm) for arm in design.arms] if design.arms else ["treat"]
    p = len(design.names)
    cells, means, variances = [], [], []
    table = []
    for lv in range(mods.shape[1] + 1):
        for a in range(len(labels)):
            sel = (level == lv) & (arm_of == a)
            km = kaplan_meier(design.y[sel], design.event[sel])
            lv_text = m.levels[lv]
            arm = labels[a]
            if km.last < tau:
                raise NotEstimable(f"arm {arm} in {m.source} = {lv_text} is last observed at {km.last:g}{unit}, before the horizon "
                                   f"{tau:g}{unit}: its RMST to the horizon is undefined")
            est, se = rmst(km, tau)
            row = np.zeros(p)
            row[design.index("(Intercept)")] = 1.0
            if a > 0:
                row[design.index(treats[a - 1])] = 1.0
            if lv > 0:
                row[design.index(design.mod_names[lv - 1])] = 1.0
                if a > 0:
                    row[design.index(f"{treats[a - 1]}:{design.mod_names[lv - 1]}")] = 1.0
            cells.append(row)
            means.append(est)
            variances.append(se ** 2)
            table.append({"level": lv_text, "arm": arm, "rmst": est, "std_error": se, "n": int(sel.sum())})
    A = np.linalg.inv(np.array(cells))
    coef = A @ np.array(means)
    vcov = A @ np.diag(variances) @ A.T
    return ZFit(coef, vcov, design.names), (), {"rmst_method": "Kaplan-Meier per arm within level", "horizon": tau,
                                                 "rmst_cells": table}
