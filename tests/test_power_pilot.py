"""The pilot source's least-squares fits use the engines' one rank rule and QR solve
(engines.linalg), with the same numbers as a plain least-squares solve."""
import numpy as np
import pandas as pd
import pytest

from effectmod.engines.errors import RankDeficient
from effectmod.power import pilot as pilot_module
from effectmod.power import pilot_source

SAME = 1e-10


def _pilot(n=90, seed=1):
    rng = np.random.default_rng(seed)
    treat = np.repeat([1, 0], n // 2)
    mod = rng.normal(50, 12, n)
    base = rng.normal(30, 8, n)
    y = 0.5 * treat + 0.1 * mod + 0.4 * base + 0.03 * treat * (mod - 50) + rng.normal(0, 2, n)
    frame = pd.DataFrame({"pid": range(n), "arm": np.where(treat == 1, "a", "b"), "y0": base, "y1": y, "m": mod,
                          "age": rng.normal(1e4, 1, n)})          # a badly scaled covariate
    plan = {"data": {"id": "pid", "treatment": "arm", "treated": "a", "control": "b"},
            "outcomes": [{"name": "y", "baseline": "y0", "followups": {"1": "y1"}}],
            "moderators": [{"name": "mod", "column": "m", "type": "continuous"}],
            "covariates": ["age"], "analysis": {"model": "linear"}}
    return frame, plan


def test_pilot_least_squares_agree_with_a_plain_solve(monkeypatch):
    frame, plan = _pilot()
    ours = pilot_source(frame, plan)
    monkeypatch.setattr(pilot_module, "least_squares", lambda X, y, names: np.linalg.lstsq(X, y, rcond=None)[0])
    plain = pilot_source(frame, plan)
    assert [m.moderator for m in ours.models] == [m.moderator for m in plain.models]
    for a, b in zip(ours.models, plain.models):
        scale = np.abs(b.coef).max()
        assert np.max(np.abs(a.coef - b.coef)) <= SAME * scale
        assert np.max(np.abs(a.resid - b.resid)) <= SAME * np.abs(b.resid).max()
        assert abs(a.sigma - b.sigma) <= SAME * b.sigma


def test_pilot_least_squares_apply_the_engines_rank_rule():
    rng = np.random.default_rng(0)
    X = np.column_stack([np.ones(30), rng.normal(size=30)])
    X = np.column_stack([X, 2 * X[:, 1] + 1e-12 * rng.normal(size=30)])   # collinear to 1e-12
    with pytest.raises(RankDeficient):
        pilot_module.least_squares(X, rng.normal(size=30), ["(Intercept)", "treat", "copy"])
