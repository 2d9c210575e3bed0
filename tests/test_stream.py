"""The streamed analysis (``effectmod analyze DIR --plan P --stream``): a partitioned Parquet dataset read
by row groups gives the in-memory results.csv to 1e-10, and what it cannot do exits 2 with one line each."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

import effectmod as em
from effectmod.cli import main
from effectmod.stream.sums import Moments

N = 900
KEY = ["outcome", "timepoint", "moderator", "term", "model"]


def _frame(n: int = N, seed: int = 11) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    treat = rng.integers(0, 2, n)
    m1 = rng.normal(50, 10, n)
    sex = rng.choice(["f", "m"], n)
    site = rng.choice(["north", "south", "east"], n)
    age = rng.integers(20, 80, n).astype(float)
    y0 = rng.normal(5, 2, n)
    y1 = 1 + 0.5 * y0 + treat * (0.3 + 0.05 * (m1 - 50)) + 0.4 * (sex == "m") + rng.normal(0, 1, n)
    y2 = 2 + 0.3 * y0 - 0.5 * treat * (site == "east") + 0.01 * age + rng.normal(0, 1.5, n)
    f = pd.DataFrame({"pid": [f"P{i:05d}" for i in range(n)], "arm": np.where(treat == 1, "active", "usual"),
                      "y0": y0, "y1": y1, "y2": y2, "m1": m1, "sex": sex, "site": site, "age": age})
    f.loc[rng.choice(n, 40, replace=False), "y1"] = np.nan
    f.loc[rng.choice(n, 60, replace=False), "y2"] = np.nan
    f.loc[rng.choice(n, 25, replace=False), "m1"] = -99.0        # a missing-value code
    f.loc[rng.choice(n, 20, replace=False), "age"] = -99.0
    f.loc[rng.choice(n, 15, replace=False), "site"] = None
    f.loc[rng.choice(n, 10, replace=False), "y0"] = np.nan
    f.loc[rng.choice(n, 5, replace=False), "arm"] = "other"      # not an analysed arm
    return f


def _plan(**analysis) -> dict:
    return {"data": {"id": "pid", "treatment": "arm", "treated": "active", "control": "usual", "missing_codes": [-99]},
            "outcomes": [{"name": "score", "type": "continuous", "baseline": "y0", "followups": {"6": "y1", "12": "y2"}}],
            "moderators": [{"name": "marker", "column": "m1", "type": "continuous"},
                           {"name": "sex", "column": "sex", "type": "binary", "reference": "m"},
                           {"name": "site", "column": "site", "type": "categorical"},
                           {"name": "severity", "column": "y0", "type": "continuous"}],
            "covariates": ["age"],
            "analysis": {"model": "linear", "se": "classical", "multiplicity": "holm", **analysis}}


def _write_parts(frame: pd.DataFrame, folder, files: int = 3, row_group: int = 128) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq
    folder.mkdir()
    for i, rows in enumerate(np.array_split(np.arange(len(frame)), files)):
        pq.write_table(pa.Table.from_pandas(frame.iloc[rows], preserve_index=False), folder / f"part-{i}.parquet",
                       row_group_size=row_group)


@pytest.fixture(scope="module")
def streamed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("stream")
    frame = _frame()
    _write_parts(frame, tmp / "data")
    plan_path = tmp / "plan.yaml"
    plan_path.write_text(yaml.safe_dump(_plan(), sort_keys=False))
    assert main(["analyze", str(tmp / "data"), "--plan", str(plan_path), "--stream", "--out", str(tmp / "out"), "-q"]) == 0
    return frame, tmp


def test_streamed_results_equal_the_in_memory_results(streamed):
    frame, tmp = streamed
    memory = em.analyze(frame, tmp / "plan.yaml").table
    stream = pd.read_csv(tmp / "out" / "results.csv", dtype={"timepoint": str}, keep_default_na=False, na_values=[""])
    memory = memory.assign(timepoint=memory["timepoint"].astype(str), term=memory["term"].fillna(""))
    stream = stream.assign(term=stream["term"].fillna(""))
    assert len(stream) == len(memory) == 2 * (1 + 1 + 3 + 1)       # 2 follow-ups x (3 one-column + 2 levels + joint)
    both = memory.merge(stream, on=KEY, suffixes=("_m", "_s"), validate="one_to_one")
    assert len(both) == len(memory)
    for col in ("estimate", "std_error", "ci_low", "ci_high", "p_value", "p_adjusted", "df", "moderator_sd", "estimate_per_sd",
                "ci_low_per_sd", "ci_high_per_sd", "statistic"):
        a, b = both[f"{col}_m"].astype(float).to_numpy(), both[f"{col}_s"].astype(float).to_numpy()
        assert np.array_equal(np.isnan(a), np.isnan(b)), col
        seen = ~np.isnan(a)
        np.testing.assert_allclose(b[seen], a[seen], rtol=1e-10, atol=1e-12, err_msg=col)
    assert (both["n_m"] == both["n_s"]).all()
    assert (both["tier_m"].fillna("") == both["tier_s"].fillna("")).all()
    # the moderator that is the baseline enters once (no baseline column), as in memory
    assert both.loc[both["moderator"] == "severity", "n_s"].min() > 0


def test_streamed_hc3_equals_the_in_memory_hc3(tmp_path):
    frame = _frame(400, seed=5)
    _write_parts(frame, tmp_path / "data", files=2, row_group=70)
    plan = _plan()
    plan["analysis"]["se"] = "HC3"
    plan_path = tmp_path / "plan.yaml"
    plan_path.write_text(yaml.safe_dump(plan, sort_keys=False))
    assert main(["analyze", str(tmp_path / "data"), "--plan", str(plan_path), "--stream", "--out", str(tmp_path / "out"), "-q"]) == 0
    memory = em.analyze(frame, plan_path).table
    stream = pd.read_csv(tmp_path / "out" / "results.csv", dtype={"timepoint": str}, keep_default_na=False, na_values=[""])
    memory = memory.assign(timepoint=memory["timepoint"].astype(str), term=memory["term"].fillna(""))
    both = memory.merge(stream.assign(term=stream["term"].fillna("")), on=KEY, suffixes=("_m", "_s"), validate="one_to_one")
    assert len(both) == len(memory) == len(stream)
    for col in ("estimate", "std_error", "ci_low", "ci_high", "p_value"):
        a, b = both[f"{col}_m"].astype(float).to_numpy(), both[f"{col}_s"].astype(float).to_numpy()
        seen = ~np.isnan(a)
        np.testing.assert_allclose(b[seen], a[seen], rtol=1e-10, atol=1e-12, err_msg=col)
    classical = em.analyze(frame, {**plan, "analysis": {**plan["analysis"], "se": "classical"}}).table
    assert not np.allclose(classical["std_error"].astype(float), memory["std_error"].astype(float), equal_nan=True)


def test_streamed_average_effects_and_flow(streamed):
    import json
    frame, tmp = streamed
    memory = em.analyze(frame, tmp / "plan.yaml").sections["average_effects"]
    stream = pd.read_csv(tmp / "out" / "average_effects.csv")
    np.testing.assert_allclose(stream["estimate"], memory["estimate"], rtol=1e-10)
    np.testing.assert_allclose(stream["std_error"], memory["std_error"], rtol=1e-10)
    assert list(stream["n"]) == list(memory["n"])
    assert json.loads((tmp / "out" / "manifest.json").read_text())["streamed"] is True
    flow = json.loads((tmp / "out" / "stream.json").read_text())
    assert flow["rows_in_file"] == N and flow["files"] == 3
    assert flow["participants_in_arms"] == N - 5 and flow["treatment_missing_or_other_arm"] == 5
    arms = frame["arm"].value_counts()
    assert flow["arms"] == {"treated": int(arms["active"]), "control": int(arms["usual"])}


def test_moments_merge_in_any_order_equals_one_block():
    rng = np.random.default_rng(3)
    Z = np.column_stack([np.ones(500), rng.normal(1e6, 1, 500), rng.normal(size=500)])
    whole = Moments(3)
    whole.add_block(Z)
    parts = [Moments(3) for _ in range(3)]
    for p, rows in zip(parts, (slice(0, 7), slice(7, 300), slice(300, 500))):
        p.add_block(Z[rows])
    merged = Moments(3)
    for p in reversed(parts):
        merged.merge(p)
    np.testing.assert_allclose(merged.comoment, whole.comoment, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(merged.mean, whole.mean, rtol=1e-14)
    assert merged.n == 500 and merged.low[0] == merged.high[0] == 1.0


def _run_bad(tmp_path, capsys, data, plan: dict) -> list[str]:
    plan_path = tmp_path / "plan.yaml"
    plan_path.write_text(yaml.safe_dump(plan, sort_keys=False))
    rc = main(["analyze", str(data), "--plan", str(plan_path), "--stream", "--out", str(tmp_path / "out"), "-q"])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert lines and all(ln.startswith("effectmod:") for ln in lines), err
    return lines


@pytest.mark.parametrize("change, words", [
    ({"analysis": {"model": "linear", "bootstrap": 200}}, "analysis.bootstrap"),
    ({"analysis": {"model": "linear", "imputations": 5}}, "analysis.imputations"),
    ({"analysis": {"model": "linear", "sensitivity": ["mixed"]}}, "analysis.sensitivity"),
])
def test_what_the_stream_cannot_do_exits_2(tmp_path, capsys, change, words):
    frame = _frame(200)
    _write_parts(frame, tmp_path / "data", files=2, row_group=50)
    lines = _run_bad(tmp_path, capsys, tmp_path / "data", {**_plan(), **change})
    assert len(lines) == 1 and words in lines[0]


def test_bad_data_exits_2_with_one_line_each(tmp_path, capsys):
    frame = _frame(200)
    frame["m1"] = ["high" if i == 3 else repr(v) for i, v in enumerate(frame["m1"])]
    frame = frame.drop(columns=["age"])
    _write_parts(frame, tmp_path / "data", files=2, row_group=50)
    lines = _run_bad(tmp_path, capsys, tmp_path / "data", _plan())
    assert len(lines) == 1 and "'age'" in lines[0]
    frame["age"] = 40.0
    (tmp_path / "data2").mkdir()
    frame.to_parquet(tmp_path / "data2" / "one.parquet")
    lines = _run_bad(tmp_path, capsys, tmp_path / "data2", _plan())
    assert len(lines) == 1 and "'m1'" in lines[0] and "expected numbers" in lines[0]
    frame.to_csv(tmp_path / "trial.csv", index=False)
    lines = _run_bad(tmp_path, capsys, tmp_path / "trial.csv", _plan())
    assert len(lines) == 1 and "Parquet" in lines[0]


def test_distributed_on_a_dask_cluster_equals_the_local_stream(streamed, tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    frame, tmp = streamed
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        assert main(["analyze", str(tmp / "data"), "--plan", str(tmp / "plan.yaml"), "--stream", "--scheduler",
                     cluster.scheduler_address, "--out", str(tmp_path / "out"), "-q"]) == 0
    local = pd.read_csv(tmp / "out" / "results.csv")
    spread = pd.read_csv(tmp_path / "out" / "results.csv")
    assert list(local["moderator"]) == list(spread["moderator"]) and list(local["n"]) == list(spread["n"])
    for col in ("estimate", "std_error", "p_value", "p_adjusted"):
        np.testing.assert_allclose(spread[col], local[col], rtol=1e-12, atol=1e-15, err_msg=col)


def test_scheduler_needs_stream_and_an_address(streamed, tmp_path, capsys):
    frame, tmp = streamed
    assert main(["analyze", str(tmp / "data"), "--plan", str(tmp / "plan.yaml"), "--scheduler", "tcp://127.0.0.1:1",
                 "--out", str(tmp_path / "a"), "-q"]) == 2
    assert main(["analyze", str(tmp / "data"), "--plan", str(tmp / "plan.yaml"), "--stream", "--scheduler",
                 "http://127.0.0.1:8787", "--out", str(tmp_path / "b"), "-q"]) == 2
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert len(err) == 2 and all(ln.startswith("effectmod: --scheduler") for ln in err), err


@pytest.mark.parametrize("case", ["btheb_linear", "btheb_hc3"])
def test_streamed_beat_the_blues_agrees_with_r(case, tmp_path):
    """R's lm (classical) and sandwich::vcovHC (HC3) on Beat the Blues, from the data split into
    three Parquet files of several row groups (R's numbers: tests/reference/<case>/)."""
    from pathlib import Path
    here = Path(__file__).parent / "reference" / case
    frame = pd.read_csv(here / "data.csv")
    _write_parts(frame, tmp_path / "data", files=3, row_group=17)
    assert main(["analyze", str(tmp_path / "data"), "--plan", str(here / "plan.yaml"), "--stream",
                 "--out", str(tmp_path / "out"), "-q"]) == 0
    ref = pd.read_csv(here / "reference.csv")
    got = pd.read_csv(tmp_path / "out" / "results.csv")
    both = ref.merge(got, on=["outcome", "timepoint", "moderator", "model"], suffixes=("_r", "_s"), validate="one_to_one")
    assert len(both) == len(ref) == len(got)
    for col in ("estimate", "std_error", "ci_low", "ci_high", "p_value"):
        np.testing.assert_allclose(both[f"{col}_s"], both[f"{col}_r"], rtol=1e-10, err_msg=col)
    assert (both["n_r"] == both["n_s"]).all() and (both["tier_r"] == both["tier_s"]).all()


def test_streamed_heteroscedasticity_check_flags_as_in_memory(tmp_path):
    rng = np.random.default_rng(8)
    n = 600
    frame = _frame(n, seed=8)
    treat = (frame["arm"] == "active").to_numpy()
    spread = np.where(treat, 0.2 + 0.15 * np.abs(frame["m1"].clip(20, 80).to_numpy() - 50), 1.0)
    frame["y1"] = frame["y1"] + rng.normal(0, 1, n) * spread
    _write_parts(frame, tmp_path / "data", files=2, row_group=90)
    plan_path = tmp_path / "plan.yaml"
    plan_path.write_text(yaml.safe_dump(_plan(), sort_keys=False))
    assert main(["analyze", str(tmp_path / "data"), "--plan", str(plan_path), "--stream", "--out", str(tmp_path / "out"), "-q"]) == 0
    memory = em.analyze(frame, plan_path).table
    stream = pd.read_csv(tmp_path / "out" / "results.csv", dtype={"timepoint": str, "note": str}, keep_default_na=False)

    def flagged(notes):
        return ["; ".join(p for p in str(n).split("; ") if "anti-conservative" in p or "HC3 SE" in p) for n in notes]
    m = flagged(memory["note"])
    assert any(m), "the data were built to be flagged"
    assert flagged(stream["note"]) == m
