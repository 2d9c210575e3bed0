"""Power from a pilot with a time-to-event outcome: trials simulated from the pilot's Cox fit and
tested by the Cox engine's batched fit.

Each simulated participant is a pilot row (moderator and covariates, resampled from the analysed
pilot participants) with the treatment allocated 1:1. The event time solves
H0(T) exp(x'b) = E, E ~ Exp(1), where H0 is the pilot fit's Breslow cumulative baseline hazard (a
step function at the pilot's event times; a draw beyond its last step has no event within the
pilot's follow-up). The censoring time is drawn from the pilot's reverse Kaplan-Meier (censoring as
the event); its mass beyond the last censoring time sits at the pilot's last follow-up time, so no
simulated trial follows anyone longer than the pilot did. Observed: min(T, C), event = T <= C.
Each trial is refitted by the Efron Cox model (``engines.cox.fit_cox_batch``, all trials of a chunk
at once) and the interaction (or, for the average effect, the treatment) tested by its Wald z; a
trial whose fit does not converge does not reject.
"""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from .sources import PilotModel


def breslow(X: np.ndarray, time: np.ndarray, event: np.ndarray, coef: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(distinct event times, Breslow cumulative baseline hazard at each) for linear predictor X b."""
    risk = np.exp(X @ coef)
    times = np.unique(time[event == 1])
    d = np.array([np.sum((time == t) & (event == 1)) for t in times], dtype=float)
    at_risk = np.array([risk[time >= t].sum() for t in times])
    return times, np.cumsum(d / at_risk)


def censoring(time: np.ndarray, event: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """(censoring times, P(C <= t) at each, last follow-up time) from the reverse Kaplan-Meier."""
    from ..engines.survival_km import kaplan_meier
    km = kaplan_meier(time, 1.0 - event)
    keep = km.n_event > 0
    return km.time[keep], 1.0 - km.surv[keep], float(np.max(time))


def cox_pilot_model(outcome: str, timepoint: str, moderator: str, X: np.ndarray, time: np.ndarray, event: np.ndarray,
                    coef: np.ndarray, names) -> PilotModel:
    """A pilot model of a Cox fit (coefficients ``coef`` on the pilot design X without intercept)."""
    names = list(names)
    X = np.asarray(X, dtype=float)
    time, event = np.asarray(time, dtype=float), np.asarray(event, dtype=float)
    coef = np.asarray(coef, dtype=float)
    mod_cols = tuple(k for k, nm in enumerate(names) if nm.startswith("mod")) if moderator else ()
    inter_cols = tuple(names.index(f"treat:{names[k]}") for k in mod_cols)
    times, cumhaz = breslow(X, time, event, coef)
    c_times, c_cdf, last = censoring(time, event)
    return PilotModel(outcome, timepoint, moderator, False, X, coef, np.zeros(len(time)), math.nan, names.index("treat"),
                      mod_cols, inter_cols, family="cox", event_times=times, cumhaz=cumhaz, censor_times=c_times,
                      censor_cdf=c_cdf, last_time=last)


def cox_ate_model(outcome: str, timepoint: str, X: np.ndarray, time: np.ndarray, event: np.ndarray, names) -> PilotModel:
    """The average-effect model (treatment and covariates) refitted by Cox on the pilot."""
    from ..engines.cox import fit_cox
    fit = fit_cox(X, time, event, names)
    return replace(cox_pilot_model(outcome, timepoint, "", X, time, event, fit.coef, names), mod_cols=(), inter_cols=())


def draw_survival(model: PilotModel, eta: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(time, event) arrays shaped like ``eta`` from the pilot's baseline hazard and censoring."""
    assert model.event_times is not None and model.cumhaz is not None
    assert model.censor_times is not None and model.censor_cdf is not None
    target = rng.exponential(1.0, eta.shape) * np.exp(-np.clip(eta, -700.0, 700.0))
    k = np.searchsorted(model.cumhaz, target, side="left")          # first step with H0 >= target
    t_event = np.where(k < model.event_times.size, model.event_times[np.minimum(k, model.event_times.size - 1)], np.inf)
    j = np.searchsorted(model.censor_cdf, rng.random(eta.shape), side="left")
    t_censor = np.where(j < model.censor_times.size, model.censor_times[np.minimum(j, max(model.censor_times.size - 1, 0))],
                        model.last_time) if model.censor_times.size else np.full(eta.shape, model.last_time)
    event = t_event <= t_censor
    return np.where(event, t_event, t_censor), event.astype(float)


def cox_rejections(model: PilotModel, X: np.ndarray, eta: np.ndarray, test: int, rng: np.random.Generator,
                   alpha: float) -> int:
    """Rejections among the simulated trials X (reps, n, p) with linear predictors ``eta``."""
    from scipy import stats

    from ..engines.cox import fit_cox_batch
    time, event = draw_survival(model, eta, rng)
    beta, ok, V = fit_cox_batch(X, time, event, vcov=True)
    var = V[:, test, test]
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.abs(beta[:, test]) / np.sqrt(var)
    hit = ok & np.isfinite(z) & (event.sum(axis=1) > 0) & (z > stats.norm.ppf(1.0 - alpha / 2.0))
    return int(hit.sum())
