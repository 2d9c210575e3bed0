"""`effectmod power --pilot` with a time-to-event outcome: trials simulated from the pilot's Cox fit
(Breslow baseline hazard, censoring from the reverse Kaplan-Meier) and tested by the batched Cox fit.
Checked: the draws follow the pilot's baseline survival and censoring distribution, the test keeps
its size with no interaction, and from a large exponential pilot the power agrees with the power of
the generating scenario (``power.survival.survival_power``)."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from effectmod.power import PowerGrid, Size, pilot_source, simulate_power
from effectmod.power.survival import survival_power
from effectmod.power.survival_pilot import breslow, censoring, draw_survival
from effectmod.simulation.survival import SurvivalScenario, survival_trial

REF = Path(__file__).parent / "reference" / "veteran_cox"


def test_draws_follow_the_pilots_baseline_hazard_and_censoring():
    import yaml
    source = pilot_source(REF / "data.csv", yaml.safe_load((REF / "plan.yaml").read_text()))
    cox = [m for m in source.models if m.family == "cox"]
    assert {m.moderator for m in cox} == {"karno", "prior", ""}            # celltype (categorical) is skipped
    model = next(m for m in cox if m.moderator == "prior")
    rng = np.random.default_rng(3)
    eta = np.zeros((1, 200_000))
    t, e = draw_survival(model, eta, rng)
    # without censoring, S(t) = exp(-H0(t)) at the pilot's event times
    no_censor = model.__class__(**{**model.__dict__, "censor_times": np.array([]), "censor_cdf": np.array([]),
                                   "last_time": math.inf})
    t0, e0 = draw_survival(no_censor, eta, rng)
    for k in (5, 20, 60):
        s = np.mean(t0[0] > model.event_times[k])
        assert s == pytest.approx(math.exp(-model.cumhaz[k]), abs=4e-3)
    assert t.max() <= model.last_time and 0 < e.mean() < 1
    # the censoring times: P(C <= t) of the reverse Kaplan-Meier
    times, cdf, last = censoring(pd.read_csv(REF / "data.csv")["time"].to_numpy(float),
                                 pd.read_csv(REF / "data.csv")["status"].to_numpy(float))
    assert np.allclose(times, model.censor_times) and last == model.last_time
    u = draw_survival(model.__class__(**{**model.__dict__, "cumhaz": np.zeros_like(model.cumhaz)}), eta, rng)[0]
    for k in range(len(times)):
        assert np.mean(u[0] <= times[k]) == pytest.approx(cdf[k], abs=4e-3)


def test_breslow_matches_a_hand_sum():
    time = np.array([1.0, 2.0, 2.0, 3.0, 4.0, 5.0])
    event = np.array([1.0, 1.0, 0.0, 1.0, 0.0, 1.0])
    X = np.array([[0.0], [1.0], [0.0], [1.0], [0.0], [1.0]])
    r = np.exp(X[:, 0] * 0.5)
    times, H = breslow(X, time, event, np.array([0.5]))
    want = np.cumsum([1 / r.sum(), 1 / r[1:].sum(), 1 / r[3:].sum(), 1 / r[5:].sum()])
    assert np.allclose(times, [1, 2, 3, 5]) and np.allclose(H, want, rtol=1e-14)


def _large_pilot(interaction: float):
    sc = SurvivalScenario(log_hr=-0.3, interaction=interaction, moderator_effect=0.4, rate=0.15, accrual=2.0, follow_up=5.0)
    data, plan, _ = survival_trial(sc, n=4000, seed=12)
    return sc, data, plan


def test_no_interaction_keeps_the_size_and_a_large_pilot_gives_the_scenarios_power():
    sc, data, plan = _large_pilot(-0.5)
    source = pilot_source(data, plan)
    R = 400
    null = simulate_power(source, PowerGrid((200,), (Size(scale=None, value=0.0, moderator="risk"),), replicates=R, seed=5),
                          workers=1)
    (row,) = null.itertuples()
    assert abs(row.power - 0.05) < 4 * math.sqrt(0.05 * 0.95 / R)
    got = simulate_power(source, PowerGrid((300,), (Size(scale=1.0),), replicates=R, seed=6), workers=1).iloc[0]
    assert got["true_interaction"] == pytest.approx(-0.5, abs=0.15)
    want = survival_power(SurvivalScenario(**{**sc.__dict__, "interaction": got["true_interaction"]}), n=300,
                          replicates=R, seed=7)
    assert abs(got["power"] - want["power"]) < 4 * math.hypot(got["mcse"], want["mcse"]), (got["power"], want["power"])
