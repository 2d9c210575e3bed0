"""Specs and designs of time-to-event outcomes (CONTRACT §6.2-6.3).

Per moderator: a ``cox`` model (timepoint empty) over the whole follow-up and, when the outcome
has a horizon, an ``rmst`` model (timepoint = the horizon as text). Designs come from
``models/design.py``'s columns and naming: the Cox design drops ``(Intercept)`` (the baseline
hazard takes its place); the RMST design of a binary or categorical moderator is the saturated
arm x level design without covariates (Kaplan-Meier per cell, unadjusted); that of a continuous
moderator keeps the linear model's terms (a linear model of pseudo-observations).
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..data.survival_coding import TTE_KEY
from ..data.trial import TrialData
from .design import Design, _arms, _columns, _exclusions
from .spec import ModelSpec


def survival_design(spec: ModelSpec, trial: TrialData) -> Design:
    """Complete cases of time, event, moderator (and, but for the KM-based RMST, covariates);
    ``spec.moderator`` "" is the average effect's design (treat + covariates)."""
    o = trial.outcomes[spec.outcome]
    assert o.status is not None, "a time_to_event outcome has its event indicator"
    moderator = spec.moderator or None
    X, names, mod_names, terms, _, centre = _columns(trial, spec.outcome, moderator, False)
    kind = trial.moderators[moderator].type if moderator else "none"
    km_cells = spec.kind == "rmst" and kind not in ("continuous", "none")
    if km_cells:
        keep_cols = [j for j, nm in enumerate(names) if not nm.startswith("cov[")]
        X, names = X[:, keep_cols], [names[j] for j in keep_cols]
        trial = replace(trial, covariates=replace(trial.covariates, names=(), matrix=np.zeros((trial.n, 0)), sources=()))
    time = o.followups[TTE_KEY]
    lost, excluded = _exclusions(trial, spec.outcome, moderator, False, np.isnan(time) | np.isnan(o.status),
                                 "follow-up time or event missing")
    keep = ~lost
    if spec.kind == "cox":
        X, names = X[:, 1:], names[1:]
    tp = spec.timepoint if spec.timepoint is not None else TTE_KEY
    return Design(X[keep], time[keep], tuple(names), np.flatnonzero(keep), mod_names, terms, excluded,
                  timepoints=(tp,), mod_centre=centre, event=o.status[keep],
                  clusters=None if trial.cluster is None else trial.cluster[keep], **_arms(trial))
