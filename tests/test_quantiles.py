"""inference/quantiles.percentiles is np.percentile to the last bit (numpy's linear method),
found by counting instead of partitioning; and the per-model moderator summary holds the
numbers each interpretation step computed on its own."""
from types import SimpleNamespace

import numpy as np
import pytest

from effectmod.inference import quantiles
from effectmod.inference.moderator_summary import moderator_summary, moderator_values, summarise

Q = (10, 25, 50, 75, 90)


class _Design:
    rows: np.ndarray


def _arrays(rng):
    n = 25_000
    yield np.round(rng.normal(20, 6, n))                      # whole numbers: counted exactly
    yield np.round(rng.normal(0, 6, n)) + 0.1                 # whole numbers shifted: not lo + code exactly
    yield rng.normal(size=n)                                  # continuous: binned, partitioned in the bins
    yield rng.lognormal(0, 3, n)                              # skewed: most values in a few bins
    yield rng.integers(0, 3, n).astype(float)                 # three values
    yield np.r_[np.zeros(n - 3), 1e300, -1e300, 5.0]          # the range overflows
    yield 1e9 + rng.exponential(size=n) * 1e-7                # far from 0, tiny spread
    yield np.r_[np.full(n, 2.0), [1e-17]]                     # close to a whole number but not one


@pytest.mark.parametrize("q", [Q, (0, 100), (1, 33.3, 99.9), (50,)])
def test_percentiles_equal_numpys(q):
    rng = np.random.default_rng(11)
    for v in _arrays(rng):
        assert np.array_equal(quantiles.percentiles(v, q), np.percentile(v, q))
        assert np.array_equal(quantiles._counted(v, np.asarray(q), float(v.min()), float(v.max())), np.percentile(v, q))


def test_percentiles_of_shuffled_sizes():
    rng = np.random.default_rng(5)
    for n in (20_000, 20_001, 33_333, 65_537):
        v = rng.permutation(np.round(rng.normal(50, 20, n), 1))
        assert np.array_equal(quantiles.percentiles(v, Q), np.percentile(v, Q))


def test_small_and_constant_arrays_go_to_numpy():
    assert np.array_equal(quantiles.percentiles(np.array([3.0, 1.0, 2.0]), Q), np.percentile([3.0, 1.0, 2.0], Q))
    v = np.full(30_000, 7.5)
    assert np.array_equal(quantiles.percentiles(v, Q), np.percentile(v, Q))


def test_the_self_check_agrees_with_this_numpy():
    assert quantiles._numpy_agrees()


def test_summary_is_each_steps_own_numbers_and_kept_per_model():
    rng = np.random.default_rng(2)
    values = np.round(rng.normal(30, 8, 40_000))
    values[rng.random(40_000) < 0.1] = np.nan
    rows = np.flatnonzero(rng.random(40_000) < 0.8)
    trial = SimpleNamespace(moderators={"m": SimpleNamespace(values=values)})
    design = _Design()
    design.rows = rows
    fm = SimpleNamespace(design=design, spec=SimpleNamespace(moderator="m"))
    v = moderator_values(fm, trial)
    s = moderator_summary(fm, trial)
    assert s.size == v.size and s.lo == float(v.min()) and s.hi == float(v.max())
    assert s.sd == float(np.std(v, ddof=1))
    assert s.percentiles == tuple(np.percentile(v, Q).tolist())
    assert moderator_summary(fm, trial) is s
    assert summarise(np.array([])).size == 0

