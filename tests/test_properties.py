"""Property-based tests of the input side: whatever plan or frame comes in, effectmod either
raises its own error type or produces an analysis in which every participant is accounted for."""
from __future__ import annotations

import copy
import math

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import effectmod as em
from effectmod.data.inputs import load_inputs
from effectmod.errors import EffectmodError
from effectmod.plan.load import load_plan, salvage_plan
from test_bad_inputs import BASE_PLAN, plan_dict

# modest example counts keep the file to a few seconds; deadline off because a loaded CI
# machine makes single examples slow without anything being wrong
PLAN_EXAMPLES = 150
FRAME_EXAMPLES = 25
SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.text(max_size=12),
                    st.floats(allow_nan=True, allow_infinity=True))
junk = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                     st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                    max_leaves=12)
KEYS = ["title", "data", "outcomes", "moderators", "covariates", "analysis", "id", "treatment", "treated", "control",
        "time", "sheet", "missing_codes", "name", "column", "type", "range", "baseline", "followups", "event",
        "reference", "label", "model", "se", "ci_level", "bootstrap", "seed", "derive", "from", "rule", "at"]


def _paths(obj, prefix=()):
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _paths(v, prefix + (i,))


@st.composite
def mutated_plans(draw):
    """The catalogue's valid plan with a few values replaced, keys dropped or unknown keys added."""
    plan = copy.deepcopy(BASE_PLAN)
    plan["analysis"] = {"model": "linear", "ci_level": 0.95, "seed": 3}
    for _ in range(draw(st.integers(1, 4))):
        paths = [p for p in _paths(plan) if p]
        path = draw(st.sampled_from(paths))
        parent = plan
        for part in path[:-1]:
            parent = parent[part]
        action = draw(st.sampled_from(["replace", "drop", "add"]))
        if action == "replace":
            parent[path[-1]] = draw(junk)
        elif action == "drop" and isinstance(parent, dict):
            parent.pop(path[-1], None)
        elif isinstance(parent, dict):
            parent[draw(st.sampled_from(KEYS) | st.text(max_size=6))] = draw(junk)
    return plan


def _only_effectmod_errors(fn, *args):
    try:
        return fn(*args)
    except EffectmodError:
        return None


@settings(max_examples=PLAN_EXAMPLES, **SETTINGS)
@given(st.one_of(mutated_plans(), st.dictionaries(st.sampled_from(KEYS), junk, max_size=6)))
def test_random_plans_raise_only_plan_errors(raw):
    plan = _only_effectmod_errors(load_plan, raw)
    assert plan is None or isinstance(plan, em.Plan)
    salvaged, dropped = salvage_plan(raw)   # never raises: it exists to go on
    assert salvaged is None or isinstance(salvaged, em.Plan)
    assert all(isinstance(col, str) for _, col in dropped)


FRAME = None


def base_frame() -> pd.DataFrame:
    global FRAME
    if FRAME is None:
        from test_bad_inputs import trial_frame
        FRAME = trial_frame(24)
    return FRAME.copy()


@settings(max_examples=60, **SETTINGS)
@given(mutated_plans())
def test_random_plans_with_data_raise_only_effectmod_errors(raw):
    loaded = _only_effectmod_errors(load_inputs, base_frame(), raw)
    if loaded is not None:
        plan, frame, trial = loaded
        assert isinstance(plan, em.Plan) and isinstance(frame, pd.DataFrame)
        assert 0 < trial.n <= len(frame)


benign = st.one_of(st.none(), st.just(""), st.just("NA"), st.integers(0, 10), st.just(float("nan")))
hostile = st.one_of(st.just("."), st.just(-99), st.integers(-3, 40), st.floats(-5, 50),
                    st.sampled_from(["seven", "7,5", "1,200", " 3 ", "yes", "no", "<b>"]))
# mostly values an analysis survives, so that the accounting is checked on many analyses
cells = st.one_of(benign, benign, benign, hostile)
arms = st.sampled_from(["active", "sham", "waitlist", None, "", "Active", 1])


@st.composite
def messy_frames(draw):
    """The catalogue's frame with random cells overwritten, arms shuffled and ids repeated or blank."""
    frame = base_frame().astype(object)
    n = len(frame)
    for _ in range(draw(st.integers(0, 12))):
        row = draw(st.integers(0, n - 1))
        col = draw(st.sampled_from(list(frame.columns)))
        frame.iat[row, frame.columns.get_loc(col)] = draw(arms if col == "arm" else cells)
    if draw(st.integers(0, 4)) == 0:
        frame = frame.drop(columns=draw(st.sampled_from(list(frame.columns))))
    return frame


PLANS = [plan_dict(), plan_dict(covariates=["age"], analysis={"se": "HC3"}),
         plan_dict(moderators=[{"name": "smoker", "column": "smoker", "type": "categorical"}], covariates=[])]


@settings(max_examples=FRAME_EXAMPLES, **SETTINGS)
@given(messy_frames(), st.sampled_from(range(len(PLANS))))
def test_every_participant_is_accounted_for(frame, k):
    try:
        res = em.analyze(frame, PLANS[k])
    except EffectmodError:
        return
    flow = res.trial.flow
    randomised = sum(flow.arms.values())
    assert randomised == res.trial.n
    for model in res.models:
        excluded = sum(e["participants"] for e in model["excluded"])
        assert model["n"] + excluded == randomised, model
    assert set(res.table["n"]) <= {m["n"] for m in res.models}
    # the flow accounts for the file: analysed arms + excluded (missing id, missing or other arm)
    assert randomised + sum(c for _, c in flow.excluded) >= flow.participants_in_file
    for t in res.table.itertuples():
        assert t.tier in {"evidence", "hypothesis-generating", "none", "not-estimable"}
        if t.tier == "not-estimable":
            assert t.note and math.isnan(t.estimate)


@pytest.mark.parametrize("k", range(len(PLANS)))
def test_the_unmodified_frame_is_analysed_and_accounted_for(k):
    """The property above returns early on an EffectmodError; on the catalogue's own frame there must
    be none, so that the accounting is checked at least there."""
    res = em.analyze(base_frame(), PLANS[k])
    assert len(res.table) > 0 and res.trial.n == len(base_frame())
    test_every_participant_is_accounted_for.hypothesis.inner_test(base_frame(), k)


@pytest.mark.slow
@settings(max_examples=400, **SETTINGS)
@given(messy_frames(), st.sampled_from(range(len(PLANS))))
def test_every_participant_is_accounted_for_many(frame, k):
    test_every_participant_is_accounted_for.hypothesis.inner_test(frame, k)
