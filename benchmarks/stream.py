"""Benchmark (not a test): the streamed analysis of a trial larger than one would hold in memory.

Writes (or reuses) N participants x 8 moderators x 2 outcomes (each with a baseline and 2 follow-ups)
as Parquet files in row groups under a temporary folder, runs ``effectmod analyze DIR --plan P
--stream`` in this process, and prints the time and the peak resident memory (resource.getrusage).

    python benchmarks/stream.py                       # 20 million participants (about 2.5 GB of Parquet)
    python benchmarks/stream.py --n 1000000 --keep    # smaller; keep the files for another run
"""
from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

PLAN = {
    "data": {"id": "pid", "treatment": "arm", "treated": 1, "control": 0},
    "outcomes": [
        {"name": "pain", "type": "continuous", "baseline": "pain_0", "followups": {"18": "pain_18", "52": "pain_52"}},
        {"name": "disability", "type": "continuous", "baseline": "rmdq_0", "followups": {"18": "rmdq_18", "52": "rmdq_52"}},
    ],
    "moderators": [
        {"name": "baseline_pain", "column": "pain_0", "type": "continuous"},
        {"name": "baseline_disability", "column": "rmdq_0", "type": "continuous"},
        {"name": "medication", "column": "med", "type": "binary"},
        {"name": "sex", "column": "sex", "type": "binary"},
        {"name": "beliefs", "column": "bbq", "type": "continuous"},
        {"name": "kinesiophobia", "column": "tsk", "type": "continuous"},
        {"name": "catastrophizing", "column": "pcs", "type": "continuous"},
        {"name": "site", "column": "site", "type": "categorical"},
    ],
    "covariates": ["age"],
    "analysis": {"model": "linear", "se": "classical", "multiplicity": "holm", "bootstrap": 0, "imputations": 0},
}


def write_data(folder: Path, n: int, rows_per_file: int, row_group: int, seed: int = 1) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for f, start in enumerate(range(0, n, rows_per_file)):
        m = min(rows_per_file, n - start)
        arm = rng.integers(0, 2, m).astype(np.int8)
        pain0 = rng.normal(6, 1.5, m)
        rmdq0 = rng.normal(12, 4, m)
        med = rng.integers(0, 2, m).astype(np.int8)
        sex = rng.integers(0, 2, m).astype(np.int8)
        bbq, tsk, pcs = rng.normal(27, 6, m), rng.normal(40, 8, m), rng.normal(20, 9, m)
        site = rng.integers(1, 5, m).astype(np.int8)
        age = rng.normal(50, 12, m)
        cols = {"pid": np.arange(start, start + m, dtype=np.int64), "arm": arm, "pain_0": pain0, "rmdq_0": rmdq0,
                "med": med, "sex": sex, "bbq": bbq, "tsk": tsk, "pcs": pcs, "site": site, "age": age}
        for t, shift in (("18", 0.0), ("52", 0.3)):
            for name, base, sd in (("pain", pain0, 1.5), ("rmdq", rmdq0, 4.0)):
                y = 0.5 * base + arm * (-0.5 + 0.05 * (tsk - 40) + shift) + 0.01 * age + rng.normal(0, sd, m)
                y[rng.random(m) < 0.1] = np.nan          # 10% lost to follow-up
                cols[f"{name}_{t}"] = y
        pq.write_table(pa.table(cols), folder / f"part-{f:04d}.parquet", row_group_size=row_group)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20_000_000)
    ap.add_argument("--dir", default=None, help="data folder (default: a folder under the temporary directory)")
    ap.add_argument("--rows-per-file", type=int, default=1_000_000)
    ap.add_argument("--row-group", type=int, default=250_000)
    ap.add_argument("--keep", action="store_true", help="keep the data folder for another run")
    args = ap.parse_args(argv)
    import yaml

    from effectmod.cli import main as effectmod_main
    folder = Path(args.dir) if args.dir else Path(tempfile.gettempdir()) / f"effectmod-stream-{args.n}"
    data = folder / "data"
    if not (data.is_dir() and any(data.glob("*.parquet"))):
        t0 = time.time()
        write_data(data, args.n, args.rows_per_file, args.row_group)
        size = sum(p.stat().st_size for p in data.glob("*.parquet"))
        print(f"wrote {args.n:,} participants in {len(list(data.glob('*.parquet')))} files "
              f"({size / 1e9:.2f} GB) in {time.time() - t0:.1f} s")
    else:
        print(f"reusing {data}")
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    plan = folder / "plan.yaml"
    plan.write_text(yaml.safe_dump(PLAN, sort_keys=False))
    shutil.rmtree(folder / "out", ignore_errors=True)      # the benchmark's own output of an earlier run
    t0 = time.time()
    rc = effectmod_main(["analyze", str(data), "--plan", str(plan), "--stream", "--out", str(folder / "out"), "-q"])
    seconds = time.time() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"streamed analysis: exit {rc}, {seconds:.1f} s, peak RSS {peak:.0f} MB (before the analysis: {rss_before:.0f} MB)")
    print(f"results: {folder / 'out' / 'results.csv'}")
    if not args.keep and not args.dir:
        shutil.rmtree(folder)
    return rc


if __name__ == "__main__":
    sys.exit(main())
