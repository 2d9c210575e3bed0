"""An outcome reproduced exactly by the model's terms (residual sum of squares ~0) has nothing to
test: its rows are not-estimable with the reason, on every path (linear classical and HC3,
mixed, bootstrap replicates, imputed fits); a model where only some participants are fitted
exactly is analysed as usual."""
import math
import warnings

import numpy as np
import pytest

import effectmod as em
from effectmod.engines.base import PERFECT_FIT_RSS, PerfectFitError
from effectmod.engines.mixed import fit_random_intercept
from effectmod.engines.ols import fit_ols, fit_ols_batch, fit_ols_full_batch, fit_ols_stacked
from effectmod.simulation import simulate

EXACT_NOTE = "the outcome is fitted exactly by outcome baseline (residual sum of squares ~0); nothing to test"


@pytest.fixture(scope="module")
def sim():
    return simulate("resolve", 160, 5)


def _plan(sim, model, **analysis):
    plan = dict(sim.plan)
    plan["outcomes"] = [dict(o) for o in plan["outcomes"] if o["name"] == "pain"]
    for o in plan["outcomes"]:
        o.pop("range", None)       # 2 * baseline + 3 leaves the 0-10 scale
    plan["moderators"] = [m for m in plan["moderators"] if m["name"] in ("back_beliefs", "psychoactive_medication")]
    plan["analysis"] = {**plan["analysis"], "sensitivity": [], "model": model, **analysis}
    return plan


def _exact(data, how):
    d = data.copy()
    for col in ("pain_18", "pain_52"):
        if how == "copy":
            d[col] = d["pain_0"]
        elif how == "affine":
            d[col] = 2.0 * d["pain_0"] + 3.0
        else:   # every other participant's follow-up copies the baseline; the rest keep theirs
            half = np.arange(len(d)) % 2 == 0
            d.loc[half, col] = d.loc[half, "pain_0"]
    return d


@pytest.mark.parametrize("model,se", [("linear", "classical"), ("linear", "HC3"), ("mixed", "classical")])
@pytest.mark.parametrize("how", ["copy", "affine"])
def test_follow_up_fitted_exactly_is_not_estimable(sim, model, se, how):
    with warnings.catch_warnings():
        warnings.simplefilter("error")      # no convergence warning: a reason, not a failure
        t = em.analyze(_exact(sim.data, how), _plan(sim, model, se=se)).table
    assert (t["tier"] == "not-estimable").all()
    assert t["p_value"].isna().all() and t["estimate"].isna().all()
    assert (t["note"] == EXACT_NOTE).all()


@pytest.mark.parametrize("model", ["linear", "mixed"])
def test_only_some_participants_fitted_exactly_is_analysed(sim, model):
    t = em.analyze(_exact(sim.data, "subset"), _plan(sim, model)).table
    assert (t["tier"] != "not-estimable").all()
    assert t["p_value"].between(0, 1).all() and (t["std_error"] > 0).all()


def test_bootstrap_and_imputation_paths_agree(sim):
    data = _exact(sim.data, "copy")
    data.loc[data.index[:6], "bbq"] = np.nan
    t = em.analyze(data, _plan(sim, "linear", bootstrap=20, imputations=3)).table
    assert (t["tier"] == "not-estimable").all()
    assert t["note"].str.contains("the outcome is fitted exactly by outcome baseline").all()
    assert t["boot_ci_low"].isna().all()


def test_engines_raise_and_batches_drop_exact_fits():
    rng = np.random.default_rng(3)
    n = 40
    treat = np.repeat([0.0, 1.0], n // 2)
    mod = rng.normal(10, 3, n)
    base = rng.normal(5, 2, n)
    X = np.column_stack([np.ones(n), treat, mod, base, treat * mod])
    names = ("(Intercept)", "treat", "mod", "baseline", "treat:mod")
    y = 2.0 * base + 3.0
    for se in ("classical", "HC3"):
        with pytest.raises(PerfectFitError) as err:
            fit_ols(X, y, names, se=se)
        assert err.value.terms == ["baseline"]
    noisy = y + rng.normal(size=n)
    fit_ols(X, noisy, names)          # an ordinary fit
    # a batch of responses: the exact one is dropped, the noisy one kept
    batch = fit_ols_batch(X, np.vstack([y, noisy]), with_se=True)
    assert batch.singular.tolist() == [True, False] and np.isnan(batch.coef[0]).all()
    counts = rng.multinomial(n, np.full(n, 1 / n), size=3).astype(float)
    boot = fit_ols_batch(X, y, counts)
    assert boot.singular.all()
    stacked = fit_ols_stacked(np.stack([X, X]), np.vstack([y, noisy]))
    assert stacked.singular.tolist() == [True, False]
    with pytest.raises(PerfectFitError):
        fit_ols_full_batch(np.stack([X, X]), np.vstack([noisy, y]))
    # mixed: two rows per participant, each a copy of the baseline
    groups = np.repeat(np.arange(n), 2)
    Xl = np.repeat(X, 2, axis=0)
    with pytest.raises(PerfectFitError) as err:
        fit_random_intercept(np.repeat(y, 2), Xl, groups, names)
    assert err.value.terms == ["baseline"]
    # the fixed effects plus a level per participant reproduce every observation
    level = rng.normal(size=n)
    with pytest.raises(PerfectFitError):
        fit_random_intercept(np.repeat(noisy + level, 2), Xl, groups, names)
    assert PERFECT_FIT_RSS <= 1e-10


@pytest.mark.parametrize("se", [0.0, float("nan"), float("inf")])
def test_a_contrast_without_a_usable_standard_error_tests_nothing(se):
    """Fitted risks of exactly 0 or 1 under separation give a risk difference with SE 0: its
    statistic and P are missing, never a division error or P = 0."""
    from effectmod.engines.base import Contrast
    for df in (math.inf, 30.0):
        c = Contrast(0.5, se, df)
        assert math.isnan(c.statistic) and math.isnan(c.p_value)
