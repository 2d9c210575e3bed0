"""Linear bootstrap from shared Gram blocks (engines.shared_gram): every draw equals a single
fit on the same resample's rows, including categorical moderators, moderators with missing
values (other rows), replicates where a rare moderator level vanishes (the QR path's NaN) and
models of several outcomes sharing their participants."""
import numpy as np
import pandas as pd
import pytest

from effectmod.data.prepare import prepare_trial
from effectmod.engines.errors import EngineError
from effectmod.engines.ols import fit_ols, fit_ols_batch
from effectmod.engines.shared_gram import fit_shared_rows
from effectmod.inference.bootstrap import bootstrap_frame
from effectmod.inference.bootstrap_linear import linear_draws
from effectmod.inference.resample import counts_to_indices, stratified_bootstrap_counts
from effectmod.models.fit import fit_model
from effectmod.models.spec import model_specs
from effectmod.plan.schema import Plan

AGREEMENT = 1e-10


def _trial(n=120, seed=3):
    rng = np.random.default_rng(seed)
    arm = np.where(np.arange(n) % 2 == 0, "a", "b")
    treat = (arm == "a").astype(float)
    frame = pd.DataFrame({"pid": np.arange(n), "arm": arm,
                          "age": np.round(rng.normal(1990, 8, n)),          # large centre, small spread
                          "site": rng.choice(["x", "y", "z"], n),
                          "rare": (np.arange(n) % 60 < 2).astype(float),     # 2 per arm
                          "score": rng.normal(10, 3, n)})
    frame.loc[rng.random(n) < 0.1, "score"] = np.nan                         # other complete cases
    for o in ("p", "q"):
        base = rng.normal(5, 2, n)
        y = 0.4 * base - treat + 0.1 * treat * frame["score"].fillna(0) + rng.normal(0, 1, n)
        y[rng.random(n) < 0.1] = np.nan
        frame[f"{o}0"], frame[f"{o}1"] = base, y
    plan = {"data": {"id": "pid", "treatment": "arm", "treated": "a", "control": "b"},
            "outcomes": [{"name": o, "type": "continuous", "baseline": f"{o}0", "followups": {"1": f"{o}1"}}
                         for o in ("p", "q")],
            "moderators": [{"name": "age", "column": "age", "type": "continuous"},
                           {"name": "site", "column": "site", "type": "categorical"},
                           {"name": "rare", "column": "rare", "type": "binary"},
                           {"name": "score", "column": "score", "type": "continuous"},
                           {"name": "p0", "column": "p0", "type": "continuous"}],
            "analysis": {"model": "linear", "sensitivity": []}}
    plan_obj = Plan.model_validate(plan)
    trial = prepare_trial(frame, plan_obj)
    fitted = [fit_model(s, trial, plan_obj) for s in model_specs(plan_obj, trial)]
    return plan_obj, trial, fitted


@pytest.fixture(scope="module")
def small():
    return _trial()


def test_shared_draws_equal_single_fits_on_the_same_resamples(small):
    plan, trial, fitted = small
    counts = stratified_bootstrap_counts(trial.treat, 40, np.random.default_rng(2))
    draws = linear_draws(fitted, counts)
    assert set(draws) == {i for i, m in enumerate(fitted) if m.fit is not None}
    assert len({m.design.rows.tobytes() for m in fitted}) >= 3      # several groups of rows
    nan_seen = 0
    for i, model in enumerate(fitted):
        if model.fit is None:
            continue
        d = model.design
        position = np.full(trial.n, -1)
        position[d.rows] = np.arange(d.rows.size)
        for b in range(counts.shape[0]):
            picks = position[counts_to_indices(counts[b])]
            picks = picks[picks >= 0]
            try:
                coef = fit_ols(d.X[picks], d.y[picks], d.names).coef
            except EngineError:
                coef = np.full(len(d.names), np.nan)
            for j, (term, name) in enumerate(zip(d.terms, d.mod_names)):
                want = coef[d.index(f"treat:{name}")]
                got = draws[i][(model.spec.timepoint, term)][b]
                if np.isnan(want):
                    nan_seen += 1
                    assert np.isnan(got)
                else:
                    assert abs(got - want) <= AGREEMENT * max(1.0, abs(want)), (model.spec, term, b)
    assert nan_seen > 0          # the rare moderator vanished from some resamples


def test_shared_engine_equals_batched_engine_and_flags_what_it_cannot_certify():
    rng = np.random.default_rng(8)
    n = 60
    treat = np.repeat([0.0, 1.0], n // 2)
    base = rng.normal(size=n)
    y = rng.normal(size=n)
    designs = []
    for k in range(4):
        mod = rng.normal(size=n) if k else (np.arange(n) % 30 == 0).astype(float)
        X = np.column_stack([np.ones(n), treat, mod, base, treat * mod])
        designs.append((X, y if k % 2 else y + base, [4]))
    W = rng.poisson(1.0, size=(50, n)).astype(float)
    W[0] = 1.0
    fits = fit_shared_rows(designs, W)
    for (X, yy, asked), fit in zip(designs, fits):
        want = fit_ols_batch(X, yy, W).coef[:, asked]
        ok = ~fit.fallback
        np.testing.assert_allclose(fit.coef[ok], want[ok], rtol=AGREEMENT, atol=AGREEMENT)
        assert np.isnan(fit.coef[fit.fallback]).all()
    assert fits[0].fallback.any() and not fits[1].fallback.any()


def test_bootstrap_frame_unchanged_by_the_shared_path(small):
    plan, trial, fitted = small
    counts = stratified_bootstrap_counts(trial.treat, 30, np.random.default_rng(4))
    frame = bootstrap_frame(fitted, plan, counts)
    from effectmod.inference.bootstrap import bootstrap_draws
    for model in fitted:
        if model.fit is None:
            continue
        for (tp, term), v in bootstrap_draws(model, counts, plan).items():
            row = frame[(frame["moderator"] == model.spec.moderator) & (frame["outcome"] == model.spec.outcome)
                        & (frame["term"] == term)]
            assert int(row["boot_replicates"].iloc[0]) == int(np.isfinite(v).sum())


def test_no_and_one_replicate_run(small):
    plan, trial, fitted = small
    for replicates in (0, 1):
        counts = stratified_bootstrap_counts(trial.treat, replicates, np.random.default_rng(1))
        frame = bootstrap_frame(fitted, plan, counts)
        assert (frame["boot_replicates"] <= replicates).all() and frame["boot_ci_low"].isna().all()
