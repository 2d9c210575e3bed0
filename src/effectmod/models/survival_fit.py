"""Fit one time-to-event spec (``cox`` or ``rmst``) and return its rows (CONTRACT §6.3).

``cox``: Efron Cox model of ``treat + mod + treat:mod + covariates``; the rows come from the
shared ``interaction_rows`` (log hazard-ratio scale); every row carries the proportional-hazards
test (cox.zph) of the treatment and interaction terms, and a pointer to the RMST rows when it
fails. ``rmst``: binary/categorical moderators - Kaplan-Meier RMST per arm within each level
(a saturated arm x level record whose interaction coefficients are the level differences minus
the reference level's); continuous moderators - a linear model of RMST pseudo-observations with
an HC0 sandwich. Both give Wald z rows through the same ``interaction_rows``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..data.trial import TrialData
from ..formatting import p_text
from ..records import NON_PROPORTIONAL, PROPORTIONAL_HAZARDS, Note
from .design import Design
from .spec import ModelSpec

if TYPE_CHECKING:
    from ..engines.cox import CoxFit

PH_ALPHA = 0.05


@dataclass(frozen=True)
class ZFit:
    """Coefficients with a covariance and a normal reference (RMST records)."""

    coef: np.ndarray
    vcov: np.ndarray
    names: tuple[str, ...]

    def contrast(self, L):
        from ..engines.base import Contrast
        L = np.asarray(L, dtype=float)
        return Contrast(float(L @ self.coef), float(math.sqrt(max(L @ self.vcov @ L, 0.0))), math.inf)

    def wald(self, L):
        from ..engines.base import wald_from_vcov
        return wald_from_vcov(self.coef, self.vcov, L, math.inf)


class NotEstimable(Exception):
    """This one model cannot be fitted; the message is the row's `note`."""


def survival_engine(spec: ModelSpec, design: Design, trial: TrialData, problem: str | None):
    """(fit, summary, notes, problem) of a cox or rmst spec; ``problem`` is the shared
    pre-fit check's finding (models/fit.py), None when the model can be fitted."""
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
                fit, notes, extra = _cox(design, trial, spec)
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
    m = trial.moderators[spec.moderator]
    if m.type == "continuous" or "treat" not in design.names:
        return None
    assert design.event is not None
    codes = m.values[design.rows]
    treat = design.X[:, design.index("treat")]
    arms = trial.flow.arm_values
    for k, level in enumerate(m.levels):
        for a, arm in ((1, "treated"), (0, "control")):
            sel = (codes == k) & (treat == a)
            if sel.any() and design.event[sel].sum() == 0:
                return (f"no events in arm {arms.get(arm, arm)} with {m.source} = {level} ({int(sel.sum())} participants): "
                        "its hazard ratio is not estimable (monotone likelihood)")
    return None


def _cox(design: Design, trial: TrialData, spec: ModelSpec):
    from ..engines.cox import fit_cox
    assert design.event is not None
    # data.cluster (CONTRACT 6.3): the grouped robust variance of coxph(..., cluster = )
    cluster = getattr(trial, "cluster", None)
    fit = fit_cox(design.X, design.y, design.event, design.names,
                  cluster=None if cluster is None else np.asarray(cluster)[design.rows])
    ph = fit.ph or {"terms": {}, "global": (math.nan, 0, math.nan)}
    tested = ["treat", *(f"treat:{nm}" for nm in design.mod_names)]
    parts = [f"{_ph_name(t)} {p_text(ph['terms'][t][1])}" for t in tested if t in ph["terms"]]
    chi, df, p_global = ph["global"]
    notes = [Note(PROPORTIONAL_HAZARDS, f"proportional-hazards test: {', '.join(parts)}, global {p_text(p_global)}")]
    failed = [t for t in tested if t in ph["terms"] and ph["terms"][t][1] < PH_ALPHA]
    if failed:
        horizon = trial.outcomes[spec.outcome].horizon
        where = "see the rmst rows" if horizon is not None else "set outcomes[].horizon for rmst rows"
        notes.append(Note(NON_PROPORTIONAL, f"hazards not proportional ({', '.join(_ph_name(t) for t in failed)}); {where}"))
    summary = {"ph_test": {"terms": {k: {"chisq": v[0], "p": v[1]} for k, v in ph["terms"].items()},
                           "global": {"chisq": chi, "df": df, "p": p_global}},
               "ph_failed": failed, "loglik": fit.loglik}
    return fit, tuple(notes), summary


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
    if "treat" not in design.names:
        # one treatment column per treated arm (a multi-arm trial): the two-arm cell layout below
        raise NotEstimable("rmst rows are computed for two-arm comparisons only")
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
    # saturated arm x level: one KM per cell
    treat = design.X[:, design.index("treat")]
    mods = design.X[:, [design.index(nm) for nm in design.mod_names]]
    level = np.zeros(len(treat), dtype=int)
    for j in range(mods.shape[1]):
        level[mods[:, j] == 1] = j + 1
    arms = trial.flow.arm_values
    p = len(design.names)
    cells, means, variances = [], [], []
    table = []
    for lv in range(mods.shape[1] + 1):
        for a in (0, 1):
            sel = (level == lv) & (treat == a)
            km = kaplan_meier(design.y[sel], design.event[sel])
            lv_text = m.levels[lv] if m.type == "categorical" else m.levels[lv]
            arm = arms.get("treated" if a else "control", "treated" if a else "control")
            if km.last < tau:
                raise NotEstimable(f"arm {arm} in {m.source} = {lv_text} is last observed at {km.last:g}{unit}, before the horizon "
                                   f"{tau:g}{unit}: its RMST to the horizon is undefined")
            est, se = rmst(km, tau)
            row = np.zeros(p)
            row[design.index("(Intercept)")] = 1.0
            row[design.index("treat")] = a
            if lv > 0:
                row[design.index(design.mod_names[lv - 1])] = 1.0
                row[design.index(f"treat:{design.mod_names[lv - 1]}")] = a
            cells.append(row)
            means.append(est)
            variances.append(se ** 2)
            table.append({"level": lv_text, "arm": arm, "rmst": est, "std_error": se, "n": int(sel.sum())})
    A = np.linalg.inv(np.array(cells))
    coef = A @ np.array(means)
    vcov = A @ np.diag(variances) @ A.T
    return ZFit(coef, vcov, design.names), (), {"rmst_method": "Kaplan-Meier per arm within level", "horizon": tau,
                                                 "rmst_cells": table}
