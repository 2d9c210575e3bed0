"""The absolute (rate-difference) scale of count models: marginal standardisation checked by
hand, the delta-method SEs against numerical gradients, and the derivative for a continuous
moderator against a finite difference."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from effectmod.engines.negbin import fit_negbin
from effectmod.inference.count_effects import rate_difference, rate_interaction

REF = Path(__file__).parent / "reference" / "epil_count"


def _fit(mod: str):
    d = pd.read_csv(REF / "data.csv")
    t = (d["trt"] == "progabide").to_numpy(float)
    if mod == "age_group":
        m = np.column_stack([(d["age_group"] == "<25"), (d["age_group"] == ">=32")]).astype(float)
    else:
        m = d[[mod]].to_numpy(float)
    X = np.column_stack([np.ones(len(d)), t, m, d["base"], t[:, None] * m])
    k = m.shape[1]
    return fit_negbin(X, d["y4"].to_numpy(float), offset=None), X, 1, list(range(2, 2 + k)), list(range(3 + k, 3 + 2 * k))


def _num_se(fn, fit):
    b = np.asarray(fit.coef, float)
    g = np.zeros_like(b)
    for j in range(b.size):
        h = 1e-6 * max(1.0, abs(b[j]))
        e = np.zeros_like(b)
        e[j] = h
        g[j] = (fn(b + e) - fn(b - e)) / (2 * h)
    return math.sqrt(g @ fit.vcov @ g)


def _rd_by_hand(b, X, t_col, m_cols, i_cols, values):
    out = 0.0
    for t, sign in ((1.0, 1.0), (0.0, -1.0)):
        Z = X.copy()
        Z[:, t_col] = t
        for mc, ic, v in zip(m_cols, i_cols, values):
            Z[:, mc] = v
            Z[:, ic] = t * v
        out += sign * float(np.exp(Z @ b).mean())
    return out


def test_rate_difference_per_level_and_interaction():
    fit, X, t_col, m_cols, i_cols = _fit("age_group")
    for values in ([0.0, 0.0], [1.0, 0.0], [0.0, 1.0]):
        c = rate_difference(fit, X, t_col, m_cols, i_cols, values)
        assert c.estimate == pytest.approx(_rd_by_hand(fit.coef, X, t_col, m_cols, i_cols, values), rel=1e-12)
        se = _num_se(lambda b, v=values: _rd_by_hand(b, X, t_col, m_cols, i_cols, v), fit)
        assert c.std_error == pytest.approx(se, rel=1e-6)
    c = rate_interaction(fit, X, t_col, m_cols, i_cols, "categorical", level=1)

    def did(b):
        return (_rd_by_hand(b, X, t_col, m_cols, i_cols, [0.0, 1.0]) - _rd_by_hand(b, X, t_col, m_cols, i_cols, [0.0, 0.0]))
    assert c.estimate == pytest.approx(did(fit.coef), rel=1e-12)
    assert c.std_error == pytest.approx(_num_se(did, fit), rel=1e-6)


def test_rate_difference_slope_for_a_continuous_moderator():
    fit, X, t_col, m_cols, i_cols = _fit("age")
    m0 = float(X[:, m_cols[0]].mean())

    def slope(b, h=1e-4):
        return (_rd_by_hand(b, X, t_col, m_cols, i_cols, [m0 + h]) - _rd_by_hand(b, X, t_col, m_cols, i_cols, [m0 - h])) / (2 * h)
    c = rate_interaction(fit, X, t_col, m_cols, i_cols, "continuous")
    assert c.estimate == pytest.approx(slope(fit.coef), rel=1e-6)
    assert c.std_error == pytest.approx(_num_se(slope, fit), rel=1e-4)
