"""`effectmod power`: arguments, the printed table, power.csv and the power-curve figure."""
from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

from .._version import __version__
from ..errors import UsageError
from .progress import LazyProgress

DESCRIPTION = """\
Simulation-based power of every treatment x moderator interaction test (and, in the same run, of
the average treatment effect) over a grid of sample sizes and interaction sizes.

Where the simulated trials come from (one of):
  --scenario NAME        a built-in scenario (resolve, null): its moderators, outcomes, dropout
                         and interactions; n is the number randomised, each model uses its
                         complete cases, as `effectmod analyze` would.
  --pilot DATA --plan P  the plan's per-follow-up models fitted to a pilot dataset; each model is
                         simulated from its fit: participants' moderator, baseline and covariates
                         resampled from the pilot's complete cases, exact 1:1 allocation, errors
                         resampled from the pilot residuals (--errors residuals, default) or normal
                         with the pilot's residual SD (--errors normal); binary outcomes Bernoulli
                         from the pilot's logistic fit (tested by the logistic Wald test); count
                         outcomes Poisson or negative binomial from the pilot's fit, with the pilot
                         rows' exposures, ordinal outcomes from its proportional-odds fit, and
                         time-to-event outcomes from its Cox fit (Breslow baseline hazard, censoring
                         from the pilot's reverse Kaplan-Meier), each tested by the same model.
                         No dropout: n is the number analysed.

Interaction sizes (one of):
  --scale 0.5,1,1.5      multiply every interaction of the scenario / pilot fit.
  --moderator M --interaction 0.05,0.1
                         set moderator M's interaction to each absolute value (per unit of the
                         moderator; on every outcome, or only --outcome O), others unchanged.

Cluster-randomised trials (instead of a scenario or pilot):
  --clusters 20,30,40 --cluster-size 15,30 --icc 0.05 --moderator-icc 0.2 --interaction 0.25
                         how many clusters of what size: trials with clusters randomised 1:1, a
                         random intercept per cluster and a continuous moderator partly between
                         clusters, analysed with CR2 and Satterthwaite df; power.csv also gives the
                         design effects of the average effect, 1 + (m - 1) ICC, and of the
                         interaction, 1 + (m - 1) ICC x moderator ICC.

Target power:
  --target 0.8           also write target.csv: for each test, the smallest n of the grid whose
                         power reaches the target (with the 95% Wilson interval of that power),
                         the n where the power curve crosses the target (linear between grid
                         points) and the n where the Wilson bounds cross it (its interval).

Output in --out: power.csv (outcome, timepoint, moderator, n, scale, true_interaction, power,
mcse, replicates, ate_power, ate_mcse, true_ate, generating_interaction, analysis_estimand),
power.svg, power.png and manifest.json (and target.csv with --target). mcse is the Monte Carlo
standard error of the power, sqrt(p(1-p)/replicates). Results depend only on --seed, not on
--workers or the scheduler.

Two interaction values: generating_interaction is the value the trials are drawn with (what
--interaction and --scale set: the scenario's latent-model coefficient per unit of the moderator,
or the pilot model's coefficient); analysis_estimand is the population value of the coefficient
the analysis model estimates and tests, which is what the power is the power to detect. With a
pilot they are equal. With a scenario they differ: its latent model holds every moderator's
interaction at once and its outcome is rounded and clipped to the instrument's range, while the
analysis model takes one moderator at a time on the observed scores (so --interaction 0.05 can
give an analysis_estimand of 0.06, or of -0.02 where correlated moderators' interactions pull the
other way). true_interaction is the analysis_estimand under its old name, kept for one release.
A categorical moderator (with --pilot, linear and logistic models; per comparison in a multi-arm
trial) is tested as the analysis tests it, jointly over its levels (F or Wald chi-square on k-1 interactions); its
interaction values are those of the level whose interaction is largest in size.
"""


def _floats(text: str, what: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in str(text).split(",") if v.strip())
    except ValueError:
        raise UsageError(f"{what} {text!r}: give comma-separated numbers, e.g. 0.5,1,1.5") from None
    if not values:
        raise UsageError(f"{what}: give at least one number")
    return values


def _target(args) -> float | None:
    """--target: a power strictly between 0 and 1, or None."""
    target = getattr(args, "target", None)
    if target is not None and not 0 < target < 1:
        raise UsageError(f"--target {target}: give a power strictly between 0 and 1, e.g. 0.8")
    return target


