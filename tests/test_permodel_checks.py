"""The per-model checks made cheap for a million participants give the answers of the full
checks: moderator_is_baseline / moderator_affine_in_baseline against the full-column versions
(written out here as they were), estimability_problem with and without its first-rows answer,
a gathered X written by blocks of rows, and the column facts against numpy."""
import dataclasses
from types import SimpleNamespace

import numpy as np
import pytest

from effectmod.data.column_facts import column_facts, same_missing
from effectmod.data.inputs import load_inputs
from effectmod.data.trial import TrialData
from effectmod.models import design_lazy, estimable_head, fit
from effectmod.models.design import AFFINE_TOL, moderator_affine_in_baseline, moderator_centre, single_design
from effectmod.models.design_lazy import lazy_single_design
from test_lazy_design import CASES


def _affine_full(baseline, values, kind):
    if kind == "categorical" or not np.array_equal(np.isnan(baseline), np.isnan(values)):
        return False
    seen = ~np.isnan(baseline)
    a, b = baseline[seen], values[seen]
    if a.size < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return False
    za, zb = (a - a.mean()) / a.std(), (b - b.mean()) / b.std()
    return bool(np.max(np.abs(za - zb)) <= AFFINE_TOL) or bool(np.max(np.abs(za + zb)) <= AFFINE_TOL)


def _is_baseline_full(a, b, binary):
    if not np.array_equal(np.isnan(a), np.isnan(b)):
        return False
    seen = ~np.isnan(a)
    return np.array_equal(a[seen], b[seen]) or (binary and np.array_equal(a[seen], 1.0 - b[seen]))


def _pairs(n=150_000, seed=4):
    rng = np.random.default_rng(seed)
    base = np.round(rng.normal(5, 2, n), 1)
    holes = base.copy()
    holes[rng.random(n) < 0.1] = np.nan
    late = base.copy()
    late[-10] += 1.0                                          # differs only after the first rows
    late_z = (base - base.mean()) / base.std()
    late_z[-3] += 1e-3
    event = (rng.random(n) < 0.3).astype(float)
    yield base, (base - base.mean()) / base.std(), "continuous"
    yield base, 100.0 - 10.0 * base, "continuous"
    yield base, base.copy(), "continuous"
    yield base, late, "continuous"
    yield base, late_z, "continuous"
    yield base, rng.normal(size=n), "continuous"
    yield holes, 3.0 * holes + 1.0, "continuous"
    yield holes, 3.0 * base + 1.0, "continuous"              # missing for other participants
    yield holes, holes.copy(), "continuous"
    yield event, 1.0 - event, "binary"
    yield event, event.copy(), "binary"
    yield event, (rng.random(n) < 0.3).astype(float), "binary"
    yield np.full(n, 2.0), base, "continuous"


def test_affine_and_is_baseline_answer_as_the_full_column_checks():
    for a, b, kind in _pairs():
        assert moderator_affine_in_baseline(a, b, kind) == _affine_full(a, b, kind)
        o = SimpleNamespace(baseline=a, baseline_source="base")
        m = SimpleNamespace(values=b, type=kind, source="mod")
        trial = SimpleNamespace(outcomes={"o": o}, moderators={"m": m})
        assert TrialData.moderator_is_baseline(trial, "o", "m") == _is_baseline_full(a, b, kind == "binary")


def test_column_facts_are_numpys_and_kept_per_array():
    rng = np.random.default_rng(1)
    col = rng.normal(size=10_000)
    col[rng.random(10_000) < 0.2] = np.nan
    seen = col[~np.isnan(col)]
    f = column_facts(col)
    assert (f.missing, f.size) == (int(np.isnan(col).sum()), seen.size)
    assert (f.lo, f.hi, f.mean, f.std) == (seen.min(), seen.max(), seen.mean(), seen.std())
    assert column_facts(col) is f
    assert moderator_centre(col) == float(0.5 * (seen.min() + seen.max()))
    assert moderator_centre(np.full(3, np.nan)) == 0.0 and column_facts(np.full(3, np.nan)).constant
    other = col.copy()
    assert same_missing(col, other) and not same_missing(col, np.nan_to_num(col))
    moved = col.copy()
    moved[np.flatnonzero(np.isnan(col))[0]] = 0.0
    moved[np.flatnonzero(~np.isnan(col))[0]] = np.nan         # the same count, other participants
    assert not same_missing(col, moved)


