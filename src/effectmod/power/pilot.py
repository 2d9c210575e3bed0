"""A pilot source: the plan's per-follow-up models (linear or logistic) fitted to pilot data, each
kept with its complete-case design, coefficients and residuals for ``power.trials`` to simulate from."""
from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np

from ..engines.errors import RankDeficient
from ..engines.linalg import lstsq_batched, standardise, unscale
from ..engines.logistic import fit_logistic_stacked
from .sources import PilotModel, PilotSource


def pilot_source(data, plan, errors: str = "residuals") -> PilotSource:
    """Fit the plan's per-follow-up models (linear or logistic) to pilot data; see module doc."""
    from ..data.inputs import load_inputs
    from ..models.fit import fit_model
    from ..models.spec import model_specs
    plan_obj, _, trial = load_inputs(data, plan)
    if plan_obj.data.cluster is not None:
        from ..errors import UsageError
        raise UsageError("--plan: data.cluster is set, and power by simulation from a pilot resamples participants, not "
                         "clusters; power for cluster trials (number and size of clusters, design effect) is not available "
                         "yet: remove data.cluster from a copy of the plan and inflate the sample size by the design effect "
                         "1 + (m - 1) x ICC (conservative for a moderator that varies within clusters)")
    survival = [o.name for o in plan_obj.outcomes if o.type == "time_to_event"]
    if survival and trial.multi_arm:
        from ..errors import PlanError
        raise PlanError([f"outcomes: {', '.join(repr(s) for s in survival)} time_to_event: power from a multi-arm pilot "
                         "simulates continuous and binary outcomes only; give --plan a plan without them, or one comparison "
                         "(data.treated one arm) at a time"])
    single = plan_obj.model_copy(update={"analysis": plan_obj.analysis.model_copy(update={"sensitivity": [], "model": "linear"})})
    categorical = sorted(m.name for m in plan_obj.moderators if m.type == "categorical")
    # a categorical moderator is tested jointly over its levels (per comparison in a multi-arm
    # trial): simulated for linear and logistic models (power.joint), named as not simulated elsewhere
    def untested(spec) -> bool:
        return spec.moderator in categorical and spec.kind not in ("linear", "logistic")
    skipped = sorted({spec.moderator for spec in model_specs(single, trial) if untested(spec)})
    if trial.multi_arm:
        typed = [o.name for o in plan_obj.outcomes if o.type in ("count", "ordinal")]
        if typed:
            from ..errors import PlanError
            raise PlanError([f"outcomes: {', '.join(repr(s) for s in typed)}: power from a multi-arm pilot simulates "
                             "continuous and binary outcomes only; give --plan a plan without them, or one comparison "
                             "(data.treated one arm) at a time"])
        # multi-arm: every arm simulated jointly in one model per outcome x moderator (power.multiarm);
        # each comparison's tests are named by the outcome and the comparison
        from .multiarm import multiarm_models
        return PilotSource(tuple(multiarm_models(plan_obj, trial, single, skipped, _pilot_model, _ate_model)), errors,
                           tuple(skipped))
    models = []
    seen_ate: set = set()
    for spec in model_specs(single, trial):
        if untested(spec) and (spec.outcome, spec.timepoint) in seen_ate:
            continue
        if spec.kind == "rmst":             # time-to-event power tests the Cox interaction
            continue
        fm = fit_model(spec, trial, single)
        fit: Any = fm.fit                 # an engine's fit record (linear or logistic): both carry coef
        if fit is None:
            continue
        d = fm.design
        if spec.kind == "cox":
            models.extend(_cox_models(spec, d, fit, categorical, seen_ate))
            continue
        binary = spec.kind == "logistic"
        count = spec.kind in ("poisson", "negative_binomial")
        if not untested(spec):
            pm = _pilot_model(spec.outcome, spec.timepoint, spec.moderator, binary, d.X, d.y, fit.coef, d.names)
            if count:
                pm = replace(pm, family=spec.kind, theta=float(getattr(fit, "theta", math.nan)), offset=d.offset)
            elif spec.kind == "ordinal":
                pm = replace(pm, family="ordinal", thresholds=np.asarray(fit.thresholds))
            models.append(pm)
        if (spec.outcome, spec.timepoint) not in seen_ate:
            seen_ate.add((spec.outcome, spec.timepoint))
            keep = [k for k, nm in enumerate(d.names) if not nm.startswith(("mod", "treat:"))]
            if spec.kind == "ordinal":
                models.append(ordinal_ate_model(spec.outcome, spec.timepoint, d.X[:, keep], d.y,
                                                tuple(d.names[k] for k in keep)))
                continue
            if count:
                models.append(count_ate_model(spec.outcome, spec.timepoint, spec.kind, d.X[:, keep], d.y, d.offset,
                                              tuple(d.names[k] for k in keep)))
                continue
            models.append(_ate_model(spec.outcome, spec.timepoint, binary, d.X[:, keep], d.y,
                                     tuple(d.names[k] for k in keep)))
    return PilotSource(tuple(models), errors, tuple(skipped))