# one run simulates at most this many trials (grid cells x replicates): beyond it a typo (an extra
# zero in --replicates) would run for days; a trial has at most MAX_N participants
MAX_TRIALS = 10_000_000
MAX_N = 100_000
_DASK_SCHEMES = ("tcp", "tls", "ws", "wss", "ucx", "inproc")


def check_power_arguments(args) -> None:
    """Every problem with the numbers and addresses given to `effectmod power`, one line each
    (UsageError), before anything is simulated: no NaN, infinite or negative sizes, whole sample
    sizes in range, a run of bounded size, a seed numpy takes and a Dask scheduler address."""
    from ..counts import checked_seed
    from ..errors import UsageError

    problems: list[str] = []

    def numbers(text, flag) -> tuple[float, ...]:
        try:
            return _floats(text, flag) if text is not None else ()
        except UsageError as exc:
            problems.extend(exc.problems)
            return ()

    ns = numbers(args.n, "--n")
    bad = [v for v in ns if not (math.isfinite(v) and v.is_integer() and 20 <= v <= MAX_N)]
    if bad:
        problems.append(f"--n {args.n}: sample sizes are whole numbers from 20 to {MAX_N:,}; got "
                        + ", ".join(f"{v:g}" for v in bad))
    scales = numbers(args.scale, "--scale")
    bad = [v for v in scales if not (math.isfinite(v) and v >= 0)]
    if bad:
        problems.append(f"--scale {args.scale}: multipliers of the interactions are finite numbers, 0 or more (0 = no "
                        "interaction; for the opposite direction give --interaction with a negative size); got "
                        + ", ".join(f"{v:g}" for v in bad))
    sizes = numbers(args.interaction, "--interaction")
    bad = [v for v in sizes if not math.isfinite(v)]
    if bad:
        problems.append(f"--interaction {args.interaction}: interaction sizes are finite numbers; got "
                        + ", ".join(f"{v:g}" for v in bad))
    cells = len(ns) * max(len(scales) + len(sizes), 1)
    if args.replicates >= 10 and cells * args.replicates > MAX_TRIALS:
        problems.append(f"--replicates {args.replicates:,} x {cells:,} grid cell(s) = {cells * args.replicates:,} simulated "
                        f"trials, more than one run simulates ({MAX_TRIALS:,}); give fewer replicates or a smaller grid "
                        "(1000-10000 replicates give a Monte Carlo SE of 0.016-0.005)")
    if not (math.isfinite(args.alpha) and 0 < args.alpha < 1):
        problems.append(f"--alpha {args.alpha:g}: the significance level lies between 0 and 1 (e.g. 0.05)")
    try:
        checked_seed(args.seed, "--seed")
    except UsageError as exc:
        problems.extend(exc.problems)
    if args.workers is not None and args.workers < 1:
        problems.append(f"--workers {args.workers}: give 1 or more local processes (1 = serial)")
    elif ns and not args.scheduler and not problems:
        problem = _memory_problem(max(ns), args)
        if problem:
            problems.append(problem)
    if args.scheduler is not None:
        problem = _scheduler_problem(args.scheduler)
        if problem:
            problems.append(f"--scheduler {args.scheduler}: {problem}")
    if problems:
        raise UsageError(problems)


# memory one simulated participant takes in a chunk (all models' columns, Gram matrices): about
# 625 bytes measured with the resolve scenario at n = 20,000; with margin
BYTES_PER_SIMULATED_PARTICIPANT = 800


def _memory_problem(n: float, args) -> str | None:
    """Why the largest trials would not fit this machine's memory (a chunk of trials per process)."""
    import os

    workers = args.workers or os.cpu_count() or 1
    if args.replicates * n * BYTES_PER_SIMULATED_PARTICIPANT * workers < 2**30:
        return None              # fits any machine: no need to load the data reader and the simulator to ask
    from ..data.load import available_memory
    from ..power import CHUNK
    available = available_memory()
    need = min(CHUNK, args.replicates) * n * BYTES_PER_SIMULATED_PARTICIPANT * workers
    if available is None or need <= available:
        return None
    return (f"--n {n:g}: {workers} process(es) each simulating {min(CHUNK, args.replicates)} trials of {n:,.0f} participants "
            f"at once would need about {need / 2**30:.1f} GB of memory, and this machine has {available / 2**30:.1f} GB available; "
            "give smaller sample sizes or fewer --workers")


