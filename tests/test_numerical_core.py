"""One numerical core: every least-squares and Newton path (one fit, bootstrap replicates,
permutation refits, simulated trials, imputed datasets) solves with the same linear algebra,
takes the same rank decision, and agrees with the one-fit path to 1e-10, also on near-singular
designs. Fixed-seed data; no R needed."""
from __future__ import annotations

import numpy as np
import pytest

from effectmod.engines.logistic import fit_logistic, fit_logistic_stacked
from effectmod.engines.ols import (
    fit_ols,
    fit_ols_batch,
    fit_ols_full_batch,
    fit_ols_stacked,
)

AGREE = 1e-10
NAMES = ["(Intercept)", "treat", "mod", "baseline", "treat:mod"]


def rel(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300)))


def near_singular(rng, n=150, share=1e-4):
    """A trial design whose moderator is nearly the baseline: the part of the moderator not
    explained by the other columns is ``share`` of its spread (a condition number ~1e4)."""
    treat = rng.permutation(np.repeat([0.0, 1.0], n // 2))
    base = rng.normal(20, 5, n)
    e = rng.normal(size=n)
    e -= e.mean()
    e *= share * base.std() / e.std()
    mod = base + e
    X = np.column_stack([np.ones(n), treat, mod, base, treat * mod])
    y = X @ np.array([3.0, 1.0, 0.4, 0.5, 0.3]) + rng.normal(0, 2, n)
    return X, y


@pytest.fixture(scope="module")
def design():
    return near_singular(np.random.default_rng(11))


def test_bootstrap_replicates_equal_refits_on_repeated_rows_near_singular(design):
    X, y = design
    n = len(y)
    counts = np.random.default_rng(12).multinomial(n, np.full(n, 1 / n), size=20).astype(float)
    batch = fit_ols_batch(X, y, counts, with_se=True)
    assert not batch.singular.any()
    for b in range(20):
        rows = np.repeat(np.arange(n), counts[b].astype(int))
        one = fit_ols(X[rows], y[rows])
        assert rel(batch.coef[b], one.coef) < AGREE
        assert rel(batch.std_error[b][1:], np.sqrt(np.diag(one.vcov))[1:]) < AGREE


@pytest.mark.parametrize("se", ["classical", "HC3"])
def test_permutation_refits_equal_single_fits_near_singular(design, se):
    X, y = design
    rng = np.random.default_rng(13)
    Y = np.vstack([y, y[rng.permutation(len(y))], y[rng.permutation(len(y))]])
    batch = fit_ols_batch(X, Y, with_se=True, se=se)
    for k in range(3):
        one = fit_ols(X, Y[k], se=se)
        assert rel(batch.coef[k], one.coef) < AGREE
        assert rel(batch.std_error[k][1:], np.sqrt(np.diag(one.vcov))[1:]) < AGREE


def test_simulated_trials_equal_single_fits_near_singular():
    rng = np.random.default_rng(14)
    designs = [near_singular(rng, n=90) for _ in range(5)]
    X, y = np.stack([d[0] for d in designs]), np.stack([d[1] for d in designs])
    mask = rng.random(y.shape) > 0.1
    fit = fit_ols_stacked(X, np.where(mask, y, np.nan), mask)
    for b in range(5):
        one = fit_ols(X[b][mask[b]], y[b][mask[b]])
        assert rel(fit.coef[b], one.coef) < AGREE
        assert rel(fit.std_error[b][1:], np.sqrt(np.diag(one.vcov))[1:]) < AGREE


@pytest.mark.parametrize("se", ["classical", "HC3"])
def test_imputed_fits_equal_single_fits_near_singular(se):
    rng = np.random.default_rng(15)
    designs = [near_singular(rng) for _ in range(4)]
    X, y = np.stack([d[0] for d in designs]), np.stack([d[1] for d in designs])
    coef, vcov, _ = fit_ols_full_batch(X, y, se)
    for b in range(4):
        one = fit_ols(X[b], y[b], se=se)
        assert rel(coef[b], one.coef) < AGREE
        # the slopes' block: the intercept's variance is a difference of terms ~1e4 times larger
        # (means of 20 times near-collinear slopes), which no path computes to 1e-10
        assert rel(vcov[b][1:, 1:], one.vcov[1:, 1:]) < AGREE


def test_stacked_logistic_equals_single_fits_near_singular():
    """Replicates the stacked Newton fit reports converged agree with the one-fit path; the
    others (large coefficients on this near-collinear design look like separation to it) are
    the ones the bootstrap refits one by one with that path."""
    rng = np.random.default_rng(16)
    X, _ = near_singular(rng, n=400, share=1e-2)
    eta = -0.5 + 0.6 * X[:, 1] + 0.02 * (X[:, 3] - 20)
    y = (rng.random(len(eta)) < 1 / (1 + np.exp(-eta))).astype(float)
    counts = rng.multinomial(len(y), np.full(len(y), 1 / len(y)), size=6).astype(float)
    coef, se, conv = fit_logistic_stacked(X, y, counts)
    assert conv.sum() >= 3
    for b in np.flatnonzero(conv):
        rows = np.repeat(np.arange(len(y)), counts[b].astype(int))
        one = fit_logistic(X[rows], y[rows])
        assert one.converged
        assert rel(coef[b], one.coef) < AGREE
        # each inverts its information matrix (condition ~1e8 here) in its own coordinates
        assert rel(se[b], one.std_errors) < 1e-8


# ------------------------------------------------------------------ one rank rule

def at_share(share, rng, n=120, weights=None):
    """(X, y): a trial design plus a covariate that is the baseline but for a part orthogonal (in
    the weighted inner product) to every other column, of exactly ``share`` of its spread."""
    w = np.ones(n) if weights is None else weights
    treat = rng.permutation(np.repeat([0.0, 1.0], n // 2))
    base = rng.normal(20, 5, n)
    mod = rng.normal(0, 1, n)
    X = np.column_stack([np.ones(n), treat, mod, base, treat * mod])
    e = rng.normal(size=n)
    sw = np.sqrt(w)
    q, _ = np.linalg.qr(X * sw[:, None])
    e = e * sw
    e -= q @ (q.T @ e)                      # weighted-orthogonal to every column, the intercept too
    bc = (base - np.average(base, weights=w)) * sw
    e *= share * np.linalg.norm(bc) / np.sqrt(1 - share ** 2) / np.linalg.norm(e)
    cov = base + np.divide(e, sw, out=np.zeros(n), where=sw > 0)
    X = np.column_stack([X, cov])
    y = X[:, :5] @ np.array([1.0, 0.5, 0.2, 0.3, 0.4]) + rng.normal(size=n)
    return X, y


NAMES6 = [*NAMES, "cov[copy]"]


@pytest.mark.parametrize("factor,collinear", [(0.5, True), (2.0, False)])
def test_every_path_takes_the_same_rank_decision_at_the_tolerance(factor, collinear):
    from effectmod.engines.errors import NotConverged, PerfectFit, RankDeficient
    from effectmod.engines.linalg import RANK_TOL
    from effectmod.engines.mixed import fit_random_intercept
    from effectmod.power import stacked_t

    rng = np.random.default_rng(21)
    X, y = at_share(factor * RANK_TOL, rng)
    n = len(y)
    decisions = {}

    def raises(f, named=True):
        try:
            f()
        except RankDeficient as exc:
            assert exc.columns == ["cov[copy]"] or not named
            return True
        # past the rank rule: REML on a design this close to singular, or a logistic fit that
        # then cannot converge on it
        except (PerfectFit, NotConverged):
            return False
        return False

    decisions["fit_ols"] = raises(lambda: fit_ols(X, y, NAMES6))
    decisions["fit_ols HC3, many rows"] = raises(lambda: fit_ols(np.tile(X, (2, 1)), np.tile(y, 2), NAMES6, se="HC3"))
    decisions["bootstrap (weights)"] = bool(fit_ols_batch(X, y, np.ones((2, n))).singular.all())
    decisions["permutation (responses)"] = bool(fit_ols_batch(X, np.vstack([y, y[::-1]])).singular.all())
    decisions["simulated trials"] = bool(fit_ols_stacked(X[None], y[None]).singular[0])
    decisions["power t"] = bool(np.isnan(stacked_t(X[None, :, 1:], y[None], np.ones((1, n), bool), [(list(range(5)), 4)])[0][0][0]))
    decisions["imputed"] = raises(lambda: fit_ols_full_batch(np.stack([X, X]), np.stack([y, y])), named=False)
    yb = (y > np.median(y)).astype(float)
    decisions["logistic"] = raises(lambda: fit_logistic(X, yb, names=NAMES6))
    decisions["firth"] = raises(lambda: fit_logistic(X, yb, "firth", names=NAMES6))
    decisions["mixed"] = raises(lambda: fit_random_intercept(np.r_[y, y + rng.normal(size=n)], np.vstack([X, X]),
                                                             np.r_[np.arange(n), np.arange(n)], names=NAMES6))
    assert decisions == {k: collinear for k in decisions}
    if collinear:       # a stacked logistic fit is never reported converged on a collinear design
        assert not fit_logistic_stacked(X, yb, np.ones((2, n)))[2].any()


@pytest.mark.parametrize("factor,collinear", [(0.5, True), (2.0, False)])
def test_weighted_replicate_and_its_repeated_rows_take_the_same_rank_decision(factor, collinear):
    from effectmod.engines.errors import RankDeficient
    from effectmod.engines.linalg import RANK_TOL

    rng = np.random.default_rng(22)
    n = 120
    counts = rng.multinomial(n, np.full(n, 1 / n)).astype(float)
    X, y = at_share(factor * RANK_TOL, rng, n, weights=counts)
    assert bool(fit_ols_batch(X, y, counts[None]).singular[0]) == collinear
    rows = np.repeat(np.arange(n), counts.astype(int))
    if collinear:
        with pytest.raises(RankDeficient):
            fit_ols(X[rows], y[rows], NAMES6)
    else:
        fit_ols(X[rows], y[rows], NAMES6)


def test_a_replicate_where_the_moderator_is_constant_is_collinear_in_both_paths():
    from effectmod.engines.errors import RankDeficient

    rng = np.random.default_rng(23)
    n = 60
    treat = np.tile([0.0, 1.0], n // 2)
    mod = rng.integers(0, 2, n).astype(float)
    X = np.column_stack([np.ones(n), treat, mod, rng.normal(size=n), treat * mod])
    y = rng.normal(size=n)
    counts = np.where(mod == 1, 2.0, 0.0)[None]          # only participants with mod = 1 drawn
    assert fit_ols_batch(X, y, counts).singular[0]
    rows = np.repeat(np.arange(n), counts[0].astype(int))
    with pytest.raises(RankDeficient) as err:
        fit_ols(X[rows], y[rows], NAMES)
    assert "mod" in err.value.columns


def test_engine_errors_are_typed_and_old_names_still_work():
    from effectmod.engines import errors
    from effectmod.engines.base import PerfectFitError
    from effectmod.engines.ols import RankDeficientError

    assert RankDeficientError is errors.RankDeficient and PerfectFitError is errors.PerfectFit
    for cls in (errors.RankDeficient, errors.PerfectFit, errors.NotConverged, errors.Separated):
        assert issubclass(cls, errors.EngineError)
    assert issubclass(errors.RankDeficient, ValueError)       # callers that caught ValueError
    assert errors.NotConverged("50 iterations").reason == "50 iterations"


# ------------------------------------------------------------------ typed errors at the callers

def _mixed_model(rng, n=40):
    """A small mixed-model FittedModel stand-in: two rows per participant."""
    from effectmod.models.design import Design
    from effectmod.models.fit import FittedModel
    from effectmod.models.spec import ModelSpec

    treat = np.tile([0.0, 1.0], n // 2)
    mod = rng.normal(size=n)
    X1 = np.column_stack([np.ones(n), treat, mod, treat * mod])
    X = np.vstack([X1, X1])
    rows = np.r_[np.arange(n), np.arange(n)]
    order = np.argsort(rows, kind="stable")
    design = Design(X[order], rng.normal(size=2 * n), ("(Intercept)", "treat", "mod", "treat:mod"), rows[order],
                    ("mod",), ("",), groups=rows[order], times=np.array(["1"] * (2 * n)), timepoints=("1",))
    return FittedModel(ModelSpec("mixed", "y", "m", None), design, None)


@pytest.mark.parametrize("error,dropped", [("rank", True), ("not converged", True), ("bug", False)])
def test_bootstrap_drops_a_replicate_only_on_typed_engine_errors(monkeypatch, error, dropped):
    import effectmod.models.fit as fit_module
    from effectmod.engines.errors import NotConverged, RankDeficient
    from effectmod.inference import bootstrap

    model = _mixed_model(np.random.default_rng(31))
    plan = object()
    raised = {"rank": RankDeficient(["treat"]), "not converged": NotConverged("REML"), "bug": KeyError("typo")}[error]
    calls = []

    def engine(spec, design, plan):
        calls.append(1)
        if len(calls) == 2:
            raise raised
        return type("F", (), {"contrast": lambda self, L: type("C", (), {"estimate": 1.0})()})(), {}, ""

    monkeypatch.setattr(fit_module, "run_engine", engine)
    counts = np.ones((3, 40), dtype=int)
    if not dropped:
        with pytest.raises(KeyError):
            bootstrap._refit_loop(model, counts, plan)
        return
    draws = bootstrap._refit_loop(model, counts, plan)
    assert np.isnan(draws[("1", "")]).tolist() == [False, True, False]


def test_a_collinear_logistic_design_is_named_not_a_generic_value_error():
    from effectmod.engines.errors import RankDeficient

    rng = np.random.default_rng(32)
    n = 80
    X = np.column_stack([np.ones(n), np.tile([0.0, 1.0], n // 2), rng.normal(size=n)])
    X = np.column_stack([X, 3 * X[:, 2] - 1])
    y = (rng.random(n) < 0.4).astype(float)
    with pytest.raises(RankDeficient) as err:
        fit_logistic(X, y, names=["(Intercept)", "treat", "mod", "cov[x]"])
    assert err.value.columns == ["cov[x]"]
    with pytest.raises(ValueError, match="0/1") as bad:     # a malformed input is not "collinear"
        fit_logistic(X, y * 2, names=["(Intercept)", "treat", "mod", "cov[x]"])
    assert not isinstance(bad.value, RankDeficient)
