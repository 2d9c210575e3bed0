"""The predictive (PATH) analyses of a plan: risk_groups, benefit_metrics and shrunken_subgroups
frames (CONTRACT §6.4) and a summary, per outcome and follow-up."""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd

from ..engines.errors import EngineError
from ..engines.logistic import fit_logistic
from ..plan.schema import Plan
from .benefit import c_for_benefit, calibration_for_benefit, harrell_c, match_pairs
from .effect import fit_effect_model
from .predictors import predictor_matrix
from .risk import benefit_curve, fit_prognostic, group_effect, risk_groups, risk_interaction
from .rows import METRIC_COLUMNS, RISK_COLUMNS, RISK_METRICS, metric_row, not_estimable, risk_row
from .run_families import FAMILIES, family_risk
from .shrinkage_frame import shrunken_subgroups
from .summary import statements
from .validation import optimism_corrected

# fewer participants per arm than this: no risk or effect model (cross-validation and matching need some)
MIN_PER_ARM = 10
TOO_FEW = f"fewer than {MIN_PER_ARM} participants in an arm with the outcome and every predictor observed"
NOT_DISCRIMINATING = "the model does not discriminate benefit: the interval of the c-for-benefit includes 0.5"


def predictive_sections(trial, plan: Plan, sections: dict) -> dict:
    """The frames (risk_groups, benefit_metrics, shrunken_subgroups, benefit_curve) and the
    statements (predictive); ``sections`` gives the conditional effects that shrinkage starts from."""
    pred = plan.predictive
    assert pred is not None
    level, seed = plan.analysis.ci_level, plan.analysis.seed
    # a generator of its own: the other random steps keep their draws
    rng = np.random.default_rng([seed, 64])
    Xr = predictor_matrix(pred.risk_predictors, "risk_predictors", trial, plan)[0] if pred.risk_predictors else None
    Xe = predictor_matrix(pred.effect_predictors, "effect_predictors", trial, plan)[0] if pred.effect_predictors else None
    risk_rows: list[dict] = []
    metric_rows: list[dict] = []
    curves: list[dict] = []
    for o in trial.outcomes.values():
        for t, y in o.followups.items():
            if Xr is not None and o.type in FAMILIES:
                rows, metrics, curve = family_risk(o.name, t, o, Xr, trial, pred, level, rng, MIN_PER_ARM, TOO_FEW)
                risk_rows += rows
                metric_rows += metrics
                curves += curve
            elif Xr is not None:
                rows, metrics, curve = _risk(o.name, t, o.type, Xr, y, trial.treat, pred, level, rng)
                risk_rows += rows
                metric_rows += metrics
                curves += curve
            if Xe is not None and o.type not in FAMILIES:
                metric_rows += _effect(o.name, t, o.type, Xe, y, trial.treat, pred, level, seed, rng)
    out: dict = {}
    if Xr is not None:
        out["risk_groups"] = pd.DataFrame(risk_rows, columns=list(RISK_COLUMNS))
    if metric_rows:
        out["benefit_metrics"] = pd.DataFrame(metric_rows, columns=list(METRIC_COLUMNS))
    if pred.shrinkage:
        out["shrunken_subgroups"] = shrunken_subgroups(sections.get("conditional_effects"), trial, plan)
    if curves:
        out["benefit_curve"] = pd.DataFrame(curves, columns=["outcome", "timepoint", "predicted_risk", "absolute_effect"])
    out["predictive"] = statements(out, plan)
    return out


# the slope of observed on predicted benefit needs predictions that vary (benefit.calibration_for_benefit)
FLAT_BENEFIT = ("the effect model predicts the same benefit for every participant (the penalty shrank every treatment "
                "interaction to 0), so there is no slope")
EFFECT_METRICS = ("c_for_benefit", "e_for_benefit", "calibration_for_benefit_slope")


