"""The shared CR0 cluster sandwich against statsmodels' cluster-robust logistic fit (no correction)."""
import numpy as np
import statsmodels.api as sm

from effectmod.engines.cluster import cluster_codes, cr0_vcov


def test_cr0_equals_statsmodels_cluster_sandwich_without_small_sample_factor():
    rng = np.random.default_rng(3)
    n, g = 300, 25
    cl = rng.integers(0, g, n)
    X = sm.add_constant(np.column_stack([rng.normal(size=n), rng.integers(0, 2, n)]))
    y = (rng.random(n) < 1 / (1 + np.exp(-(X @ [-0.3, 0.8, 0.5] + rng.normal(0, 0.7, g)[cl])))).astype(float)
    res = sm.Logit(y, X).fit(disp=0, cov_type="cluster", cov_kwds={"groups": cl, "use_correction": False})
    mu = 1 / (1 + np.exp(-X @ res.params))
    bread = np.linalg.inv((X * (mu * (1 - mu))[:, None]).T @ X)
    V = cr0_vcov(X * (y - mu)[:, None], bread, cl)
    np.testing.assert_allclose(V, res.cov_params(), rtol=1e-10, atol=1e-14)


def test_cluster_codes_accept_text_labels_and_keep_one_code_per_cluster():
    codes = cluster_codes(np.array(["b", "a", "b", "c"], dtype=object))
    assert codes.tolist() == [1, 0, 1, 2]