def _scheduler_problem(address: str) -> str | None:
    """Why ``address`` is not a Dask scheduler address (scheme://host:port), or None."""
    scheme, sep, rest = address.strip().partition("://")
    if not sep:
        scheme, rest = "tcp", address.strip()
    if scheme in ("http", "https"):
        return ("a web address, not a Dask scheduler's; give tcp://HOST:PORT (the scheduler's port, "
                "usually 8786, not the dashboard's 8787)")
    if scheme not in _DASK_SCHEMES:
        return f"unknown scheme '{scheme}://'; a Dask scheduler address looks like tcp://10.0.0.5:8786"
    if scheme == "inproc":
        return None
    host, colon, port = rest.rstrip("/").rpartition(":")
    if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
        return "not HOST:PORT; a Dask scheduler address looks like tcp://10.0.0.5:8786"
    return None


def add_power_arguments(p) -> None:
    p.description = DESCRIPTION
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    src = p.add_argument_group("source of the simulated trials")
    src.add_argument("--scenario", default="resolve", help="built-in scenario: resolve (default), null, or survival "
                                                           "(a time-to-event trial; see --survival)")
    src.add_argument("--survival", default=None, metavar="KEY=VALUE,...",
                     help="--scenario survival: log_hr, interaction, moderator_effect, moderator (binary|continuous), "
                          "prevalence, rate, shape (1 = exponential), accrual, follow_up, dropout_rate")
    src.add_argument("--dropout", default=None, help="scenario dropout: mcar, mar or none (default: the scenario's)")
    src.add_argument("--pilot", metavar="DATA", help="pilot data file; simulate from the plan's models fitted to it")
    src.add_argument("--plan", help="the analysis plan for --pilot")
    src.add_argument("--errors", choices=("residuals", "normal"), default="residuals",
                     help="--pilot errors: resampled pilot residuals (default) or normal")
    grid = p.add_argument_group("grid")
    grid.add_argument("--n", default="276", help="comma-separated sample sizes, e.g. 100,200,276,400 (default 276)")
    grid.add_argument("--scale", default=None, help="comma-separated multipliers of every interaction, e.g. 0.5,1,1.5 (default 1)")
    grid.add_argument("--moderator", help="with --interaction: the moderator whose interaction is set")
    grid.add_argument("--outcome", help="with --interaction: set it on this outcome only (default: every outcome)")
    grid.add_argument("--interaction", help="comma-separated absolute interaction sizes for --moderator, per unit of it")
    grid.add_argument("--replicates", type=int, default=1000, help="simulated trials per grid cell (default 1000)")
    grid.add_argument("--alpha", type=float, default=0.05, help="two-sided significance level (default 0.05)")
    grid.add_argument("--seed", type=int, default=2024, help="seed (default 2024)")
    grid.add_argument("--target", type=float, default=None,
                      help="target power, e.g. 0.8: the smallest n reaching it per test, printed and in target.csv")
    run = p.add_argument_group("where it runs")
    run.add_argument("--workers", type=int, default=None, help="local processes (default: all cores; 1 = serial)")
    run.add_argument("--scheduler", metavar="ADDRESS", help="run on a Dask distributed cluster, e.g. tcp://10.0.0.5:8786")
    run.add_argument("--dask", action="store_true", help="run on a local Dask cluster (one worker per core)")
    from .power_clusters import add_cluster_arguments
    add_cluster_arguments(p)
    out = p.add_argument_group("output")
    out.add_argument("--out", default="effectmod-power", help="output folder (default effectmod-power)")
    out.add_argument("--force", action="store_true", help="replace an earlier --out folder (one with manifest.json)")
    out.add_argument("--quiet", "-q", action="store_true", help="print nothing but errors")


