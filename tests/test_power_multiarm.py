"""Power from a multi-arm pilot simulates every arm jointly (power.multiarm): n is split equally
between the control and each treated arm, and each comparison is tested in the one model with
every arm. Checked against the closed-form power of the average-effect t test."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from scipy import stats

from effectmod.power import PowerGrid, Size, pilot_source, simulate_power
from effectmod.power.trials import _allocate_arms

HERE = Path(__file__).parent / "reference" / "multiarm"


def _source(errors="residuals"):
    return pilot_source(str(HERE / "anorexia.csv"), str(HERE / "plan_anorexia.yaml"), errors=errors)


def test_one_model_per_comparison_shares_every_arm():
    source = _source()
    cbt, ft = [m for m in source.models if m.moderator == "prewt"]
    assert (cbt.outcome, ft.outcome) == ("weight [CBT vs Cont]", "weight [FT vs Cont]")
    assert cbt.arm_cols == ft.arm_cols and len(cbt.arm_cols) == 2 and np.array_equal(cbt.rows, ft.rows)
    assert cbt.treat_col != ft.treat_col and cbt.inter_cols != ft.inter_cols
    assert cbt.arm_inter_cols == (cbt.inter_cols, ft.inter_cols)


def test_allocation_is_equal_across_the_three_arms():
    m = next(m for m in _source().models if m.moderator == "prewt")
    X = m.rows[np.random.default_rng(0).integers(0, m.rows.shape[0], size=(5, 31))]
    _allocate_arms(X, m, 31, 5, np.random.default_rng(1))
    a, b = X[..., m.arm_cols[0]], X[..., m.arm_cols[1]]
    assert np.all(a * b == 0)
    assert np.all(a.sum(axis=1) == 10) and np.all(b.sum(axis=1) == 10)          # 11 controls, 10 + 10 treated
    mod = m.mod_cols[0]
    assert np.allclose(X[..., m.arm_inter_cols[1][0]], b * X[..., mod])


def test_average_effect_power_matches_the_three_arm_t_test():
    """Normal errors: the CBT vs control test in a 3-arm trial of n = 45 (15 per arm) has the power
    of a t test with n - 3 df and noncentrality b / (sigma sqrt(2/15)); simulating the pair
    (22-23 per arm) would give a clearly higher power."""
    source = _source("normal")
    n, reps = 45, 2000
    table = simulate_power(source, PowerGrid(ns=(n,), sizes=(Size(),), replicates=reps, seed=11), workers=1)
    for cmp in ("CBT", "FT"):
        ate = next(m for m in source.models if m.moderator == "" and m.outcome.startswith(f"weight [{cmp} "))
        b, sigma = float(ate.coef[ate.treat_col]), ate.sigma
        df = n - ate.rows.shape[1]
        ncp = b / (sigma * math.sqrt(2 / 15))
        crit = stats.t.ppf(0.975, df)
        want = stats.nct.sf(crit, df, ncp) + stats.nct.cdf(-crit, df, ncp)
        got = float(table.loc[table["outcome"] == f"weight [{cmp} vs Cont]", "ate_power"].iloc[0])
        assert abs(got - want) < 4 * math.sqrt(want * (1 - want) / reps) + 1e-3, (cmp, got, want)


def test_multi_arm_pilot_with_a_count_outcome_is_refused_with_a_plan_message():
    # the joint multi-arm simulation draws continuous and binary outcomes only: a count outcome
    # must not be simulated as if it were continuous
    import pytest

    from effectmod.errors import PlanError
    counts = Path(__file__).parent / "reference" / "arms3_counts"
    with pytest.raises(PlanError) as exc:
        pilot_source(str(counts / "data.csv"), str(counts / "plan.yaml"))
    assert "multi-arm pilot simulates continuous and binary outcomes only" in str(exc.value)
