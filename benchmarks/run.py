"""effectmod benchmarks: each item timed beside a plain reference, in one run, on the same data.

    python benchmarks/run.py            # the full run (a few minutes)
    python benchmarks/run.py --quick    # a smoke run with small sizes (seconds; figures not meaningful)

The reference is what a careful user would write without effectmod: a loop of statsmodels fits
on prebuilt numpy arrays (and, for the bootstrap, a loop of formula refits, which is what most
users write). Slow references are timed on a subset of their fits and extrapolated linearly;
each line says so. Times are medians over --repeats runs (the first run of an item also warms
caches). The machine's load average is printed: other processes on the cores slow everything.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import warnings

import numpy as np

RESOLVE_N = 276


# ---------------------------------------------------------------- helpers

def median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def line(item: str, ours: float, reference: float | None, how: str, target: str = "") -> dict:
    ratio = reference / ours if reference else float("nan")
    ref = f"{reference:9.2f} s" if reference else "        —"
    print(f"  {item:<44} effectmod {ours:8.3f} s | reference {ref} | ratio {ratio:7.1f}x  {target}")
    if how:
        print(f"  {'':<44} ({how})")
    return {"item": item, "effectmod_s": ours, "reference_s": reference, "ratio": ratio, "reference": how}


def machine() -> dict:
    import numpy
    import pandas
    import scipy
    import statsmodels

    import effectmod
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    return {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "cpu": cpu, "cores": os.cpu_count(),
            "load_average_1min": round(load[0], 2), "python": platform.python_version(),
            "effectmod": effectmod.__version__, "numpy": numpy.__version__, "scipy": scipy.__version__,
            "pandas": pandas.__version__, "statsmodels": statsmodels.__version__, "platform": platform.platform()}


def resolve_models(seed: int = 1, model: str = "linear"):
    from effectmod.data.prepare import prepare_trial
    from effectmod.models.fit import fit_model
    from effectmod.models.spec import model_specs
    from effectmod.plan.schema import Plan
    from effectmod.simulation import simulate
    sim = simulate("resolve", RESOLVE_N, seed)
    plan = dict(sim.plan)
    plan["analysis"] = {**plan["analysis"], "model": model, "sensitivity": []}
    plan_obj = Plan.model_validate(plan)
    trial = prepare_trial(sim.data, plan_obj)
    fitted = [fit_model(s, trial, plan_obj) for s in model_specs(plan_obj, trial)]
    return sim, plan_obj, trial, fitted


# ---------------------------------------------------------------- 1. bootstrap

def bench_bootstrap(B: int, repeats: int, quick: bool) -> list[dict]:
    import pandas as pd
    import statsmodels.api as sm
    import statsmodels.formula.api as smf

    from effectmod.inference.bootstrap import bootstrap_frame
    from effectmod.inference.resample import counts_to_indices, stratified_bootstrap_counts
    sim, plan, trial, fitted = resolve_models()

    def ours():
        counts = stratified_bootstrap_counts(trial.treat, B, np.random.default_rng(1))
        bootstrap_frame(fitted, plan, counts)
    t_ours = median_time(ours, repeats)
    counts = stratified_bootstrap_counts(trial.treat, B, np.random.default_rng(1))
    sample = fitted[:2]
    k_arrays = 5 if quick else 200
    t = time.perf_counter()
    for fm in sample:
        d = fm.design
        position = np.full(trial.n, -1)
        position[d.rows] = np.arange(d.rows.size)
        for b in range(k_arrays):
            picks = position[counts_to_indices(counts[b])]
            picks = picks[picks >= 0]
            sm.OLS(d.y[picks], d.X[picks]).fit().params
    per_array = (time.perf_counter() - t) / (len(sample) * k_arrays)
    k_formula = 1 if quick else 20
    t = time.perf_counter()
    for fm in sample:
        d = fm.design
        frame = pd.DataFrame({"y": d.y, "treat": d.X[:, d.index("treat")], "mod": d.X[:, d.index("mod")]})
        if "baseline" in d.names:
            frame["baseline"] = d.X[:, d.index("baseline")]
        formula = "y ~ treat * mod" + (" + baseline" if "baseline" in d.names else "")
        position = np.full(trial.n, -1)
        position[d.rows] = np.arange(d.rows.size)
        for b in range(k_formula):
            picks = position[counts_to_indices(counts[b])]
            smf.ols(formula, data=frame.iloc[picks[picks >= 0]]).fit().params
    per_formula = (time.perf_counter() - t) / (len(sample) * k_formula)
    models = len(fitted)
    floor = median_time(gram_floor(fitted, counts), max(repeats, 5)) / models
    print(f"  bootstrap: {models} models, B = {B}; effectmod {1000 * t_ours / models:.2f} ms per model; "
          f"arithmetic floor {1000 * floor:.2f} ms per model (one float64 GEMM of the counts with each model's "
          f"p(p+1)/2 + p + 1 column products, rows gathered beforehand: what any normal-equations refit computes): "
          f"{t_ours / models / floor:.1f}x the floor (target <= 5x)")
    first = line(f"bootstrap B={B}, {models} linear models", t_ours, per_array * B * models,
                 f"statsmodels OLS on prebuilt arrays: {len(sample) * k_arrays} refits timed, extrapolated to {B * models}",
                 "target <= 5x the floor")
    first.update(floor_per_model_s=floor, ratio_to_floor=t_ours / models / floor)
    return [
        first,
        line(f"bootstrap B={B}, vs formula refits", t_ours, per_formula * B * models,
             f"statsmodels formula refits: {len(sample) * k_formula} timed, extrapolated to {B * models}"),
    ]


def bench_cox_bootstrap(B: int, repeats: int, quick: bool) -> list[dict]:
    """A 276-participant Cox interaction model (treat * continuous moderator, Efron ties):
    B bootstrap refits by the batched Newton fit vs a loop of statsmodels PHReg fits."""
    from types import SimpleNamespace

    from statsmodels.duration.hazard_regression import PHReg

    from effectmod.inference.resample import counts_to_indices, stratified_bootstrap_counts
    from effectmod.inference.survival_bootstrap import cox_bootstrap
    from effectmod.models.design import Design
    rng = np.random.default_rng(7)
    n = RESOLVE_N
    treat = (np.arange(n) % 2).astype(float)
    mod = rng.normal(0, 1, n)
    t_event = rng.exponential(1 / (0.1 * np.exp(-0.4 * treat + 0.3 * mod - 0.2 * treat * mod)))
    t_cens = rng.uniform(0, 15, n)
    time_ = np.round(np.minimum(t_event, t_cens), 1)            # rounded: tied times, as in real trials
    event = (t_event <= t_cens).astype(float)
    X = np.column_stack([treat, mod, treat * mod])
    design = Design(X, time_, ("treat", "mod", "treat:mod"), np.arange(n), ("mod",), ("",), timepoints=("",), event=event)
    model = SimpleNamespace(design=design)
    counts = stratified_bootstrap_counts(treat, B, np.random.default_rng(1))
    t_ours = median_time(lambda: cox_bootstrap(model, counts), repeats)
    k = 10 if quick else 100
    t = time.perf_counter()
    for b in range(k):
        idx = counts_to_indices(counts[b])
        PHReg(time_[idx], X[idx], status=event[idx], ties="efron").fit().params
    per_fit = (time.perf_counter() - t) / k
    return [line(f"Cox bootstrap B={B}, n={n}", t_ours, per_fit * B,
                 f"statsmodels PHReg (Efron) loop: {k} refits timed, extrapolated to {B}", "target >= 20x")]


def gram_floor(fitted, counts: np.ndarray):
    """The arithmetic floor of a bootstrap of linear models: per model, one GEMM of the (B, n)
    resample counts (already gathered to the model's rows, as float64) with the products of its
    columns and outcome (the weighted Gram matrix and X'Wy of every replicate), single-threaded
    as effectmod runs it. Returns the function to time."""
    from effectmod.engines.linalg import _single_thread_matmul
    work = []
    for fm in fitted:
        d = fm.design
        Z = np.column_stack([d.X, d.y])
        iu, ju = np.triu_indices(Z.shape[1])
        work.append((counts[:, d.rows].astype(float), Z[:, iu] * Z[:, ju]))
    return lambda: [_single_thread_matmul(W, Z) for W, Z in work]


# ---------------------------------------------------------------- 2. power

def bench_power(trials: int, repeats: int, quick: bool) -> list[dict]:
    import statsmodels.api as sm

    from effectmod.power import PowerGrid, ScenarioSource, Size, simulate_power
    from effectmod.simulation import simulate, simulate_arrays
    source = ScenarioSource("resolve")
    grid = PowerGrid((RESOLVE_N,), (Size(1.0),), replicates=trials, seed=1)
    simulate_power(source, grid, workers=1)     # warms the estimand cache (computed once per size)
    t_serial = median_time(lambda: simulate_power(source, grid, workers=1), repeats)
    t_pool = median_time(lambda: simulate_power(source, grid), repeats)
    k = 2 if quick else 25
    d, _ = simulate_arrays("resolve", RESOLVE_N, reps=k, seed=2)
    plan = simulate("resolve", RESOLVE_N, seed=2).plan
    t = time.perf_counter()
    for r in range(k):
        for o in plan["outcomes"]:
            base = d.baseline[o["baseline"]][r]
            for col in o["followups"].values():
                y = d.outcomes[col][r]
                ok = ~np.isnan(y)
                sm.OLS(y[ok], np.column_stack([np.ones(ok.sum()), d.treat[r][ok], base[ok]])).fit().pvalues
                for m in plan["moderators"]:
                    mod = d.baseline[m["column"]][r]
                    cols = [np.ones(RESOLVE_N), d.treat[r], mod, d.treat[r] * mod]
                    if m["column"] != o["baseline"]:
                        cols.append(base)
                    sm.OLS(y[ok], np.column_stack(cols)[ok]).fit().pvalues
    ref = (time.perf_counter() - t) / k * trials
    how = f"statsmodels OLS on arrays: {k} trials x 36 fits timed, extrapolated to {trials} trials"
    return [line(f"power {trials} trials x 32 tests (+4 ATE), 1 process", t_serial, ref, how, "target >= 30x"),
            line(f"power {trials} trials x 32 tests, {os.cpu_count()} processes", t_pool, ref, how)]


# ---------------------------------------------------------------- 3. multiple imputation

def bench_mi(m: int, repeats: int) -> list[dict]:
    import effectmod as em
    from effectmod.simulation import simulate
    sim = simulate("resolve", RESOLVE_N, 1)
    plan = dict(sim.plan)
    plan["analysis"] = {**plan["analysis"], "imputations": m, "sensitivity": []}
    t = median_time(lambda: em.analyze(sim.data, plan), repeats)
    return [line(f"multiple imputation m={m}, 32 linear models", t, None, "whole analysis, imputation included",
                 "target < 5 s")]


# ---------------------------------------------------------------- 4. scale

def scale_child(n: int, moderators: int) -> None:
    """Run in a subprocess: build the data, analyse it, print time and peak memory as JSON."""
    import resource

    import pandas as pd

    import effectmod as em
    rng = np.random.default_rng(1)
    cols = {"pid": np.arange(n), "arm": np.where(rng.random(n) < 0.5, "treated", "control")}
    treat = (cols["arm"] == "treated").astype(float)
    mods = []
    for k in range(moderators):
        binary = k % 5 == 0
        cols[f"m{k}"] = (rng.random(n) < 0.4).astype(float) if binary else np.round(rng.normal(20, 6, n))
        mods.append({"name": f"mod{k}", "column": f"m{k}", "type": "binary" if binary else "continuous"})
    for o in ("pain", "disability"):
        base = np.round(rng.normal(5, 2, n), 1)
        y = 0.5 * base - 0.5 * treat + 0.02 * treat * cols["m1"] + rng.normal(0, 2, n)
        y[rng.random(n) < 0.15] = np.nan
        cols[f"{o}_0"], cols[f"{o}_12"] = base, y
    frame = pd.DataFrame(cols)
    del cols
    plan = {"data": {"id": "pid", "treatment": "arm", "treated": "treated", "control": "control"},
            "outcomes": [{"name": o, "type": "continuous", "baseline": f"{o}_0", "followups": {"12": f"{o}_12"}}
                         for o in ("pain", "disability")],
            "moderators": mods, "analysis": {"model": "linear"}}
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t = time.perf_counter()
    cpu = time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = em.analyze(frame, plan)
    elapsed = time.perf_counter() - t
    cpu = time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": elapsed, "cpu_seconds": cpu, "peak_mb": peak / 1024, "data_mb": frame.memory_usage(deep=True).sum() / 2**20,
                      "rss_before_mb": before / 1024, "rows": len(res.table)}))


def bench_scale(n: int, moderators: int) -> list[dict]:
    out = subprocess.run([sys.executable, __file__, "--scale-child", str(n), str(moderators)],
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        print(f"  scale run failed: {out.stderr.strip().splitlines()[-1] if out.stderr else out.returncode}")
        return []
    r = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"  scale: {n:,} participants x {moderators} moderators x 2 outcomes x 1 follow-up "
          f"({r['rows']} rows): {r['seconds']:.1f} s ({r['cpu_seconds']:.1f} s of CPU), peak memory {r['peak_mb']:.0f} MB "
          f"(the data frame itself {r['data_mb']:.0f} MB; {r['rss_before_mb']:.0f} MB before the analysis)")
    res = line(f"scale {n:,} participants, {2 * moderators} models", r["seconds"], None,
               f"peak RSS {r['peak_mb']:.0f} MB (target <= 1536 MB)", "target <= 5 s")
    res["peak_mb"] = r["peak_mb"]
    res["cpu_s"] = r["cpu_seconds"]
    return [res]


# ---------------------------------------------------------------- 5. mixed

def bench_mixed(repeats: int, quick: bool) -> list[dict]:
    import statsmodels.api as sm

    from effectmod.models.fit import fit_model
    sim, plan, trial, fitted = resolve_models(model="mixed")
    specs = [f.spec for f in fitted]
    t_ours = median_time(lambda: [fit_model(s, trial, plan) for s in specs], repeats)
    sample = fitted[:1] if quick else fitted
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for fm in sample:
            d = fm.design
            sm.MixedLM(d.y, d.X, groups=d.groups).fit(reml=True)
    ref = (time.perf_counter() - t) / len(sample) * len(fitted)
    how = f"statsmodels MixedLM REML loop: {len(sample)} fits timed" + (
        f", extrapolated to {len(fitted)}" if len(sample) < len(fitted) else "")
    return [line(f"mixed models, {len(fitted)} fits with Satterthwaite df", t_ours, ref, how, "target < 1 s")]


# ---------------------------------------------------------------- 6. start-up

def bench_startup(runs: int) -> list[dict]:
    """`effectmod --help` as a user waits for it: a fresh interpreter each time (median of
    ``runs``), beside a bare interpreter start (`python -c pass`), which effectmod cannot speed up."""
    def wall(cmd: list[str]) -> float:
        times = []
        for _ in range(runs):
            t = time.perf_counter()
            subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
            times.append(time.perf_counter() - t)
        return statistics.median(times)
    ours = wall([sys.executable, "-m", "effectmod", "--help"])
    bare = wall([sys.executable, "-c", "pass"])
    return [line("start-up: effectmod --help", ours, bare,
                 f"reference: a bare `python -c pass` start; median of {runs} fresh processes each",
                 "target <= 0.3 s")]


# ---------------------------------------------------------------- main

def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="small sizes: a smoke run, not a measurement")
    p.add_argument("--repeats", type=int, default=None, help="repeats per item (default 3; 1 with --quick)")
    p.add_argument("--json", metavar="FILE", help="also write the figures to FILE")
    p.add_argument("--skip", default="", help="comma-separated items to skip: startup,bootstrap,cox,families,power,mi,scale,mixed")
    p.add_argument("--scale-child", nargs=2, type=int, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.scale_child:
        scale_child(*args.scale_child)
        return 0
    quick = args.quick
    repeats = args.repeats or (1 if quick else 3)
    skip = set(filter(None, args.skip.split(",")))
    info = machine()
    print("effectmod benchmarks" + (" (--quick: smoke run, figures not meaningful)" if quick else ""))
    for k, v in info.items():
        print(f"  {k}: {v}")
    print(f"  medians over {repeats} repeat(s)\n")
    rows = []
    if "startup" not in skip:
        rows += bench_startup(3 if quick else 7)
    if "bootstrap" not in skip:
        rows += bench_bootstrap(50 if quick else 2000, repeats, quick)
    if "cox" not in skip:
        rows += bench_cox_bootstrap(50 if quick else 2000, repeats, quick)
    if "families" not in skip:
        from families import bench_families
        rows += bench_families(50 if quick else 2000, repeats, quick, median_time, line)
    if "power" not in skip:
        rows += bench_power(100 if quick else 2000, repeats, quick)
    if "mi" not in skip:
        rows += bench_mi(2 if quick else 50, repeats)
    if "scale" not in skip:
        rows += bench_scale(5_000 if quick else 1_000_000, 20)
    if "mixed" not in skip:
        rows += bench_mixed(repeats, quick)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"machine": info, "quick": quick, "repeats": repeats, "items": rows}, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