def _complete(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    return ~np.isnan(y) & ~np.isnan(X).any(axis=1)


def _too_few(treat: np.ndarray) -> bool:
    return min(int((treat == 1).sum()), int((treat == 0).sum())) < MIN_PER_ARM


def _calibration_slope(lp: np.ndarray, y: np.ndarray, kind: str) -> float:
    D = np.column_stack([np.ones(len(y)), lp])
    if kind == "continuous":
        return float(np.linalg.lstsq(D, y, rcond=None)[0][1])
    return float(fit_logistic(D, y, allow_unconverged=True).coef[1])


def _risk(outcome, t, kind, X, y, treat, pred, level, rng):
    ok = _complete(X, y)
    Xo, yo, to = X[ok], y[ok], treat[ok]
    if _too_few(to):
        return [], [not_estimable(outcome, t, "risk", m, int(ok.sum()), TOO_FEW) for m in RISK_METRICS], []
    try:
        prog = fit_prognostic(Xo, yo, kind)
    except EngineError as exc:
        return [{"outcome": outcome, "timepoint": t, "note": f"risk model not estimable ({type(exc).__name__})"}], [], []
    risk, lp = prog.risk(Xo), prog.linear_predictor(Xo)
    index, bounds = risk_groups(risk, pred.risk_groups)
    inter = risk_interaction(lp, yo, to, kind)
    rows = []
    for g, (low, high) in enumerate(bounds):
        m = index == g
        e = group_effect(yo[m], to[m], kind, level)
        rows.append(risk_row(outcome, t, g, low, high, e, float(risk[m].mean()) if m.any() else math.nan, inter))
    # the absolute effect along predicted risk from the treatment x linear predictor model (the figure's curve)
    grid = np.quantile(lp, np.linspace(0.02, 0.98, 25))
    at = grid if kind == "continuous" else 1 / (1 + np.exp(-grid))
    curve = [{"outcome": outcome, "timepoint": t, "predicted_risk": float(r), "absolute_effect": float(e)}
             for r, e in zip(at, benefit_curve(inter, grid, kind)) if math.isfinite(float(e))]

    def develop(r):
        return fit_prognostic(Xo[r], yo[r], kind)

    def evaluate(model, r):
        lp_r = model.linear_predictor(Xo[r])
        return {"c_statistic": harrell_c(lp_r, yo[r]), "calibration_slope": _calibration_slope(lp_r, yo[r], kind)}

    try:
        checked = optimism_corrected(develop, evaluate, to, pred.bootstrap, level, rng, tested=("calibration_slope",))
    except (EngineError, ValueError, np.linalg.LinAlgError) as exc:
        metrics = [not_estimable(outcome, t, "risk", m, int(ok.sum()), f"risk model not estimable ({type(exc).__name__})")
                   for m in RISK_METRICS]
        return rows, metrics, curve
    metrics = [metric_row(outcome, t, "risk", k, v, int(ok.sum())) for k, v in checked.items()]
    return rows, metrics, curve


def _effect(outcome, t, kind, X, y, treat, pred, level, seed, rng):
    ok = _complete(X, y)
    Xo, yo, to = X[ok], y[ok], treat[ok]
    if _too_few(to):
        return [not_estimable(outcome, t, "effect", m, int(ok.sum()), TOO_FEW) for m in EFFECT_METRICS]

    def develop(r):
        return fit_effect_model(Xo[r], to[r], yo[r], kind, pred.penalty, pred.folds, seed)

    def evaluate(model, r):
        pairs = match_pairs(model.benefit(Xo[r]), yo[r], to[r])
        e, slope = calibration_for_benefit(pairs)
        return {"c_for_benefit": c_for_benefit(pairs), "e_for_benefit": e, "calibration_for_benefit_slope": slope}

    if kind == "binary" and min(int(yo.sum()), int(len(yo) - yo.sum())) < 2 * pred.folds:
        return [not_estimable(outcome, t, "effect", m, int(ok.sum()), f"fewer than {2 * pred.folds} events or non-events for "
                               f"{pred.folds}-fold cross-validation") for m in EFFECT_METRICS]
    try:
        checked = optimism_corrected(develop, evaluate, to, pred.bootstrap, level, rng, robust=("calibration_for_benefit_slope",))
    except (EngineError, ValueError, np.linalg.LinAlgError) as exc:
        return [not_estimable(outcome, t, "effect", m, int(ok.sum()), f"effect model not estimable ({type(exc).__name__})")
                for m in EFFECT_METRICS]
    out = []
    for k, v in checked.items():
        note = ""
        if k == "c_for_benefit" and (not math.isfinite(v.ci_low) or v.ci_low <= 0.5 <= v.ci_high):
            note = NOT_DISCRIMINATING if math.isfinite(v.ci_low) else "no interval (bootstrap: 0); discrimination of benefit not judged"
        if k == "calibration_for_benefit_slope" and not math.isfinite(v.apparent):
            note = FLAT_BENEFIT
        if k == "e_for_benefit" and v.ci_low < 0:
            v = replace(v, ci_low=0.0)          # an absolute difference: the interval stops at 0
        out.append(metric_row(outcome, t, "effect", k, v, int(ok.sum()), note))
    return out
