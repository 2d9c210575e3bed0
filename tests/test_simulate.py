"""The trial simulator: determinism, shape, scales, targets, truth, plan and files."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml

from effectmod.errors import UsageError
from effectmod.simulation import SCENARIOS, simulate, simulate_arrays, write_simulation
from effectmod.simulation.generate import latent_correlation, margin
from effectmod.simulation.scenarios import RESOLVE

BIG_N = 20_000  # large enough that sampling error is small beside the tolerances below
# Missing-data rates on BIG_N: binomial SE about 0.002; 0.015 leaves room without hiding a
# wrong rate (the targets differ by 0.02-0.06).
RATE_TOL = 0.015
# MAR intercepts come from a normal approximation of the linear predictor: looser.
MAR_RATE_TOL = 0.03
# Observed mean differences on BIG_N: SE about 0.035 (pain) and 0.08 (RMDQ), plus calibration.
EFFECT_TOL = {"pain": 0.15, "disability": 0.35}
SD_TOL = 0.25  # follow-up SDs, sham arm
# Observed correlations of discretised margins are slightly attenuated from the latent ones.
CORR_TOL = 0.06
MOMENT_TOL = {"mean": 0.3, "sd": 0.3}  # baseline margins on BIG_N (SE of a mean <= 0.1)
Z_MAX = 4.5  # |estimate - truth| / SE allowed over 32 fits (~ family-wise 1e-4 by chance)

PUBLISHED_EFFECTS = {("pain", "18"): -1.0, ("pain", "52"): -0.6,
                     ("disability", "18"): -2.6, ("disability", "52"): -1.8}
FOLLOWUPS = {("pain", "18"): "pain_18", ("pain", "52"): "pain_52",
             ("disability", "18"): "rmdq_18", ("disability", "52"): "rmdq_52"}
BASELINE = {"pain": "pain_0", "disability": "rmdq_0"}
RANGES = {"age": (18, 70), "pain_0": (3, 10), "rmdq_0": (0, 24), "bbq": (9, 45),
          "tsk": (17, 68), "pcs": (0, 52), "pseq": (0, 60), "frebaq": (0, 36),
          "pain_18": (0, 10), "pain_52": (0, 10), "rmdq_18": (0, 24), "rmdq_52": (0, 24)}

# CONTRACT §2 keys, plus analysis.sensitivity (added by the integrator).
PLAN_KEYS = {"title", "data", "outcomes", "moderators", "covariates", "analysis"}
DATA_KEYS = {"id", "treatment", "treated", "control", "time", "time_unit"}   # CONTRACT §2 plus the unit label
OUTCOME_KEYS = {"name", "label", "type", "event", "range", "baseline", "followups", "column",
                "better"}   # better: an extension of the contract plan (direction of benefit)
MODERATOR_KEYS = {"name", "column", "type", "label", "reference", "hypothesised_direction",
                  "rationale"}
ANALYSIS_KEYS = {"model", "adjust_for_baseline", "ci_level", "evidence_threshold",
                 "exploratory_threshold", "se", "multiplicity", "bootstrap", "imputations",
                 "seed", "sensitivity"}


@pytest.fixture(scope="module")
def trial():
    return simulate()


@pytest.fixture(scope="module")
def big():
    return simulate(n=BIG_N, seed=11)


def _interaction_fit(df: pd.DataFrame, mod: str, outcome: str, tp: str) -> tuple[float, float]:
    """b3 and its classical SE in y ~ treat + mod + treat:mod (+ baseline), complete cases."""
    y = df[FOLLOWUPS[(outcome, tp)]].to_numpy(float)
    t = (df["group"] == "sensorimotor").to_numpy(float)
    m = (df[mod] == "yes").to_numpy(float) if mod == "psychoactive_med" else df[mod].to_numpy(float)
    cols = [np.ones_like(y), t, m, t * m]
    if mod != BASELINE[outcome]:
        cols.append(df[BASELINE[outcome]].to_numpy(float))
    x = np.column_stack(cols)
    ok = ~np.isnan(y)
    x, y = x[ok], y[ok]
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    resid = y - x @ beta
    sigma2 = resid @ resid / (len(y) - x.shape[1])
    return float(beta[3]), float(np.sqrt(sigma2 * np.linalg.inv(x.T @ x)[3, 3]))


def test_same_seed_same_trial_and_different_seed_differs():
    a, b, c = simulate(seed=7), simulate(seed=7), simulate(seed=8)
    pd.testing.assert_frame_equal(a.data, b.data)
    assert a.truth == b.truth and a.plan == b.plan
    assert not a.data.equals(c.data)


def test_shape_allocation_and_ids(trial):
    df = trial.data
    assert df.shape == (276, 16)
    assert list(df.columns[:5]) == ["participant_id", "group", "age", "sex", "psychoactive_med"]
    assert df["group"].value_counts().to_dict() == {"sensorimotor": 138, "sham": 138}
    assert df["participant_id"].is_unique and df["participant_id"].iloc[0] == "R001"
    assert set(df["sex"]) == {"female", "male"}
    assert set(df["psychoactive_med"]) == {"no", "yes"}


@pytest.mark.parametrize("n", [20, 21, 99])
def test_any_n_from_20(n):
    counts = simulate(n=n, seed=3).data["group"].value_counts()
    assert counts["sensorimotor"] == n // 2 and counts.sum() == n


def test_ranges_and_integer_scales(big):
    df = big.data
    for col, (lo, hi) in RANGES.items():
        v = df[col].dropna().to_numpy(float)
        assert v.min() >= lo and v.max() <= hi, col
        assert np.all(v == np.round(v)), col
    # The scales are used to their ends, not squeezed into the middle.
    assert df["rmdq_18"].min() == 0 and df["pain_0"].min() == 3


def test_baseline_margins_and_correlations(big):
    df = big.data.assign(psychoactive_med=(big.data["psychoactive_med"] == "yes").astype(float))
    for m in RESOLVE.measures + (RESOLVE.age,):
        assert abs(df[m.column].mean() - m.mean) < MOMENT_TOL["mean"], m.column
        if m.binary_levels is None:
            assert abs(df[m.column].std() - m.sd) < MOMENT_TOL["sd"], m.column
    assert abs((big.data["sex"] == "female").mean() - 0.5) < RATE_TOL
    for c in RESOLVE.correlations:
        assert abs(df[c.a].corr(df[c.b]) - c.r) < CORR_TOL, (c.a, c.b)


def test_correlation_matrix_is_positive_definite_and_margins_hit_targets():
    assert np.linalg.eigvalsh(latent_correlation(RESOLVE))[0] > 0.05
    for m in RESOLVE.measures:
        support, probs = margin(m)
        assert support @ probs == pytest.approx(m.mean, abs=1e-6)


def test_average_effects_and_followup_sds(big):
    df = big.data
    treated = df["group"] == "sensorimotor"
    for (outcome, tp), col in FOLLOWUPS.items():
        diff = df.loc[treated, col].mean() - df.loc[~treated, col].mean()
        assert abs(diff - PUBLISHED_EFFECTS[(outcome, tp)]) < EFFECT_TOL[outcome], col
        f = next(f for o in RESOLVE.outcomes for f in o.followups if f.column == col)
        assert abs(df.loc[~treated, col].std() - f.target_control_sd) < SD_TOL, col
    # Published RMDQ at 18 weeks: 3.6 (SD 4.6) vs 6.4 (SD 5.8).
    assert abs(df.loc[treated, "rmdq_18"].mean() - 3.6) < 0.5
    assert abs(df.loc[treated, "rmdq_18"].std() - 4.6) < 0.5


def test_mcar_dropout_rates_by_arm_and_monotone(big):
    df = big.data
    targets = {"pain_18": 0.05, "rmdq_18": 0.07, "rmdq_52": 0.11, "pain_52": 0.11}
    for arm in ("sensorimotor", "sham"):
        sub = df[df["group"] == arm]
        for col, rate in targets.items():
            assert abs(sub[col].isna().mean() - rate) < RATE_TOL, (arm, col)
    miss18 = df["pain_18"].isna()
    assert df.loc[miss18, "pain_52"].isna().mean() > 0.8
    # MCAR: missingness unrelated to baseline disability.
    assert abs(df.loc[df["rmdq_52"].isna(), "rmdq_0"].mean() - df["rmdq_0"].mean()) < 0.5


def test_mar_dropout_depends_on_observed_values():
    df = simulate(n=BIG_N, seed=12, dropout="mar").data
    assert abs(df["pain_18"].isna().mean() - 0.05) < MAR_RATE_TOL
    assert abs(df["rmdq_52"].isna().mean() - 0.11) < MAR_RATE_TOL
    assert df.loc[df["pain_18"].isna(), "pain_0"].mean() > df["pain_0"].mean() + 0.2
    attended = df["pain_18"].notna()
    dropped = attended & df["pain_52"].isna()
    assert df.loc[dropped, "pain_18"].mean() > df.loc[attended, "pain_18"].mean() + 0.3


def test_truth_lists_every_moderator_outcome_followup(trial):
    rows = trial.truth["interactions"]
    assert len(rows) == 32
    assert {"dgp_interaction", "estimand"} <= set(rows[0]) and "estimand" in trial.truth[
        "definitions"]
    dgp = {(r["moderator"], r["outcome"], r["timepoint"]): r["dgp_interaction"] for r in rows}
    assert dgp[("back_perception", "pain", "52")] == 0.18
    assert dgp[("baseline_disability", "disability", "18")] == -0.15
    assert sum(v != 0 for v in dgp.values()) == 8
    json.dumps(trial.truth)  # JSON-ready


def test_estimand_relates_sanely_to_dgp(trial):
    rows = {(r["moderator"], r["outcome"], r["timepoint"]): r for r in trial.truth["interactions"]}
    for key, r in rows.items():
        if r["dgp_interaction"]:
            # Same sign; the floor and rounding attenuate, correlated moderators can add.
            assert np.sign(r["estimand"]) == np.sign(r["dgp_interaction"]), key
            assert abs(r["estimand"]) < 2 * abs(r["dgp_interaction"]), key
    # Back perception correlates 0.25 with baseline pain: its interaction leaks into baseline
    # pain's single-moderator estimand, by about 0.18 * 0.25 * 7 / 1.6 before attenuation.
    assert rows[("baseline_pain", "pain", "52")]["estimand"] > 0.08
    # BBQ's only interaction is with disability: its pain estimands are small.
    assert abs(rows[("back_beliefs", "pain", "18")]["estimand"]) < 0.1


def test_estimand_matches_an_independent_large_trial(trial):
    df = simulate(n=100_000, seed=99, dropout="none").data
    cols = {m.name: m.column for m in RESOLVE.moderators}
    for r in trial.truth["interactions"][::3]:
        b3, se = _interaction_fit(df, cols[r["moderator"]], r["outcome"], r["timepoint"])
        assert abs(b3 - r["estimand"]) < Z_MAX * se, r


def test_interaction_overrides_scale_and_replace():
    half = simulate(interaction_scale=0.5).truth["interactions"]
    dgp = {(r["moderator"], r["outcome"], r["timepoint"]): r["dgp_interaction"] for r in half}
    assert dgp[("back_perception", "disability", "52")] == pytest.approx(0.135)
    one = simulate("null", interactions={"kinesiophobia:pain:18": 0.3}).truth["interactions"]
    nonzero = [(r["moderator"], r["outcome"], r["timepoint"]) for r in one if r["dgp_interaction"]]
    assert nonzero == [("kinesiophobia", "pain", "18")]
    est = {(r["moderator"], r["outcome"], r["timepoint"]): r["estimand"] for r in one}
    # On the latent scale the moderator's own estimand is its coefficient.
    assert est[("kinesiophobia", "pain", "18")] == pytest.approx(0.3, abs=0.01)


@pytest.mark.parametrize("kwargs", [{"n": 19}, {"n": 30.5}, {"bogus": 1}, {"dropout": "x"},
                                    {"scenario": "nope"},
                                    {"interactions": {"kinesiophobia:pain:26": 0.1}}])
def test_bad_arguments_are_usage_errors(kwargs):
    with pytest.raises(UsageError):
        simulate(**kwargs)


def test_null_scenario_has_zero_estimand():
    t = simulate("null", n=BIG_N, seed=5, dropout="none")
    assert all(r["estimand"] == 0.0 and r["dgp_interaction"] == 0.0
               for r in t.truth["interactions"])
    cols = {m.name: m.column for m in RESOLVE.moderators}
    z = [abs(np.divide(*_interaction_fit(t.data, cols[r["moderator"]], r["outcome"],
                                         r["timepoint"])))
         for r in t.truth["interactions"]]
    assert max(z) < Z_MAX
    # Same participants' moderators as the resolve scenario with the same seed.
    same = simulate("resolve", n=BIG_N, seed=5, dropout="none").data
    pd.testing.assert_frame_equal(t.data.iloc[:, :12], same.iloc[:, :12])


def test_plan_keys_follow_contract_and_round_trip(trial):
    plan = trial.plan
    assert set(plan) <= PLAN_KEYS and set(plan["data"]) <= DATA_KEYS
    assert set(plan["analysis"]) <= ANALYSIS_KEYS and plan["analysis"]["sensitivity"] == ["mixed"]
    assert all(set(o) <= OUTCOME_KEYS for o in plan["outcomes"])
    assert all(set(m) <= MODERATOR_KEYS for m in plan["moderators"])
    assert [m["name"] for m in plan["moderators"]] == [
        "psychoactive_medication", "baseline_pain", "baseline_disability", "back_beliefs",
        "kinesiophobia", "catastrophizing", "self_efficacy", "back_perception"]
    assert all(m["column"] in trial.data.columns for m in plan["moderators"])
    assert plan["moderators"][0]["reference"] == "no"
    assert plan["outcomes"][1]["followups"] == {"18": "rmdq_18", "52": "rmdq_52"}
    assert yaml.safe_load(yaml.safe_dump(plan)) == plan


@pytest.mark.parametrize("ext", ["csv", "parquet"])
def test_write_simulation(tmp_path, trial, ext):
    paths = write_simulation(trial, tmp_path / f"sim.{ext}")
    assert [p.name for p in paths] == [f"sim.{ext}", "sim.plan.yaml", "sim.truth.json"]
    back = pd.read_csv(paths[0]) if ext == "csv" else pd.read_parquet(paths[0])
    assert back.shape == trial.data.shape
    np.testing.assert_array_equal(back["rmdq_52"].astype(float), trial.data["rmdq_52"])
    text = paths[1].read_text()
    assert text.startswith("#") and yaml.safe_load(text) == trial.plan
    assert json.loads(paths[2].read_text()) == trial.truth
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in paths)


def test_write_simulation_rejects_other_extensions(tmp_path, trial):
    with pytest.raises(UsageError):
        write_simulation(trial, tmp_path / "sim.xlsx")
    assert list(tmp_path.iterdir()) == []


def test_scenarios_registry():
    assert set(SCENARIOS) >= {"resolve", "null"}
    assert SCENARIOS["null"].interactions == () and not SCENARIOS["null"].observed_scale


def test_simulate_arrays_stacks_balanced_replicates():
    d, truth = simulate_arrays(n=101, reps=200, seed=4, dropout="mar")
    again, _ = simulate_arrays(n=101, reps=200, seed=4, dropout="mar")
    np.testing.assert_array_equal(d.outcomes["rmdq_52"], again.outcomes["rmdq_52"])
    assert d.treat.shape == (200, 101) and np.all(d.treat.sum(axis=1) == 50)
    assert d.baseline["frebaq"].shape == (200, 101) and len(truth["interactions"]) == 32
    # Replicates are independent trials, not copies of one.
    assert not np.array_equal(d.baseline["pcs"][0], d.baseline["pcs"][1])
    assert abs(np.isnan(d.outcomes["pain_18"]).mean() - 0.05) < MAR_RATE_TOL