def _grid(args):
    problems = []
    ns = tuple(int(v) for v in _floats(args.n, "--n"))
    if any(n < 20 for n in ns):
        problems.append("--n: every sample size must be at least 20")
    if args.interaction is not None:
        if not args.moderator:
            problems.append("--interaction needs --moderator NAME (the moderator whose interaction is set)")
        if args.scale is not None:
            problems.append("--scale and --interaction are alternatives; give one")
        sizes = [(None, v, args.moderator, args.outcome) for v in _floats(args.interaction, "--interaction")]
    else:
        if args.moderator or args.outcome:
            problems.append("--moderator/--outcome go with --interaction VALUES")
        sizes = [(v,) for v in _floats(args.scale or "1", "--scale")]
    if args.replicates < 10:
        problems.append("--replicates: at least 10 simulated trials per cell")
    if not 0 < args.alpha < 1:
        problems.append("--alpha: between 0 and 1")
    if bool(args.pilot) != bool(args.plan):
        problems.append("--pilot DATA and --plan PLAN go together")
    if problems:
        raise UsageError(problems)
    from ..power import PowerGrid, Size  # after the checks: an argument error loads no scipy
    return PowerGrid(ns, tuple(Size(*size) for size in sizes), args.replicates, args.seed, args.alpha)


def _source(args):
    from ..power import ScenarioSource, pilot_source
    if args.pilot:
        source = pilot_source(args.pilot, args.plan, errors=args.errors)
        names = {m.moderator for m in source.models} - {""}
        outcomes = {m.outcome for m in source.models}
    else:
        from ..simulation import DROPOUT_MODES, SCENARIOS
        if args.scenario not in SCENARIOS:
            raise UsageError(f"--scenario {args.scenario!r}: choose one of {sorted(SCENARIOS)}")
        if args.dropout not in (None, *DROPOUT_MODES):
            raise UsageError(f"--dropout {args.dropout!r}: choose one of {', '.join(DROPOUT_MODES)}")
        source = ScenarioSource(args.scenario, args.dropout)
        names = {m.name for m in SCENARIOS[args.scenario].moderators}
        outcomes = {o.name for o in SCENARIOS[args.scenario].outcomes}
    if args.moderator and args.moderator not in names:
        raise UsageError(f"--moderator {args.moderator!r}: not a moderator here; choose one of {sorted(names)}")
    if args.outcome and args.outcome not in outcomes:
        raise UsageError(f"--outcome {args.outcome!r}: choose one of {sorted(outcomes)}")
    return source


def run_power(args) -> int:
    if getattr(args, "clusters", None):
        from .power_clusters import run_cluster_power
        return run_cluster_power(args)
    if getattr(args, "scenario", None) == "survival" and not args.pilot:
        from .survival_power import run_survival_power
        return run_survival_power(args, _floats, check_power_arguments, power_manifest)
    from ..writing import check_output_folder, write_power_folder
    started = time.time()
    out = Path(args.out)
    inputs = (args.pilot, args.plan)
    check_power_arguments(args)
    check_output_folder(out, args.force, inputs)
    grid = _grid(args)
    from rich.console import Console

    from ..power import simulate_power, target_table
    from .console import escaped
    target = _target(args)
    source = _source(args)
    console = Console(quiet=args.quiet, highlight=False)
    client = cluster = None
    if args.scheduler or args.dask:
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError:
            raise UsageError("--scheduler/--dask need dask.distributed: pip install 'effectmod[dask]'") from None
        if args.scheduler:
            try:
                client = Client(args.scheduler)
            except (OSError, TimeoutError) as exc:
                raise UsageError(f"--scheduler {args.scheduler}: no Dask scheduler answered there "
                                 f"({str(exc).splitlines()[0] if str(exc) else type(exc).__name__}); "
                                 "check the address and that the scheduler runs") from None
        else:
            cluster = LocalCluster(processes=True, host="127.0.0.1", dashboard_address=None)
            client = Client(cluster)
    try:
        with LazyProgress(console) as progress:
            table = simulate_power(source, grid, workers=args.workers, client=client, progress=progress.update)
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
    if args.moderator:
        table = table[table["moderator"] == args.moderator].reset_index(drop=True)

    targets = target_table(table, target) if target is not None else None

    svg, png = power_figure(table)
    write_power_folder(out, args.force, {"power.csv": table, **({"target.csv": targets} if targets is not None else {})},
                       power_manifest(args, started), inputs=inputs, extra={"power.svg": svg, "power.png": png})
    print_power(console, table)
    if targets is not None:
        print_target(console, targets, table)
    joint = sorted({m.moderator for m in getattr(source, "models", ()) if m.joint})
    if joint:
        console.print(f"{', '.join(joint)} (categorical): power of the joint test of the level interactions (F, or "
                      "Wald chi-square for binary outcomes); the interaction shown is the level's largest in size.")
    if getattr(source, "skipped", ()):
        console.print("Not simulated (a categorical moderator's joint test of its levels is simulated for linear and "
                      "logistic models only): " + ", ".join(source.skipped))
    files = "power.csv, " + ("target.csv, " if targets is not None else "") + "power.svg, power.png, manifest.json"
    console.print(f"\nWrote [bold]{escaped(str(out))}[/bold]/ ({files}): {grid.replicates} simulated trials "
                  f"per cell, {len(grid.ns) * len(grid.sizes)} cells, in {time.time() - started:.1f} s.")
    return 0


