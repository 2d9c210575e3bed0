"""Within-arm multiple imputation (effectmod.data.impute): determinism, what it must leave
alone, md.pattern agreement, and simulations showing it keeps a treatment interaction and
corrects MAR dropout where complete cases do not."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.special import expit

from effectmod.data.impute import ImputationVariable, impute, missing_patterns, missingness_summary
from effectmod.errors import DataError
from effectmod.inference.pooling import pool

REF = Path(__file__).parent / "reference" / "mi_pool"
TRUE_INTERACTION = 0.5
# Within-arm MI of an outcome MAR on the moderator: the mean pooled interaction over the
# replicates lies within this distance of the truth (its Monte Carlo SE is ~0.027: ~3 SE).
WITHIN_ARM_REPLICATES = 10
WITHIN_ARM_TOL = 0.08
# Imputing both arms together must lose at least this much of the interaction (measured 0.15:
# the imputed 40% get the arms' common slope, i.e. no interaction).
ATTENUATION_MIN = 0.08


@dataclass(frozen=True)
class _Fit:
    coef: np.ndarray
    vcov: np.ndarray
    names: tuple[str, ...]

    def contrast(self, L):  # pragma: no cover - protocol only
        raise NotImplementedError

    def wald(self, L):  # pragma: no cover
        raise NotImplementedError


def _ols(X, y):
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    resid = y - X @ beta
    df = X.shape[0] - X.shape[1]
    return _Fit(beta, resid @ resid / df * np.linalg.inv(X.T @ X), tuple("abcde"[: X.shape[1]])), df


def _trial(rng, n=120):
    """A small mixed-type trial frame with about 15% of each column missing."""
    arm = rng.integers(0, 2, n)
    base = rng.normal(5, 2, n)
    d = pd.DataFrame(
        {
            "pain_0": np.clip(np.round(base), 0, 10),
            "pain_18": np.clip(np.round(base - arm + rng.normal(0, 1.5, n)), 0, 10),
            "frebaq": rng.normal(15, 5, n) + base,
            "sex": rng.integers(0, 2, n).astype(float),
            "site": rng.integers(0, 3, n).astype(float),
        }
    )
    for c in d.columns:
        d.loc[rng.random(n) < 0.15, c] = np.nan
    vs = [
        ImputationVariable("pain_0", "continuous", 0, 10, integer=True),
        ImputationVariable("pain_18", "continuous", 0, 10, integer=True),
        ImputationVariable("frebaq", "continuous"),
        ImputationVariable("sex", "binary"),
        ImputationVariable("site", "categorical"),
    ]
    return d, vs, arm


def test_same_seed_gives_identical_imputations_and_leaves_the_frame_alone():
    d, vs, arm = _trial(np.random.default_rng(1))
    d["note"] = "kept"
    before = d.copy()
    a = impute(d, vs, arm, 4, np.random.default_rng(7), iterations=5)
    b = impute(d, vs, arm, 4, np.random.default_rng(7), iterations=5)
    c = impute(d, vs, arm, 4, np.random.default_rng(8), iterations=5)
    pd.testing.assert_frame_equal(d, before)
    assert len(a) == 4
    for x, y in zip(a, b):
        pd.testing.assert_frame_equal(x, y)
    assert not a[0].equals(c[0])
    assert not a[0].equals(a[1])  # the m imputations differ from each other


@pytest.mark.parametrize("method", ["pmm", "norm"])
def test_observed_values_kept_and_imputations_on_each_scale(method):
    d, vs, arm = _trial(np.random.default_rng(2))
    out = impute(d, vs, arm, 3, np.random.default_rng(3), iterations=4, continuous=method)
    observed = d.notna()
    for f in out:
        assert not f[[v.name for v in vs]].isna().any().any()
        pd.testing.assert_frame_equal(f[observed.all(axis=1)], d[observed.all(axis=1)])
        for c in d.columns:
            np.testing.assert_array_equal(f.loc[observed[c], c], d.loc[observed[c], c])
        for c in ("pain_0", "pain_18"):
            assert f[c].between(0, 10).all() and (f[c] == np.round(f[c])).all()
        assert set(f["sex"]) <= {0.0, 1.0}
        assert set(f["site"]) <= set(d["site"].dropna())
        if method == "pmm":  # donors' observed values, within the participant's own arm
            for a in (0, 1):
                sel = arm == a
                assert set(f.loc[sel, "frebaq"]) <= set(d.loc[sel, "frebaq"].dropna())


def test_missing_patterns_match_mice_md_pattern():
    d = pd.read_csv(REF / "nhanes.csv")
    got = missing_patterns(d, [ImputationVariable(c, "continuous") for c in d.columns])
    want = pd.read_csv(REF / "md_pattern.csv").astype({"count": "Int64"})
    pd.testing.assert_frame_equal(got, want, check_dtype=False)


def test_missingness_summary_counts_per_arm():
    d = pd.DataFrame({"y": [1.0, np.nan, 3.0, np.nan, np.nan], "x": [1.0, 2.0, 3.0, 4.0, 5.0]})
    vs = [ImputationVariable("y", "continuous"), ImputationVariable("x", "continuous")]
    s = missingness_summary(d, vs, np.array([0, 0, 1, 1, 1]))
    assert list(s.columns) == ["variable", "arm", "n", "n_missing", "pct_missing"]
    y = s[s.variable == "y"].set_index("arm")
    assert y.loc[0, "n_missing"] == 1 and y.loc[1, "n_missing"] == 2
    assert y.loc[1, "pct_missing"] == pytest.approx(200 / 3)


def test_bad_input_lists_every_problem():
    d = pd.DataFrame({"y": [np.nan, np.nan, 3.0, 12.0], "b": [0.0, 2.0, 1.0, np.nan]})
    vs = [ImputationVariable("y", "continuous", upper=10), ImputationVariable("b", "binary"),
          ImputationVariable("zz", "continuous")]
    with pytest.raises(DataError) as err:
        impute(d, vs, np.array([0, 0, 1, 1]), 2, np.random.default_rng(0))
    text = str(err.value)
    for part in ("'zz' is not a column", "upper bound", "other than 0 and 1", "no observed value in arm 0"):
        assert part in text


def _interaction_data(rng, n=600):
    """Outcome with a true treatment x moderator interaction, 40% MAR-missing given the moderator."""
    arm = rng.integers(0, 2, n)
    x = rng.normal(0, 1, n)
    y = 0.5 * arm + 0.3 * x + TRUE_INTERACTION * arm * x + rng.normal(0, 1, n)
    aux = y + rng.normal(0, 1, n)  # an auxiliary follow-up, fully observed
    y[rng.random(n) < expit(-0.6 + x)] = np.nan
    return pd.DataFrame({"x": x, "aux": aux, "y": y}), arm


def _design(f, arm):
    return np.column_stack([np.ones(len(f)), arm, f.x, arm * f.x])


def _pooled_interaction(frames, arm):
    fits = [_ols(_design(f, arm), f.y.to_numpy()) for f in frames]
    return pool([f for f, _ in fits], df_complete=fits[0][1]).contrast(np.eye(4)[3])


def test_within_arm_imputation_keeps_the_interaction():
    rng = np.random.default_rng(5)
    within, together = [], []
    for _ in range(WITHIN_ARM_REPLICATES):
        d, arm = _interaction_data(rng)
        vs = [ImputationVariable(c, "continuous") for c in d.columns]
        w = _pooled_interaction(impute(d, vs, arm, 10, rng, iterations=5, continuous="pmm"), arm)
        # The same imputation model ignoring the arm (one group, arm not a predictor):
        g = _pooled_interaction(impute(d, vs, np.zeros_like(arm), 10, rng, iterations=5, continuous="pmm"), arm)
        within.append(w.estimate)
        together.append(g.estimate)
        assert 0.0 < w.fmi < 1.0 and w.riv > 0.0
    # Measured (10 replicates, n = 600, m = 10, 40% missing): within-arm mean 0.492
    # (Monte Carlo SE 0.027), arms imputed together 0.345, complete cases 0.536; truth 0.5.
    assert abs(np.mean(within) - TRUE_INTERACTION) < WITHIN_ARM_TOL
    assert np.mean(within) - np.mean(together) > ATTENUATION_MIN


def _dropout_trial(rng, n):
    """Baseline y0, moderator x, follow-ups y1 and y2 sharing a participant effect; y2 drops out
    (MAR) mostly when the observed earlier follow-up y1 is high. The complete-case model of
    y2 (arm * x + y0) does not contain y1, so selecting on y1 selects on y2's error."""
    arm = rng.integers(0, 2, n)
    x = rng.normal(0, 1, n)
    y0 = rng.normal(0, 1, n)
    e1 = rng.normal(0, 1, n)
    mu1 = 0.5 * y0 + 0.3 * x + 0.4 * arm + TRUE_INTERACTION * arm * x
    y1 = mu1 + e1
    y2 = 0.3 * y0 + 0.2 * x + 0.5 * arm + TRUE_INTERACTION * arm * x + 0.8 * e1 + rng.normal(0, 0.6, n)
    y2[rng.random(n) < 0.05 + 0.8 * expit(3.0 * (y1 - 0.5))] = np.nan
    return pd.DataFrame({"x": x, "y0": y0, "y1": y1, "y2": y2}), arm