def _cox_models(spec, d, fit, skipped, seen_ate: set) -> list[PilotModel]:
    """The Cox pilot models of one spec: its interaction model, and the outcome's average-effect
    model once (``power.survival_pilot``)."""
    from .survival_pilot import cox_ate_model, cox_pilot_model
    assert d.event is not None
    out = []
    if spec.moderator not in skipped:
        out.append(cox_pilot_model(spec.outcome, spec.timepoint, spec.moderator, d.X, d.y, d.event, fit.coef, d.names))
    if (spec.outcome, spec.timepoint) not in seen_ate:
        seen_ate.add((spec.outcome, spec.timepoint))
        keep = [k for k, nm in enumerate(d.names) if not nm.startswith(("mod", "treat:"))]
        out.append(cox_ate_model(spec.outcome, spec.timepoint, d.X[:, keep], d.y, d.event, [d.names[k] for k in keep]))
    return out


def _pilot_model(outcome, timepoint, moderator, binary, X, y, coef, names) -> PilotModel:
    coef = np.asarray(coef, dtype=float)
    resid = y - X @ coef
    sigma = float(math.sqrt(resid @ resid / max(len(y) - X.shape[1], 1)))
    mod_cols = tuple(k for k, nm in enumerate(names) if nm.startswith("mod"))
    inter_cols = tuple(names.index(f"treat:{names[k]}") for k in mod_cols)
    return PilotModel(outcome, timepoint, moderator, binary, np.array(X, dtype=float), coef,
                      resid - resid.mean(), sigma, names.index("treat"), mod_cols, inter_cols)


def _ate_model(outcome, timepoint, binary, X, y, names) -> PilotModel:
    if binary:
        coef = fit_logistic_stacked(X[None], y[None])[0][0]
    else:
        coef = least_squares(X, y, names)
    return replace(_pilot_model(outcome, timepoint, "", binary, X, y, coef, list(names)), mod_cols=(), inter_cols=())


def count_ate_model(outcome, timepoint, kind, X, y, offset, names) -> PilotModel:
    """The average-effect model of a count outcome, fitted by its own family."""
    from ..engines.negbin import fit_negbin
    from ..engines.poisson import fit_poisson
    fit = (fit_negbin if kind == "negative_binomial" else fit_poisson)(X, y, names, offset=offset)
    return replace(_pilot_model(outcome, timepoint, "", False, X, y, fit.coef, list(names)), mod_cols=(), inter_cols=(),
                   family=kind, theta=fit.theta, offset=offset)


def ordinal_ate_model(outcome, timepoint, X, y, names) -> PilotModel:
    """The average-effect model of an ordinal outcome: its proportional-odds fit."""
    from ..engines.ordinal import fit_ordinal
    fit = fit_ordinal(X, y, names)
    return replace(_pilot_model(outcome, timepoint, "", False, X, y, fit.coef, list(names)), mod_cols=(), inter_cols=(),
                   family="ordinal", thresholds=np.asarray(fit.thresholds))


def least_squares(X: np.ndarray, y: np.ndarray, names) -> np.ndarray:
    """OLS coefficients of y on X (n, p) by the engines' one rank rule and QR solve on the
    standardised design (engines.linalg), as every least-squares fit in effectmod; a design that
    fails the rank rule raises ``RankDeficient`` naming its dependent columns."""
    X = np.asarray(X, dtype=float)
    centre, scale, intercept = standardise(X)
    is_int = np.isin(np.arange(X.shape[1]), intercept)
    coef_s, _, _, bad = lstsq_batched(((X - centre) / scale)[None], np.asarray(y, dtype=float)[None], is_int)
    if bad[0]:
        raise RankDeficient([str(nm) for nm in names])
    return unscale(coef_s[0], centre, scale, intercept)