def power_manifest(args, started: float) -> dict:
    """manifest.json of a power folder: what produced it (it also marks the folder as effectmod's,
    which `--force` may replace)."""
    stamp = lambda t: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))  # noqa: E731
    arguments = {k: v for k, v in sorted(vars(args).items()) if k != "command" and not callable(v)}
    return {"effectmod_version": __version__, "command": "power", "arguments": arguments, "seed": args.seed,
            "started": stamp(started), "finished": stamp(time.time())}


# below this many columns the power tables take their compact form: no box, the outcome,
# follow-up and moderator in one wrapping column, short headers spelled out under the table
WIDE = 150


def _table(console, title: str, wide_heads: tuple[str, ...], narrow_heads: tuple[str, ...], texts: int):
    """A rich Table for the power printouts: ``texts`` leading text columns (outcome, follow-up,
    moderator), then numbers that never wrap (``narrow_heads``: their short headers). At narrow
    widths the text columns are one, which wraps."""
    from rich import box
    from rich.table import Table
    wide = console.width >= WIDE
    t = Table(title=title, title_justify="left", box=box.HEAVY_HEAD if wide else None, padding=(0, 1),
              pad_edge=wide, collapse_padding=not wide)
    if wide:
        for col in wide_heads[:texts]:
            t.add_column(col, overflow="fold")
    else:
        t.add_column(", ".join(wide_heads[:texts]), overflow="fold")
    for col in (wide_heads[texts:] if wide else narrow_heads):
        t.add_column(col, justify="right", no_wrap=True)
    return t, wide


def _row(wide: bool, texts: list[str], numbers: list[str]) -> list[str]:
    from .console import escaped
    texts = [escaped(x) for x in texts]
    # narrow: an empty follow-up (a Cox model: the whole follow-up) is left out of the joined label
    return texts + numbers if wide else [", ".join(x for x in texts if x)] + numbers


def print_power(console, table) -> None:
    t, wide = _table(console, "Power of the interaction tests (± Monte Carlo SE)",
                     ("outcome", "follow-up", "moderator", "n", "scale", "generating interaction", "analysis estimand",
                      "power", "ATE power"),
                     ("n", "scale", "generating", "estimand", "power", "ATE power"), 3)
    for r in table.itertuples(index=False):
        t.add_row(*_row(wide, [r.outcome, str(r.timepoint), r.moderator],
                        [str(r.n), "" if math.isnan(r.scale) else f"{r.scale:g}",
                         f"{r.generating_interaction:.4g}", f"{r.analysis_estimand:.4g}",
                         f"{r.power:.3f} ± {r.mcse:.3f}", f"{r.ate_power:.3f} ± {r.ate_mcse:.3f}"]))
    console.print(t)
    if not wide:
        console.print("generating: generating interaction; estimand: analysis estimand; power and ATE power "
                      "(the average treatment effect's test) ± their Monte Carlo SE.")
    console.print(ESTIMAND_NOTE)


ESTIMAND_NOTE = (
    "generating interaction: the value the simulated trials are drawn with (set by --scale/--interaction). "
    "analysis estimand: the population value of the interaction the analysis model estimates and tests; the power "
    "is the power to detect it. For a scenario they differ: the analysis model takes one moderator at a time "
    "(picking up correlated moderators' interactions) on outcomes rounded and clipped to the instrument's range; "
    "with --pilot they are equal. power.csv also keeps true_interaction "
    "(= analysis_estimand, its old name) for one release.")