@pytest.mark.parametrize("frame,plan", CASES, ids=["two_arms", "multi_arm"])
def test_x_written_by_blocks_is_the_stacked_x(frame, plan, monkeypatch):
    monkeypatch.setattr(design_lazy, "BLOCK_ROWS", 7)
    _, _, trial = load_inputs(frame, plan)
    for moderator in [*trial.moderators, None]:
        want = single_design(trial, "score", moderator, "12", True)
        got = lazy_single_design(trial, "score", moderator, "12", True, min_rows=0)
        np.testing.assert_array_equal(got.X, want.X)
        assert got.n == want.n == len(np.unique(want.rows))
        idx = np.sort(np.random.default_rng(0).integers(0, len(got.rows), len(got.rows)))   # a bootstrap copy
        copy = dataclasses.replace(got, X=got.X[idx], y=got.y[idx], rows=got.rows[idx])
        assert copy.n == len(np.unique(got.rows[idx])) < got.n


def _spec(moderator):
    return SimpleNamespace(moderator=moderator, outcome="score", timepoint="12")


def _variants(design, m):
    """The design, and copies with a check made to fire in the last rows only / everywhere."""
    yield design
    X, y = design.X.copy(), design.y.copy()
    yield dataclasses.replace(design, y=np.full_like(y, 3.0))                   # constant outcome
    y2 = np.full_like(y, 3.0)
    y2[-1] = 4.0
    yield dataclasses.replace(design, y=y2)                                     # varies in the last row only
    j = design.index(design.mod_names[0])
    if m.type == "continuous":
        X2 = X.copy()
        X2[:, j] = 1.5
        yield dataclasses.replace(design, X=X2)
        X3 = X2.copy()
        X3[-1, j] = 2.5
        yield dataclasses.replace(design, X=X3)
    t = design.index("treat") if "treat" in design.names else None
    if t is not None and m.type != "categorical":
        X4 = X.copy()
        X4[:, t] = np.where(X4[:, j] == 1, 1.0, X4[:, t])                     # level 1 in one arm only
        yield dataclasses.replace(design, X=X4)


def test_estimability_from_the_first_rows_is_the_full_check(monkeypatch):
    frame, plan = CASES[0]
    _, _, trial = load_inputs(frame, plan)
    full_answers = []
    for moderator, m in trial.moderators.items():
        design = single_design(trial, "score", moderator, "12", True)
        for variant in _variants(design, m):
            with monkeypatch.context() as mp:
                mp.setattr(estimable_head, "head_proves_estimable", lambda d, m, head=0: False)
                full = fit.estimability_problem(_spec(moderator), variant, trial)
            full_answers.append(full)
            for head in (5, 20, 60):
                if estimable_head.head_proves_estimable(variant, m, head=head):
                    assert full is None
            with monkeypatch.context() as mp:
                mp.setattr(estimable_head, "HEAD", 20)
                mp.setattr(estimable_head.head_proves_estimable, "__defaults__", (20,))
                assert fit.estimability_problem(_spec(moderator), variant, trial) == full
    assert None in full_answers and any(a is not None for a in full_answers)


def test_average_effects_through_a_gathered_design_equal_the_stacked_ones(monkeypatch):
    import pandas as pd

    import effectmod as em
    frame, plan = CASES[0]
    want = em.analyze(frame, plan).sections["average_effects"]
    monkeypatch.setattr(design_lazy, "LAZY_MIN_ROWS", 0)
    got = em.analyze(frame, plan).sections["average_effects"]
    pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-10, atol=1e-12)