def _dropout_study(seed, replicates, n, m, method="pmm"):
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(replicates):
        d, arm = _dropout_trial(rng, n)
        X = np.column_stack([np.ones(n), arm, d.x, arm * d.x, d.y0])
        ok = d.y2.notna().to_numpy()
        cc, df = _ols(X[ok], d.y2.to_numpy()[ok])
        vs = [ImputationVariable(c, "continuous") for c in d.columns]
        frames = impute(d, vs, arm, m, rng, iterations=5, continuous=method)
        fits = [_ols(X, f.y2.to_numpy()) for f in frames]
        mi = pool([f for f, _ in fits], df_complete=fits[0][1]).contrast(np.eye(5)[3])
        rows.append((cc.coef[3], np.sqrt(cc.vcov[3, 3]), df, mi.estimate, mi.std_error, mi.df))
    r = np.array(rows)

    def summary(est, se, df):
        half = stats.t.ppf(0.975, df) * se
        return est.mean() - TRUE_INTERACTION, np.mean(np.abs(est - TRUE_INTERACTION) <= half)

    return summary(*r[:, :3].T), summary(*r[:, 3:].T), r[:, 0].std() / np.sqrt(replicates)


def test_mar_dropout_complete_cases_biased_imputation_not():
    (cc_bias, cc_cover), (mi_bias, mi_cover), mcse = _dropout_study(11, 100, 600, 5, "norm")
    # Measured (100 replicates, n = 600, m = 5, ~38% dropout, ~1.5 s): complete cases bias
    # -0.050, 95% CI coverage 0.89; MI (Bayesian regression) bias +0.002, coverage 0.97;
    # Monte Carlo SE of a mean bias ~0.010.
    assert cc_bias < -3 * mcse
    assert abs(mi_bias) < 2 * mcse
    assert mi_cover >= 0.92 and mi_cover > cc_cover