def print_target(console, targets, table) -> None:
    """The target table as printed: n not reached within the grid shows as '> largest n'."""
    import pandas as pd
    from rich.markup import escape

    target = targets["target"].iloc[0] if len(targets) else math.nan
    t, wide = _table(console, f"Smallest n reaching power {target:g}",
                     ("outcome", "follow-up", "moderator", "scale", "generating interaction", "n (grid)", "power [95% CI]",
                      "n (interpolated) \\[interval]"),
                     ("scale", "generating", "n\n(grid)", "power\n\\[95% CI]", "n (interp.)\n\\[interval]"), 3)

    def n_text(x) -> str:
        return "" if pd.isna(x) else f"{x:.0f}"
    keys = ["outcome", "timepoint", "moderator", "scale", "generating_interaction"]
    best = {k: g["power"].max() for k, g in table.groupby(keys, sort=False, dropna=False)}
    largest = int(table["n"].max()) if len(table) else 0
    for r in targets.itertuples(index=False):
        reached = not pd.isna(r.n_reached)
        power = (f"{r.power:.3f} [{r.power_ci_low:.3f}, {r.power_ci_high:.3f}]" if reached
                 else f"best {best.get((r.outcome, r.timepoint, r.moderator, r.scale, r.generating_interaction), math.nan):.3f}")
        interval = (f"{n_text(r.n_interpolated)} [{n_text(r.n_interval_low) or '?'}, {n_text(r.n_interval_high) or '?'}]"
                    if not math.isnan(r.n_interpolated) else "")
        t.add_row(*_row(wide, [r.outcome, str(r.timepoint), r.moderator],
                        ["" if pd.isna(r.scale) else f"{r.scale:g}", f"{r.generating_interaction:.4g}",
                         str(r.n_reached) if reached else f"> {largest}", escape(power), escape(interval)]))
    console.print(t)
    console.print("n (grid): the smallest n of the grid whose simulated power reaches the target, with the 95% "
                  "Wilson interval of that power. n (interpolated): where the power curve crosses the target, "
                  "linear between grid points; \\[interval]: where the upper and lower Wilson bounds cross it "
                  "(? = not within the grid).")


def power_figure(table) -> tuple[bytes, bytes]:
    """Power against n: one panel per outcome x follow-up, one line per moderator and size.
    Returns the SVG and PNG bytes, drawn in the report's style (deterministic SVG)."""
    from matplotlib.figure import Figure

    from ..report.figures import literal, svg_and_png
    panels = list(dict.fromkeys(zip(table["outcome"], table["timepoint"])))
    fig = Figure(figsize=(4.2 * len(panels), 3.8))
    axes = fig.subplots(1, len(panels), sharey=True, squeeze=False)
    size_col = "scale" if table["scale"].notna().any() else "generating_interaction"
    sizes = list(dict.fromkeys(table[size_col]))
    styles = ["-", "--", ":", "-."]
    for ax, (outcome, timepoint) in zip(axes[0], panels):
        sub = table[(table["outcome"] == outcome) & (table["timepoint"] == timepoint)]
        for k, (moderator, rows) in enumerate(sub.groupby("moderator", sort=False)):
            for s, size in enumerate(sizes):
                r = rows[rows[size_col] == size].sort_values("n")
                label = literal(f"{moderator}" + (f" ×{size:g}" if size_col == "scale" else f" = {size:g}"))
                ax.errorbar(r["n"], r["power"], yerr=1.96 * r["mcse"], color=f"C{k % 10}",
                            linestyle=styles[s % len(styles)], marker="o", markersize=3, capsize=2, label=label)
        ate = sub.drop_duplicates("n").sort_values("n")
        ax.plot(ate["n"], ate["ate_power"], color="black", linewidth=2, label="average effect")
        ax.axhline(0.8, color="grey", linewidth=0.8, linestyle=":")
        ax.set_title(literal(f"{outcome}, follow-up {timepoint}"))
        ax.set_xlabel("n")
        ax.set_ylim(0, 1)
    axes[0][0].set_ylabel("power (±1.96 MCSE)")
    handles, labels = axes[0][-1].get_legend_handles_labels()
    fig.legend(handles, labels, loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=7, frameon=False)
    return svg_and_png(fig, dpi=120)
