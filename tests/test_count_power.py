"""Simulation-based power for count outcomes from a pilot (MASS::epil): the batched Poisson fits
agree with the single-fit engine, count and ordinal pilots run reproducibly, and (slow) the
Poisson and proportional-odds Wald tests keep their size when the interaction is 0."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from effectmod.engines.poisson import fit_poisson, fit_poisson_stacked
from effectmod.power import Size, pilot_source, run_chunk

REF = Path(__file__).parent / "reference"


def test_stacked_poisson_agrees_with_single_fits():
    d = pd.read_csv(REF / "epil_count" / "data.csv")
    t = (d["trt"] == "progabide").to_numpy(float)
    X = np.column_stack([np.ones(len(d)), t, d["age"], d["base"], t * d["age"]])
    rng = np.random.default_rng(3)
    idx = rng.integers(0, len(d), (6, len(d)))
    off = np.log(d["weeks"].to_numpy(float))[idx]
    coef, se, ok = fit_poisson_stacked(X[idx], d["y_obs"].to_numpy(float)[idx], off)
    assert ok.all()
    for b in range(6):
        f = fit_poisson(X[idx][b], d["y_obs"].to_numpy(float)[idx][b], offset=off[b])
        np.testing.assert_allclose(coef[b], f.coef, rtol=1e-8)
        np.testing.assert_allclose(se[b], np.sqrt(np.diag(f.vcov)), rtol=1e-8)


def _plan(model):
    plan = yaml.safe_load((REF / "epil_count" / "plan.yaml").read_text())
    plan["analysis"]["count_model"] = model
    return plan


@pytest.mark.parametrize("model", ["poisson", "negative_binomial"])
def test_count_pilot_runs_and_is_reproducible(model):
    source = pilot_source(REF / "epil_count" / "data.csv", _plan(model))
    assert {m.family for m in source.models} == {model} and source.skipped == ("age_group",)
    a = run_chunk(source, 60, Size(scale=1.0), 8, 5, (0, 0), 0.05)
    b = run_chunk(source, 60, Size(scale=1.0), 8, 5, (0, 0), 0.05)
    assert a == b and set(a) >= {("seizures4", "4", "age"), ("seizures", "total", "")}


def test_ordinal_pilot_runs():
    source = pilot_source(REF / "btheb_ordinal" / "data.csv", yaml.safe_load((REF / "btheb_ordinal" / "plan.yaml").read_text()))
    assert {m.family for m in source.models} == {"ordinal"}
    a = run_chunk(source, 80, Size(scale=1.0), 6, 5, (0, 0), 0.05)
    assert a == run_chunk(source, 80, Size(scale=1.0), 6, 5, (0, 0), 0.05) and ("bdi_cat", "2", "drug") in a


@pytest.mark.slow
def test_ordinal_pilot_power_keeps_its_size_under_no_interaction():
    source = pilot_source(REF / "btheb_ordinal" / "data.csv", yaml.safe_load((REF / "btheb_ordinal" / "plan.yaml").read_text()))
    hits = run_chunk(source, 200, Size(scale=0.0), 600, 9, (0, 0), 0.05)
    for key, k in hits.items():
        if key[2]:
            assert abs(k / 600 - 0.05) < 4 * np.sqrt(0.05 * 0.95 / 600), key


@pytest.mark.slow
def test_poisson_pilot_power_keeps_its_size_under_no_interaction():
    source = pilot_source(REF / "epil_count" / "data.csv", _plan("poisson"))
    hits = run_chunk(source, 120, Size(scale=0.0), 2000, 9, (0, 0), 0.05)
    for key, k in hits.items():
        if key[2]:
            assert abs(k / 2000 - 0.05) < 4 * np.sqrt(0.05 * 0.95 / 2000), key