def test_mar_dropout_pmm_removes_most_of_the_bias():
    (cc_bias, _), (mi_bias, _), mcse = _dropout_study(11, 100, 600, 5, "pmm")
    # Measured: complete cases -0.067, PMM -0.027 (Monte Carlo SE ~0.009). PMM cannot impute
    # beyond the donors' values, and this dropout removes most of the highest y2 values.
    assert cc_bias < -3 * mcse
    assert abs(mi_bias) < abs(cc_bias) / 2


@pytest.mark.slow
def test_mar_dropout_simulation_large():
    (cc_bias, cc_cover), (mi_bias, mi_cover), mcse = _dropout_study(12, 400, 600, 10, "norm")
    # Measured (400 replicates, m = 10, ~11 s): complete cases bias -0.049, coverage 0.92;
    # MI bias +0.013, coverage 0.965; Monte Carlo SE 0.005. (PMM: bias -0.029, coverage 0.91.)
    assert cc_bias < -6 * mcse
    assert abs(mi_bias) < abs(cc_bias) / 2
    assert mi_cover >= 0.93 and cc_cover < mi_cover


def test_tiny_arms_with_more_predictors_than_observed_rows():
    # 7 participants per arm, 8 variables, ~30% missing: aliased and all-zero indicator columns
    # must not break the normal equations or the logistic fits.
    rng = np.random.default_rng(0)
    n = 14
    d = pd.DataFrame({c: rng.normal(size=n) for c in "abcdef"})
    d["bin"] = rng.integers(0, 2, n).astype(float)
    d["cat"] = rng.integers(0, 4, n).astype(float)
    for c in d.columns:
        d.loc[rng.random(n) < 0.3, c] = np.nan
    arm = np.repeat([0, 1], n // 2)
    vs = [ImputationVariable(c, "continuous") for c in "abcdef"]
    vs += [ImputationVariable("bin", "binary"), ImputationVariable("cat", "categorical")]
    for method in ("pmm", "norm"):
        out = impute(d, vs, arm, 3, rng, iterations=3, continuous=method)
        assert all(not f.isna().any().any() for f in out)


# ----------------------------------------------------------------------------- the default method
def test_impute_default_is_the_plans_default():
    import inspect

    from effectmod.plan.schema import Analysis

    default = inspect.signature(impute).parameters["continuous"].default
    assert default == Analysis.model_fields["imputation_method"].default == "norm"


# ----------------------------------------------------------------------------- out-of-range diagnostics
def _floor_data(rng, n=300):
    """A 0-10 whole-number outcome with a floor (a fifth at 0) whose dropouts are the low scorers
    at the earlier visit: the normal predictive draws for them fall below 0."""
    arm = rng.integers(0, 2, n)
    z0, z1, e = rng.normal(size=(3, n))
    y1 = np.clip(np.round(2 + 1.5 * (0.7 * z0 + 0.7 * z1)), 0, 10)
    y2 = np.clip(np.round(1 + 1.5 * (0.6 * z0 + 0.6 * z1 + 0.5 * e)), 0, 10)
    y2[rng.random(n) < expit(-2.0 - 2.0 * z1)] = np.nan
    d = pd.DataFrame({"x": z0, "y1": y1, "y2": y2})
    vs = [ImputationVariable("x", "continuous"), ImputationVariable("y1", "continuous", 0, 10, True),
          ImputationVariable("y2", "continuous", 0, 10, True)]
    return d, vs, arm


def test_diagnostics_count_norm_draws_outside_the_observed_range_before_truncation():
    d, vs, arm = _floor_data(np.random.default_rng(3))
    k = int(d.y2.isna().sum())
    diag = {}
    out = impute(d, vs, arm, 5, np.random.default_rng(4), iterations=5, continuous="norm", diagnostics=diag)
    # filling the diagnostics does not change a single draw
    plain = impute(d, vs, arm, 5, np.random.default_rng(4), iterations=5, continuous="norm")
    for a, b in zip(out, plain):
        pd.testing.assert_frame_equal(a, b)
    assert set(diag) == {"y2"}                                  # x and y1 have nothing missing
    y2 = diag["y2"]
    assert y2["imputed"] == 5 * k and (y2["observed_min"], y2["observed_max"]) == (0.0, d.y2.max())
    # measured: 101 of 295 draws (34%) below 0 (20% missing, 18% of the observed at 0), each
    # redrawn inside the range or set to 0, then rounded
    assert y2["below"] > 0.05 * y2["imputed"]
    for f in out:
        assert f.y2.between(0, 10).all() and (f.y2 == np.round(f.y2)).all()


def test_diagnostics_for_pmm_count_predicted_means_and_its_values_stay_inside():
    d, vs, arm = _floor_data(np.random.default_rng(3))
    diag = {}
    out = impute(d, vs, arm, 5, np.random.default_rng(4), iterations=5, continuous="pmm", diagnostics=diag)
    assert diag["y2"]["imputed"] == 5 * int(d.y2.isna().sum())
    # the predicted means extrapolate (measured: 94 of 295 below 0); the donors' values do not
    assert diag["y2"]["below"] > 0
    for f in out:
        assert set(f.y2) <= set(d.y2.dropna())


def test_diagnostics_empty_when_predictions_stay_inside():
    rng = np.random.default_rng(6)
    n = 400
    x = rng.uniform(0, 10, n)
    y = x + rng.uniform(-0.1, 0.1, n)
    y[(rng.random(n) < 0.2) & (x > 2) & (x < 8)] = np.nan      # missing only mid-range
    d = pd.DataFrame({"x": x, "y": y})
    diag = {}
    impute(d, [ImputationVariable("x", "continuous"), ImputationVariable("y", "continuous")],
           rng.integers(0, 2, n), 3, rng, iterations=3, diagnostics=diag)
    assert diag["y"]["below"] == diag["y"]["above"] == 0


# ----------------------------------------------------------------------------- norm vs pmm by simulation
def _latent(rng, n):
    arm = rng.permutation(np.arange(n) % 2).astype(float)
    x, z0, e1, e2 = rng.normal(0, 1, (4, n))
    z1 = 0.5 * z0 + 0.3 * x + 0.4 * arm + 0.5 * arm * x + e1
    z2 = 0.3 * z0 + 0.2 * x + 0.5 * arm + 0.5 * arm * x + 0.8 * e1 + 0.6 * e2
    return arm, x, z0, z1, z2


OUTCOME_SCALES = {
    "normal": (lambda z: z, None),
    # a 0-10 whole-number scale with a floor: about a fifth of the follow-up values at 0
    "bounded": (lambda z: np.clip(np.round(2 + 1.5 * z), 0, 10), (0, 10)),
    # skewed, positive, gamma-like (log-normal): long right tail
    "skewed": (lambda z: 2 * np.exp(0.6 * z), None),
}


def _scale_truth(kind: str) -> float:
    """The complete-data interaction of the analysis model (y2 ~ arm * x + y0) on this scale."""
    f = OUTCOME_SCALES[kind][0]
    arm, x, z0, _, z2 = _latent(np.random.default_rng(99), 400_000)
    X = np.column_stack([np.ones(arm.size), arm, x, arm * x, f(z0)])
    return float(np.linalg.lstsq(X, f(z2), rcond=None)[0][3])


def _method_study(kind: str, replicates: int, n: int, m: int, seed: int) -> dict:
    """Bias and 95% coverage of the pooled interaction for norm and pmm, beside complete cases and
    the complete data before dropout (whose coverage is the best an imputation can hope for: on
    the skewed scale the classical SE of the analysis model is itself a little optimistic).
    y2 drops out (MAR) mostly when the earlier visit y1 was high; y1 is in the imputation model."""
    f, bounds = OUTCOME_SCALES[kind]
    truth = _scale_truth(kind)
    rng = np.random.default_rng(seed)
    lo, hi = bounds or (None, None)
    whole = bounds is not None
    vs = [ImputationVariable("x", "continuous")] + [ImputationVariable(c, "continuous", lo, hi, whole)
                                                   for c in ("y0", "y1", "y2")]
    est = {"full": [], "cc": [], "norm": [], "pmm": []}
    for _ in range(replicates):
        arm, x, z0, z1, z2 = _latent(rng, n)
        y0, y1, y2 = f(z0), f(z1), f(z2)
        X = np.column_stack([np.ones(n), arm, x, arm * x, y0])
        full, df = _ols(X, y2)
        est["full"].append((full.coef[3], np.sqrt(full.vcov[3, 3]), df))
        y2 = y2.copy()
        s = (z1 - z1.mean()) / z1.std()
        y2[rng.random(n) < 0.05 + 0.6 * expit(2.5 * (s - 0.3))] = np.nan
        d = pd.DataFrame({"x": x, "y0": y0, "y1": y1, "y2": y2})
        ok = ~np.isnan(y2)
        cc, df = _ols(X[ok], y2[ok])
        est["cc"].append((cc.coef[3], np.sqrt(cc.vcov[3, 3]), df))
        for method in ("norm", "pmm"):
            frames = impute(d, vs, arm, m, rng, iterations=5, continuous=method)
            fits = [_ols(X, fr.y2.to_numpy()) for fr in frames]
            c = pool([fit for fit, _ in fits], df_complete=fits[0][1]).contrast(np.eye(5)[3])
            est[method].append((c.estimate, c.std_error, c.df))
    out = {}
    for key, rows in est.items():
        a = np.array(rows)
        half = stats.t.ppf(0.975, a[:, 2]) * a[:, 1]
        out[key] = {"bias": a[:, 0].mean() - truth, "cover": np.mean(np.abs(a[:, 0] - truth) <= half),
                    "mcse": a[:, 0].std() / np.sqrt(replicates)}
    return out


def test_norm_beats_pmm_on_a_skewed_outcome_with_mar_dropout():
    r = _method_study("skewed", 40, 400, 5, seed=7)
    # Measured (40 replicates, n = 400, m = 5, ~40% dropout of the high scorers, ~3 s; truth
    # 1.217): complete cases bias -0.29 (coverage .60), norm -0.02 (.925), pmm -0.15 (.925);
    # Monte Carlo SE ~0.04. PMM can only give the dropouts values that were observed, and the largest ones
    # were the least often observed. The slow test below covers bounded and normal outcomes.
    assert abs(r["norm"]["bias"]) < abs(r["pmm"]["bias"])
    assert abs(r["norm"]["bias"]) < 2 * r["norm"]["mcse"]
    assert r["cc"]["bias"] < -3 * r["cc"]["mcse"]
    assert r["norm"]["cover"] >= 0.9


@pytest.mark.slow
def test_norm_and_pmm_over_outcome_scales():
    """Measured (500 replicates each, n = 400, m = 10, seed 7; bias of the pooled interaction,
    95% CI coverage in brackets; Monte Carlo SE of a bias ~0.005 normal, ~0.007 bounded, ~0.013
    skewed):

    ========  =====  =============  =============  =============  =============
    outcome   truth  complete data  complete cases norm           pmm
    normal    0.501  -0.001 (.94)   -0.015 (.92)   +0.003 (.94)   -0.015 (.94)
    bounded   0.711  -0.001 (.96)   -0.052 (.93)   -0.003 (.96)   -0.027 (.95)
    skewed    1.217  -0.011 (.89)   -0.229 (.70)   -0.006 (.87)   -0.134 (.86)
    ========  =====  =============  =============  =============  =============

    With n = 150 (500 replicates, m = 10): norm +0.006 (.97), -0.022 (.97), -0.003 (.87); pmm
    -0.030 (.94), -0.077 (.95), -0.228 (.82). norm is the less biased on every scale, with
    coverage as good as pmm's and close to the complete data's -- hence the default.
    """
    results = {kind: _method_study(kind, 500, 400, 10, seed=7) for kind in OUTCOME_SCALES}
    for kind, r in results.items():
        assert abs(r["norm"]["bias"]) <= abs(r["pmm"]["bias"]) + 2 * r["norm"]["mcse"], kind
        assert abs(r["norm"]["bias"]) < 3 * r["norm"]["mcse"], kind
        assert r["norm"]["cover"] >= r["full"]["cover"] - 0.03, kind
        assert r["norm"]["cover"] >= r["pmm"]["cover"] - 0.02, kind
