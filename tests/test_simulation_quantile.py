"""The lookup-table quantile transform equals the direct ndtr + searchsorted form."""
import numpy as np
import pytest
from scipy import special

from effectmod.simulation import SCENARIOS
from effectmod.simulation.generate import margin
from effectmod.simulation.quantile import table, to_margin

MEASURES = [SCENARIOS["resolve"].age, *SCENARIOS["resolve"].measures]


@pytest.mark.parametrize("measure", MEASURES, ids=lambda m: m.column)
def test_lookup_matches_direct_transform(measure):
    support, probs = margin(measure)
    rng = np.random.default_rng(11)
    z = np.r_[rng.standard_normal(200_000) * 1.5, -50.0, 50.0, -8.3, 8.3, 0.0, np.inf, -np.inf]
    direct = support[np.searchsorted(np.cumsum(probs)[:-1], special.ndtr(z), side="right")]
    got = to_margin(z, table(support, probs))
    np.testing.assert_array_equal(got, direct)
    assert set(np.unique(got)) <= set(support)


def test_lookup_handles_two_level_and_wide_margins():
    for support, probs in [(np.array([0.0, 1.0]), np.array([0.3, 0.7])),
                           (np.arange(5.0), np.array([1e-12, 0.25, 0.5, 0.25 - 2e-12, 1e-12]))]:
        z = np.random.default_rng(3).standard_normal(50_000) * 3
        direct = support[np.searchsorted(np.cumsum(probs)[:-1], special.ndtr(z), side="right")]
        np.testing.assert_array_equal(to_margin(z, table(support, probs)), direct)
