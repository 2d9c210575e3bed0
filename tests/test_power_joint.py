"""Power for a categorical moderator: the joint test of its level interactions, as the analysis runs
it, in every simulated trial (checked against statsmodels' F and Wald tests), at its nominal size
when the interactions are 0."""
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from effectmod.engines.logistic import fit_logistic_stacked_vcov
from effectmod.engines.ols import fit_ols_stacked
from effectmod.power import PowerGrid, Size, pilot_source, simulate_power
from effectmod.power.joint import chi2_pvalues, f_pvalues


def _designs(B=6, n=150, seed=4):
    rng = np.random.default_rng(seed)
    treat = rng.integers(0, 2, (B, n)).astype(float)
    level = rng.integers(0, 3, (B, n))
    b, c = (level == 1).astype(float), (level == 2).astype(float)
    base = rng.normal(30, 8, (B, n))
    X = np.stack([np.ones((B, n)), treat, b, c, base, treat * b, treat * c], axis=-1)
    return X, rng


def test_ols_joint_p_equals_statsmodels_f_test():
    X, rng = _designs()
    y = X @ np.array([1.0, 0.5, 0.2, -0.1, 0.3, 0.4, -0.2]) + rng.normal(0, 2, X.shape[:2])
    fit = fit_ols_stacked(X, y)
    got = f_pvalues(fit.coef, fit.vcov, fit.df_resid, [5, 6])
    R = np.zeros((2, 7))
    R[0, 5] = R[1, 6] = 1.0
    want = [float(sm.OLS(yb, Xb).fit().f_test(R).pvalue) for Xb, yb in zip(X, y)]
    np.testing.assert_allclose(got, want, rtol=1e-8)


def test_logistic_joint_p_equals_statsmodels_wald_test():
    X, rng = _designs(seed=5)
    X[..., 4] = (X[..., 4] - 30) / 8
    eta = X @ np.array([-0.2, 0.5, 0.2, -0.1, 0.3, 0.6, -0.4])
    y = (rng.random(eta.shape) < 1 / (1 + np.exp(-eta))).astype(float)
    fits = [sm.Logit(yb, Xb).fit(disp=0, tol=1e-12, maxiter=100) for Xb, yb in zip(X, y)]
    coef, vcov, converged = fit_logistic_stacked_vcov(X, y)
    assert converged.all()
    got = chi2_pvalues(coef, vcov, [5, 6])
    R = np.zeros((2, 7))
    R[0, 5] = R[1, 6] = 1.0
    want = [float(f.wald_test(R, scalar=True).pvalue) for f in fits]
    np.testing.assert_allclose(got, want, rtol=1e-6)


