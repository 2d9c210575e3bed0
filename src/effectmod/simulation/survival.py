"""Simulated time-to-event trials with a known treatment x moderator interaction on the log-hazard
scale, for power: Weibull event times (shape 1 = exponential) under proportional hazards,
uniform accrual, administrative censoring at the end of the study and exponential loss to
follow-up; exact 1:1 allocation."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SurvivalScenario:
    log_hr: float = 0.0              # treatment effect at moderator 0 (reference level), log hazard ratio
    interaction: float = 0.0         # treatment x moderator, log ratio of hazard ratios (per unit / level)
    moderator_effect: float = 0.0    # prognostic effect of the moderator, log hazard ratio
    moderator: str = "binary"        # binary (prevalence below) | continuous (standard normal)
    prevalence: float = 0.5
    rate: float = 0.1                # Weibull scale: control hazard at moderator 0 is rate^shape * shape * t^(shape-1)
    shape: float = 1.0               # 1 = exponential
    accrual: float = 0.0             # participants enter uniformly over [0, accrual]
    follow_up: float = 10.0          # the study ends follow_up after the last entry
    dropout_rate: float = 0.0        # exponential loss to follow-up

    def draw(self, n: int, B: int, rng: np.random.Generator):
        """(X (B, n, 3) = [treat, mod, treat*mod], time (B, n), event (B, n)) of B trials."""
        treat = np.zeros((B, n))
        treat[:, : n // 2] = 1.0
        treat = rng.permuted(treat, axis=1)
        if self.moderator == "binary":
            mod = (rng.random((B, n)) < self.prevalence).astype(float)
        else:
            mod = rng.standard_normal((B, n))
        lp = self.log_hr * treat + self.moderator_effect * mod + self.interaction * treat * mod
        # S(t) = exp(-(rate t)^shape exp(lp)): t = (-log U exp(-lp))^(1/shape) / rate
        t_event = (-np.log(rng.random((B, n))) * np.exp(-lp)) ** (1.0 / self.shape) / self.rate
        entry = rng.random((B, n)) * self.accrual
        censor = self.accrual + self.follow_up - entry
        if self.dropout_rate > 0:
            censor = np.minimum(censor, rng.exponential(1.0 / self.dropout_rate, (B, n)))
        time = np.minimum(t_event, censor)
        event = (t_event <= censor).astype(float)
        X = np.stack([treat, mod, treat * mod], axis=-1)
        return X, time, event


def survival_trial(scenario: SurvivalScenario, n: int = 400, seed: int = 2024, horizon: float | None = None):
    """One simulated trial as a data file and the plan that analyses it: (DataFrame, plan mapping,
    truth). Columns: id, arm (intervention/control), the moderator (risk: yes/no, or score),
    time (rounded to 1e-6) and event (1 = event, 0 = censored)."""
    import pandas as pd
    X, time, event = scenario.draw(n, 1, np.random.default_rng(seed))
    binary = scenario.moderator == "binary"
    mod = X[0, :, 1]
    data = pd.DataFrame({"id": np.arange(1, n + 1), "arm": np.where(X[0, :, 0] == 1, "intervention", "control"),
                         "risk" if binary else "score": np.where(mod == 1, "yes", "no") if binary else mod.round(6),
                         "time": time[0].round(6), "event": event[0].astype(int)})
    name = "risk" if binary else "score"
    outcome: dict = {"name": "event", "label": "Time to event", "type": "time_to_event", "time": "time", "event": "event",
               "better": "lower"}
    if horizon is not None:
        outcome["horizon"] = horizon
    moderator: dict = {"name": name, "column": name, "type": "binary" if binary else "continuous"}
    if binary:
        moderator["reference"] = "no"
    plan = {"title": "Simulated time-to-event trial",
            "data": {"id": "id", "treatment": "arm", "treated": "intervention", "control": "control"},
            "outcomes": [outcome], "moderators": [moderator]}
    truth = {"interaction": scenario.interaction, "log_hr": scenario.log_hr, "moderator_effect": scenario.moderator_effect}
    return data, plan, truth


# `effectmod simulate --scenario survival` / em.simulate("survival"): a binary high-risk moderator
# that halves the treatment's hazard ratio reduction, 2 years of accrual, 6 of follow-up after the
# last entry, 3% loss to follow-up a year, and a 4-year horizon for the RMST rows
SURVIVAL_DEFAULT = SurvivalScenario(log_hr=-0.4, interaction=0.3, moderator_effect=0.5, moderator="binary",
                                    prevalence=0.4, rate=0.12, accrual=2.0, follow_up=6.0, dropout_rate=0.03)
SURVIVAL_HORIZON = 4.0


def simulate_survival(n: int, seed: int) -> tuple:
    """(data, plan, truth) of the built-in survival scenario, the truth in the shape of the other
    scenarios' (the interaction is the Cox model's own coefficient, which the analysis estimates)."""
    import dataclasses
    sc = SURVIVAL_DEFAULT
    data, plan, _ = survival_trial(sc, n=n, seed=seed, horizon=SURVIVAL_HORIZON)
    plan["title"] = "Simulated trial with a time-to-event outcome"
    plan["outcomes"][0]["time_unit"] = "years"
    plan["analysis"] = {"seed": int(seed)}
    truth = {"scenario": "survival", "n": int(n), "seed": int(seed), "dropout": "exponential loss to follow-up",
             "parameters": {**dataclasses.asdict(sc), "horizon": SURVIVAL_HORIZON},
             "interactions": [{"outcome": "event", "timepoint": "", "moderator": "risk", "value": sc.interaction,
                               "scale": "log ratio of hazard ratios (Cox), risk yes vs no"}],
             "definitions": {"model": "hazard(t) = rate^shape * shape * t^(shape-1) * exp(log_hr * treat + moderator_effect "
                                      "* risk + interaction * treat * risk), Weibull (shape 1: exponential); 1:1 "
                                      "allocation; uniform entry over accrual, censoring at accrual + follow_up after "
                                      "the first entry and by exponential loss to follow-up at dropout_rate"}}
    return data, plan, truth
