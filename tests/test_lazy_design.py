"""Designs that gather X on demand (very many rows) give the stacked path's numbers: checked on
small data forced through the lazy path."""
import numpy as np
import pandas as pd
import pytest

import effectmod as em
from effectmod.data.inputs import load_inputs
from effectmod.models import design_lazy
from effectmod.models.design import single_design
from effectmod.models.design_lazy import LazyDesign, lazy_single_design, materialised
from effectmod.models.design_lazy import single_design as gathered_or_stacked

AGREEMENT = 1e-10


def _data(n=240, seed=3, arms=("control", "active")):
    rng = np.random.default_rng(seed)
    arm = rng.choice(arms, n)
    treat = (arm != "control").astype(float)
    base = np.round(rng.normal(5, 2, n), 1)
    frame = pd.DataFrame({
        "pid": np.arange(n), "arm": arm, "base": base,
        "zbase": (base - base.mean()) / base.std(),                  # an affine copy of the baseline
        "age": np.round(rng.normal(1990, 8, n)),                       # raw units far from 0
        "smoker": rng.integers(0, 2, n).astype(float),
        "site": rng.choice(["a", "b", "c"], n), "bmi": rng.normal(27, 4, n),
    })
    frame["y"] = 0.5 * base - treat + 0.05 * treat * (frame["age"] - 1990) + rng.normal(0, 1 + treat, n)
    for col, share in (("y", 0.1), ("age", 0.05), ("bmi", 0.05)):
        frame.loc[rng.random(n) < share, col] = np.nan
    return frame


def _plan(treated="active", control="control"):
    return {"data": {"id": "pid", "treatment": "arm", "treated": treated, "control": control},
            "outcomes": [{"name": "score", "type": "continuous", "baseline": "base", "followups": {"12": "y"}}],
            "moderators": [{"name": "age", "column": "age", "type": "continuous"},
                           {"name": "smoker", "column": "smoker", "type": "binary"},
                           {"name": "site", "column": "site", "type": "categorical", "reference": "a"},
                           {"name": "base", "column": "base", "type": "continuous"},
                           {"name": "zbase", "column": "zbase", "type": "continuous"}],
            "covariates": ["bmi"], "analysis": {"model": "linear", "bootstrap": 200, "sensitivity": []}}


CASES = [(_data(), _plan()),
         (_data(arms=("control", "active", "other")), _plan(["active", "other"], "control"))]


@pytest.mark.parametrize("frame,plan", CASES, ids=["two_arms", "multi_arm"])
def test_lazy_design_gathers_the_stacked_design(frame, plan):
    plan_obj, _, trial = load_inputs(frame, plan)
    for moderator in [*trial.moderators, None]:
        want = single_design(trial, "score", moderator, "12", True)
        got = lazy_single_design(trial, "score", moderator, "12", True, min_rows=0)
        assert isinstance(got, LazyDesign) and not isinstance(want, LazyDesign)
        np.testing.assert_array_equal(got.X, want.X)          # the same doubles, the same layout
        assert got.X.flags.c_contiguous
        np.testing.assert_array_equal(got.y, want.y)
        np.testing.assert_array_equal(got.rows, want.rows)
        for field in ("names", "mod_names", "terms", "excluded", "timepoints", "mod_centre", "arms", "control"):
            assert getattr(got, field) == getattr(want, field), field
        with materialised(got):
            assert got.X is got.X                                # one gathered array inside the block
        assert got.X is not got.X                                # gathered afresh (not kept) outside it


def test_too_few_rows_keep_the_stacked_path():
    plan_obj, _, trial = load_inputs(_data(), _plan())
    assert lazy_single_design(trial, "score", "age", "12", True) is None
    assert not isinstance(gathered_or_stacked(trial, "score", "age", "12", True), LazyDesign)


@pytest.mark.parametrize("frame,plan", CASES, ids=["two_arms", "multi_arm"])
def test_analysis_through_lazy_designs_equals_the_stacked_path(frame, plan, monkeypatch):
    want = em.analyze(frame, plan).table
    monkeypatch.setattr(design_lazy, "LAZY_MIN_ROWS", 0)
    got = em.analyze(frame, plan).table
    assert list(got.columns) == list(want.columns) and len(got) == len(want)
    for col in want.columns:
        if pd.api.types.is_float_dtype(want[col]):
            np.testing.assert_allclose(got[col], want[col], rtol=AGREEMENT, atol=AGREEMENT, equal_nan=True, err_msg=col)
        else:
            assert got[col].tolist() == want[col].tolist(), col


def test_lazy_design_copies_and_pickles():
    import dataclasses
    import pickle
    plan_obj, _, trial = load_inputs(_data(), _plan())
    lazy = lazy_single_design(trial, "score", "site", "12", True, min_rows=0)
    copy = dataclasses.replace(lazy, clusters=np.zeros(len(lazy.rows), dtype=int))   # attach_clusters does this
    np.testing.assert_array_equal(copy.X, lazy.X)
    assert copy.clusters is not None and copy.X is copy.X                         # a plain X of its own
    back = pickle.loads(pickle.dumps(lazy))
    np.testing.assert_array_equal(back.X, lazy.X)
    assert back.names == lazy.names


def test_shared_rows_are_released_with_the_trial():
    import gc
    plan_obj, _, trial = load_inputs(_data(), _plan())
    a = lazy_single_design(trial, "score", "smoker", "12", True, min_rows=0)
    b = lazy_single_design(trial, "score", "smoker", "12", False, min_rows=0)
    assert a.rows is b.rows and a.y is b.y                   # the same participants: one copy
    y = trial.outcomes["score"].followups["12"]
    assert id(y) in design_lazy._KEPT
    key = id(y)
    del trial, plan_obj, a, b, y
    gc.collect()
    assert key not in design_lazy._KEPT
