"""Risk modelling (PATH) rows of time-to-event and count outcomes: the risk_groups rows, the risk
model's c_statistic and calibration_slope (optimism-corrected as for the other outcome types) and
the benefit curve (count outcomes: the rate difference along the predicted rate).

Effect modelling is not done for these outcomes: the c-for-benefit and its companions compare the
observed outcomes of matched treated and control participants, which is not defined with censored
follow-up or unequal exposure without choices the literature has not settled (``EFFECT_NOT_DONE``).
"""
from __future__ import annotations

import math

import numpy as np

from ..engines.errors import EngineError
from .benefit import harrell_c
from .risk import risk_groups
from .risk_count import count_group_effect, count_interaction, fit_poisson_prognostic, poisson_calibration_slope
from .risk_survival import cox_calibration_slope, fit_cox_prognostic, harrell_c_censored, survival_group_effect, survival_interaction
from .rows import RISK_METRICS, metric_row, not_estimable, risk_row
from .validation import optimism_corrected

FAMILIES = ("time_to_event", "count")
EFFECT_NOT_DONE = {
    "time_to_event": "no effect model for time-to-event outcomes, as the c-for-benefit and calibration for benefit are not "
                     "defined for censored follow-up",
    "count": "no effect model for count outcomes, as the c-for-benefit and calibration for benefit are not defined for counts "
             "over unequal exposure",
}


def family_data(o, t: str, trial) -> dict:
    """The arrays a family's risk model needs, per participant: ``y`` (time or count), ``event``
    (time-to-event), ``offset`` (log exposure, 0 without) and ``exposure`` (1 without)."""
    y = np.asarray(o.followups[t], float)
    if o.type == "time_to_event":
        return {"y": y, "event": np.asarray(o.status, float)}
    exp_ = o.exposure.get(t) if o.exposure else None
    exposure = np.ones(len(y)) if exp_ is None else np.asarray(exp_, float)
    return {"y": y, "exposure": exposure, "offset": np.log(exposure)}


def _complete(X, arrays) -> np.ndarray:
    ok = ~np.isnan(X).any(axis=1)
    for v in arrays.values():
        ok &= ~np.isnan(v)
    return ok


def family_risk(outcome, t, o, X, trial, pred, level, rng, min_per_arm: int, too_few: str):
    """(risk_groups rows, metric rows, curve rows) of one time-to-event or count outcome; fewer than
    ``min_per_arm`` complete participants in an arm: no model, the metric rows say ``too_few``."""
    kind = o.type
    data = family_data(o, t, trial)
    ok = _complete(X, data)
    d = {k: v[ok] for k, v in data.items()}
    Xo, to = X[ok], trial.treat[ok]
    label = f"{o.horizon:g}" if kind == "time_to_event" else t
    if min(int((to == 1).sum()), int((to == 0).sum())) < min_per_arm:
        return [], [not_estimable(outcome, label, "risk", m, int(ok.sum()), too_few) for m in RISK_METRICS], []
    horizon = float(o.horizon) if kind == "time_to_event" else math.nan

    def develop(r):
        if kind == "time_to_event":
            return fit_cox_prognostic(Xo[r], d["y"][r], d["event"][r], horizon)
        return fit_poisson_prognostic(Xo[r], d["y"][r], d["offset"][r])

    def evaluate(model, r):
        lp = model.linear_predictor(Xo[r])
        if kind == "time_to_event":
            return {"c_statistic": harrell_c_censored(lp, d["y"][r], d["event"][r]),
                    "calibration_slope": cox_calibration_slope(lp, d["y"][r], d["event"][r])}
        return {"c_statistic": harrell_c(lp + d["offset"][r], d["y"][r]),
                "calibration_slope": poisson_calibration_slope(lp, d["y"][r], d["offset"][r])}

    try:
        prog = develop(np.arange(len(to)))
    except EngineError as exc:
        return [{"outcome": outcome, "timepoint": label, "note": f"risk model not estimable ({type(exc).__name__})"}], [], []
    risk, lp = prog.risk(Xo), prog.linear_predictor(Xo)
    index, bounds = risk_groups(risk, pred.risk_groups)
    if kind == "time_to_event":
        inter = survival_interaction(lp, d["y"], d["event"], to)
    else:
        inter = count_interaction(lp, d["y"], to, d["offset"])
    rows = []
    for g, (low, high) in enumerate(bounds):
        m = index == g
        if kind == "time_to_event":
            e = survival_group_effect(d["y"][m], d["event"][m], to[m], horizon, level)
        else:
            e = count_group_effect(d["y"][m], d["exposure"][m], to[m], level)
        rows.append(risk_row(outcome, label, g, low, high, e, float(risk[m].mean()) if m.any() else math.nan, inter))
    curve = []
    if kind == "count" and np.isfinite(inter.coef).all():
        b0, b1, b2, b3 = inter.coef
        grid = np.quantile(lp, np.linspace(0.02, 0.98, 25))
        effect = np.exp(b0 + b1 + (b2 + b3) * grid) - np.exp(b0 + b2 * grid)
        curve = [{"outcome": outcome, "timepoint": label, "predicted_risk": float(r), "absolute_effect": float(v)}
                 for r, v in zip(np.exp(grid), effect) if math.isfinite(float(v))]
    try:
        checked = optimism_corrected(develop, evaluate, to, pred.bootstrap, level, rng, tested=("calibration_slope",))
    except (EngineError, ValueError, np.linalg.LinAlgError) as exc:
        return rows, [not_estimable(outcome, label, "risk", m, int(ok.sum()), f"risk model not estimable ({type(exc).__name__})")
                      for m in RISK_METRICS], curve
    return rows, [metric_row(outcome, label, "risk", k, v, int(ok.sum())) for k, v in checked.items()], curve
