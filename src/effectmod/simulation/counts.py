"""Two simulated trials with count and ordinal outcomes and known interactions: ``epilepsy``
(seizure counts, negative binomial) and ``status`` (an ordinal rating, proportional odds).

Both are small parametric models written out here, not calibrated to a published trial: the
``epilepsy`` parameters are of the order of MASS::epil's negative binomial fit (the rate ratio of
treatment about 0.7, theta about 3, counts over 2 to 8 weeks of follow-up), and ``status`` is a
four-level rating whose thresholds give about a quarter of the control arm in each category.
The true interactions are the models' own coefficients, which the analysis model estimates
(one moderator per model: the other moderator enters the truth with interaction 0 and is
independent of it).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

EPILEPSY: dict[str, float] = {"intercept": np.log(2.0), "treat": np.log(0.7), "age_per_year": -0.01, "log_base": 0.8,
            "treat_x_age": -0.02, "treat_x_high_base": 0.0, "theta": 3.0}
STATUS: dict[str, Any] = {"thresholds": (-1.1, 0.0, 1.1), "treat": 0.5, "baseline_index": 0.6, "treat_x_severe": -0.8,
          "treat_x_age": 0.0, "age_per_year": 0.01}
COUNT_SCENARIOS = ("epilepsy", "status")


def simulate_count_or_ordinal(scenario: str, n: int, seed: int) -> tuple[pd.DataFrame, dict, dict]:
    """(data, plan, truth) of one simulated trial of the scenario."""
    rng = np.random.default_rng(seed)
    treat = np.r_[np.ones(n // 2), np.zeros(n - n // 2)]
    rng.shuffle(treat)
    age = np.round(rng.normal(40, 10, n))
    arm = np.where(treat == 1, "active", "control")
    ids = [f"S{i + 1:04d}" for i in range(n)]
    if scenario == "epilepsy":
        p = EPILEPSY
        base = rng.negative_binomial(3, 3 / (3 + 20.0), n).astype(float)
        weeks = rng.choice([2.0, 4.0, 8.0], n)
        eta = (p["intercept"] + p["treat"] * treat + p["age_per_year"] * (age - 40) + p["log_base"] * np.log1p(base)
               + p["treat_x_age"] * treat * (age - 40))
        mu = np.exp(eta) * weeks
        y = rng.poisson(rng.gamma(p["theta"], mu / p["theta"]))
        data = pd.DataFrame({"id": ids, "arm": arm, "age": age, "log_base": np.log1p(base), "base": base,
                             "weeks": weeks, "seizures": y})
        plan = {"title": "Simulated epilepsy trial (count outcome)",
                "data": {"id": "id", "treatment": "arm", "treated": "active", "control": "control"},
                "outcomes": [{"name": "seizures", "label": "Seizures", "type": "count", "exposure": "weeks",
                              "followups": {"end": "seizures"}}],
                "moderators": [{"name": "age", "column": "age", "type": "continuous", "per": 10}],
                "covariates": ["log_base"], "analysis": {"count_model": "negative_binomial", "seed": seed}}
        truth = {"scenario": scenario, "n": n, "seed": seed, "dropout": "none", "parameters": p,
                 "interactions": [{"outcome": "seizures", "timepoint": "end", "moderator": "age", "value": p["treat_x_age"],
                                   "scale": "log rate ratio per year of age"}]}
        return data, plan, truth
    p = STATUS
    levels = ["poor", "fair", "good", "excellent"]
    severe = (rng.random(n) < 0.4).astype(float)
    base_index = rng.integers(1, 5, n).astype(float)
    eta = p["treat"] * treat + p["baseline_index"] * (base_index - 2.5) + p["treat_x_severe"] * treat * severe \
        + p["age_per_year"] * (age - 40) - 0.3 * severe
    cum = 1.0 / (1.0 + np.exp(-(np.asarray(p["thresholds"])[None, :] - eta[:, None])))
    y = (rng.random(n)[:, None] > cum).sum(axis=1)
    data = pd.DataFrame({"id": ids, "arm": arm, "age": age, "severity": np.where(severe == 1, "severe", "mild"),
                         "status_0": [levels[int(b) - 1] for b in base_index], "status_12": [levels[k] for k in y]})
    plan = {"title": "Simulated trial with an ordinal outcome",
            "data": {"id": "id", "treatment": "arm", "treated": "active", "control": "control"},
            "outcomes": [{"name": "status", "label": "Global status", "type": "ordinal", "levels": levels, "better": "higher",
                          "baseline": "status_0", "followups": {"12": "status_12"}}],
            "moderators": [{"name": "severity", "column": "severity", "type": "binary", "reference": "mild"}],
            "covariates": ["age"], "analysis": {"seed": seed}}
    params = {k: list(v) if isinstance(v, tuple) else v for k, v in p.items()}
    truth = {"scenario": scenario, "n": n, "seed": seed, "dropout": "none", "parameters": params,
             "interactions": [{"outcome": "status", "timepoint": "12", "moderator": "severity", "value": p["treat_x_severe"],
                               "scale": "log odds ratio (proportional odds), severe vs mild"}]}
    return data, plan, truth
