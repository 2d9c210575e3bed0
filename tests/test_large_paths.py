"""Paths for very many rows (sums over row blocks, no per-cell keys) give the numbers of the
row-level paths: checked here on small data, where both run."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from effectmod.data.values import _raw_keys, float_code_hits, value_key
from effectmod.engines.ols import GRAM_CONDITION_LIMIT, OLSFit, fit_ols
from effectmod.engines.ols_large import fit_ols_blocks
from effectmod.inference.heteroscedasticity import breusch_pagan, se_ratios
from effectmod.inference.heteroscedasticity_large import check_large

AGREEMENT = 1e-10


def _design(n, seed, categorical=False):
    rng = np.random.default_rng(seed)
    treat = rng.integers(0, 2, n).astype(float)
    age = np.round(rng.normal(1990, 8, n))                 # raw units, far from 0
    base = rng.normal(5, 2, n)
    cols = [np.ones(n), treat, age - 1990.3, base]
    names = ["(Intercept)", "treat", "mod", "baseline"]
    if categorical:
        lv = rng.integers(0, 3, n)
        cols[2:3] = [(lv == 1).astype(float), (lv == 2).astype(float)]
        names[2:3] = ["mod[b]", "mod[c]"]
        cols += [treat * cols[2], treat * cols[3]]
        names += ["treat:mod[b]", "treat:mod[c]"]
    else:
        cols.append(treat * cols[2])
        names.append("treat:mod")
    X = np.column_stack(cols)
    y = X @ rng.normal(size=X.shape[1]) + rng.normal(0, 1 + treat, n)
    return X, y, tuple(names)


@pytest.mark.parametrize("categorical", [False, True])
@pytest.mark.parametrize("n", [200, 3000])
def test_block_fit_equals_row_fit(n, categorical):
    X, y, names = _design(n, n, categorical)
    want = fit_ols(X, y, names)
    blocks = fit_ols_blocks(X, y, GRAM_CONDITION_LIMIT)
    assert blocks is not None
    got = OLSFit(blocks[0], blocks[1], names, n, *blocks[2:], "classical")
    np.testing.assert_allclose(got.coef, want.coef, rtol=AGREEMENT, atol=AGREEMENT * np.abs(want.coef).max())
    np.testing.assert_allclose(got.vcov, want.vcov, rtol=AGREEMENT, atol=AGREEMENT * np.abs(want.vcov).max())
    assert got.df_resid == want.df_resid
    assert got.sigma2 == pytest.approx(want.sigma2, rel=AGREEMENT)
    assert got.r_squared == pytest.approx(want.r_squared, rel=AGREEMENT)


def test_block_fit_hands_collinear_and_exact_fits_to_the_row_path():
    X, y, names = _design(500, 1)
    collinear = np.column_stack([X, X[:, 2] * 2.0])
    assert fit_ols_blocks(collinear, y, GRAM_CONDITION_LIMIT) is None
    assert fit_ols_blocks(X, X @ np.arange(1.0, 6.0), GRAM_CONDITION_LIMIT) is None


@pytest.mark.parametrize("categorical", [False, True])
@pytest.mark.parametrize("n", [150, 3000])
def test_block_heteroscedasticity_check_equals_row_check(n, categorical):
    X, y, names = _design(n, n + 1, categorical)
    coef = fit_ols(X, y, names).coef
    cols = [j for j, nm in enumerate(names) if nm == "treat" or nm.startswith(("mod", "treat:mod"))]
    Ls = [np.eye(len(names))[names.index(nm)] for nm in names if nm.startswith("treat:")]
    resid = y - X @ coef
    lm, df, p = breusch_pagan(resid, X[:, cols])
    ratios = se_ratios(X, resid, Ls)
    got = check_large(X, y, cols, Ls)
    assert got[0] == pytest.approx(lm, rel=AGREEMENT)
    assert got[1] == df
    assert got[2] == pytest.approx(p, rel=AGREEMENT, abs=1e-300)
    np.testing.assert_allclose(got[3], ratios, rtol=AGREEMENT)


def test_float_code_hits_agree_with_keys():
    values = pd.Series([1.0, -99.0, 9.5, np.nan, 0.1 + 0.2, -0.0, 1e20, 3.0])
    for codes in ({"-99"}, {"9.5", "NA"}, {"0", "100000000000000000000"}, {"0.30000000000000004"}, set()):
        want = np.isin(_raw_keys(values), list(codes))
        got = float_code_hits(values, codes)
        assert got is not None
        np.testing.assert_array_equal(got, want)
    assert float_code_hits(values, {"inf"}) is None
    assert float_code_hits(pd.Series(["1", "2"]), {"1"}) is None


def test_text_column_keys_per_distinct_value_equal_per_cell():
    cells = ["a", " a", "A", None, "José", "Jose\u0301", "1", "01", "NA", "", "<NA>", np.nan, "true", "1.50"]
    series = pd.Series(cells * 3, dtype=object)
    np.testing.assert_array_equal(_raw_keys(series), np.array([value_key(v) for v in series.tolist()], dtype=object))


def _block_agrees(X, y, names):
    want = fit_ols(X, y, names)
    blocks = fit_ols_blocks(X, y, GRAM_CONDITION_LIMIT)
    assert blocks is not None
    np.testing.assert_allclose(blocks[0], want.coef, rtol=AGREEMENT, atol=AGREEMENT * np.abs(want.coef).max())
    np.testing.assert_allclose(blocks[1], want.vcov, rtol=AGREEMENT, atol=AGREEMENT * np.abs(want.vcov).max())
    assert blocks[3] == pytest.approx(want.sigma2, rel=AGREEMENT)
    assert blocks[4] == pytest.approx(want.r_squared, rel=AGREEMENT)


@pytest.mark.parametrize("sort_column", [2, 3])
def test_block_fit_of_sorted_rows_takes_the_centred_pass(monkeypatch, sort_column):
    from effectmod.engines import ols_large
    X, y, names = _design(3000, 7)
    X[0, 2] = 5e4                       # a moderator value thousands of SDs out
    order = np.argsort(X[:, sort_column])
    X, y = X[order], y[order]           # the first block's means far from all rows' means
    monkeypatch.setattr(ols_large, "BLOCK_ROWS", 256)
    calls = []
    real = ols_large._shifted_products
    monkeypatch.setattr(ols_large, "_shifted_products", lambda *a: calls.append(1) or real(*a))
    _block_agrees(X, y, names)
    assert len(calls) == 2


def test_block_fit_close_to_exact_sums_its_residuals():
    X, y, names = _design(3000, 8)
    y = X @ np.arange(1.0, 6.0) + np.random.default_rng(8).normal(0, 0.1, 3000)   # R^2 ~ 1 - 1e-4
    _block_agrees(X, y, names)


@pytest.mark.parametrize("categorical", [False, True])
def test_block_check_from_the_fit_sums_equals_a_fresh_check(categorical):
    from effectmod.engines.ols_large import fit_ols_blocks_full
    X, y, names = _design(2500, 9, categorical)
    cols = [j for j, nm in enumerate(names) if nm == "treat" or nm.startswith(("mod", "treat:mod"))]
    Ls = [np.eye(len(names))[names.index(nm)] for nm in names if nm.startswith("treat:")]
    fit = fit_ols_blocks_full(X, y, GRAM_CONDITION_LIMIT)
    reused, fresh = check_large(X, y, cols, Ls, fit), check_large(X, y, cols, Ls)
    assert reused[:3] == pytest.approx(fresh[:3], rel=1e-13)
    np.testing.assert_allclose(reused[3], fresh[3], rtol=1e-13)
    assert check_large(X, X @ np.arange(1.0, len(names) + 1.0), cols, Ls) is None     # exact fit: the row check decides


def test_analysis_through_the_block_paths_equals_the_row_paths(monkeypatch):
    """A whole analysis (fits, heteroscedasticity checks, every derived number) with the block
    paths switched on for a 100-participant trial gives the numbers of the row paths."""
    import effectmod as em
    from effectmod.engines import ols
    from effectmod.inference import heteroscedasticity

    folder = Path(__file__).parent / "reference" / "btheb_linear"
    frame = pd.read_csv(folder / "data.csv")
    # a continuous moderator too, far from zero (the block path's shifted sums)
    frame["age"] = 1950.0 + (frame["id"] * 7919) % 41
    plan = yaml.safe_load((folder / "plan.yaml").read_text())
    plan["moderators"].append({"name": "age", "column": "age", "type": "continuous"})
    want = em.analyze(frame, plan)
    monkeypatch.setattr(ols, "GRAM_MIN_ROWS", 10)
    monkeypatch.setattr(heteroscedasticity, "LARGE_N", 10)
    calls = []
    from effectmod.engines import ols_large
    real = ols_large.fit_ols_blocks_full
    monkeypatch.setattr(ols_large, "fit_ols_blocks_full", lambda *a: calls.append(1) or real(*a))
    got = em.analyze(frame, plan)
    assert calls
    numbers = want.table.select_dtypes("number").columns
    np.testing.assert_allclose(got.table[numbers].to_numpy(float), want.table[numbers].to_numpy(float),
                               rtol=1e-10, atol=1e-12, equal_nan=True)
    flags = [(m.get("heteroscedasticity_p"), m.get("se_ratio_hc3")) for m in want.models]
    got_flags = [(m.get("heteroscedasticity_p"), m.get("se_ratio_hc3")) for m in got.models]
    np.testing.assert_allclose(np.array(got_flags, dtype=float), np.array(flags, dtype=float), rtol=1e-10, equal_nan=True)