def _pilot(n=240, seed=2, binary=False):
    rng = np.random.default_rng(seed)
    treat = np.repeat([1, 0], n // 2)
    site = rng.choice(["north", "south", "west"], n)
    base = rng.normal(30, 8, n)
    eta = 0.5 * treat + 0.3 * base + 1.5 * treat * (site == "west")
    y = (rng.random(n) < 1 / (1 + np.exp(-(eta - 9) / 3))).astype(int) if binary else eta + rng.normal(0, 2, n)
    frame = pd.DataFrame({"pid": range(n), "arm": np.where(treat == 1, "a", "b"), "y0": base, "y1": y, "site": site})
    outcome = {"name": "y", "baseline": "y0", "followups": {"1": "y1"}}
    if binary:
        outcome.update(type="binary", event=1)
    plan = {"data": {"id": "pid", "treatment": "arm", "treated": "a", "control": "b"}, "outcomes": [outcome],
            "moderators": [{"name": "site", "column": "site", "type": "categorical"}], "analysis": {"model": "linear"}}
    return frame, plan


@pytest.mark.parametrize("binary", [False, True])
def test_a_categorical_moderator_is_simulated_with_its_joint_test(binary):
    frame, plan = _pilot(binary=binary)
    source = pilot_source(frame, plan)
    assert source.skipped == ()
    assert any(m.moderator == "site" and len(m.inter_cols) == 2 for m in source.models)
    # interactions set to 0 (null) and kept at the pilot's values
    null = simulate_power(source, PowerGrid((240,), (Size(0.0),), replicates=400, seed=3), workers=1)
    full = simulate_power(source, PowerGrid((240,), (Size(1.0),), replicates=400, seed=3), workers=1)
    size = null.loc[null.moderator == "site", "power"].item()
    assert abs(size - 0.05) < 4 * np.sqrt(0.05 * 0.95 / 400)
    assert full.loc[full.moderator == "site", "power"].item() > size + 0.2
    pilot_fit = [m for m in source.models if m.moderator == "site"][0]
    inter = pilot_fit.coef[list(pilot_fit.inter_cols)]
    assert full.loc[full.moderator == "site", "analysis_estimand"].item() == pytest.approx(inter[np.argmax(np.abs(inter))])


@pytest.mark.slow
@pytest.mark.parametrize("binary", [False, True])
def test_joint_test_size_in_many_simulated_trials(binary):
    frame, plan = _pilot(binary=binary)
    null = simulate_power(pilot_source(frame, plan), PowerGrid((240,), (Size(0.0),), replicates=4000, seed=11), workers=1)
    size = null.loc[null.moderator == "site", "power"].item()
    assert abs(size - 0.05) < 3 * np.sqrt(0.05 * 0.95 / 4000)


def test_command_line_says_the_categorical_moderator_is_tested_jointly(tmp_path, capsys):
    import yaml

    from effectmod.cli import main
    frame, plan = _pilot()
    frame.to_csv(tmp_path / "pilot.csv", index=False)
    (tmp_path / "plan.yaml").write_text(yaml.safe_dump(plan))
    code = main(["power", "--pilot", str(tmp_path / "pilot.csv"), "--plan", str(tmp_path / "plan.yaml"), "--n", "200",
                 "--replicates", "50", "--out", str(tmp_path / "out")])
    assert code == 0
    said = " ".join(capsys.readouterr().out.split())
    assert "site (categorical): power of the joint test of the level interactions" in said
    assert "Not simulated" not in said
    assert "site" in set(pd.read_csv(tmp_path / "out" / "power.csv")["moderator"])


def test_multi_arm_categorical_moderator_tested_per_comparison():
    """Three arms: each comparison's categorical moderator is tested jointly over its levels, in the
    one model with every arm, at its size under the null."""
    rng = np.random.default_rng(8)
    n = 300
    arm = np.array(["c", "a", "b"] * (n // 3))
    site = rng.choice(["north", "south", "west"], n)
    base = rng.normal(30, 8, n)
    y = 0.3 * base + 0.5 * (arm != "c") + 1.5 * (arm == "a") * (site == "west") + rng.normal(0, 2, n)
    frame = pd.DataFrame({"pid": range(n), "arm": arm, "y0": base, "y1": y, "site": site})
    plan = {"data": {"id": "pid", "treatment": "arm", "treated": ["a", "b"], "control": "c"},
            "outcomes": [{"name": "y", "baseline": "y0", "followups": {"1": "y1"}}],
            "moderators": [{"name": "site", "column": "site", "type": "categorical"}], "analysis": {"model": "linear"}}
    source = pilot_source(frame, plan)
    assert source.skipped == ()
    joint = [m for m in source.models if m.moderator == "site"]
    assert [m.outcome for m in joint] == ["y [a vs c]", "y [b vs c]"] and all(len(m.inter_cols) == 2 for m in joint)
    null = simulate_power(source, PowerGrid((300,), (Size(0.0),), replicates=400, seed=5), workers=1)
    for size in null.loc[null.moderator == "site", "power"]:
        assert abs(size - 0.05) < 4 * np.sqrt(0.05 * 0.95 / 400)
    full = simulate_power(source, PowerGrid((300,), (Size(1.0),), replicates=200, seed=5), workers=1)
    powers = full.set_index("outcome").loc[:, "power"]
    assert powers["y [a vs c]"] > 0.5 > powers["y [b vs c]"]
