"""`effectmod power --clusters ...`: how many clusters of what size for an interaction in a
cluster-randomised trial (``power.clusters``), printed and written to power.csv."""
from __future__ import annotations

import math
import time
from pathlib import Path

from ..errors import UsageError


def add_cluster_arguments(p) -> None:
    g = p.add_argument_group("cluster-randomised trials (instead of --scenario/--pilot)")
    g.add_argument("--clusters", help="comma-separated numbers of clusters (randomised 1:1), e.g. 20,30,40")
    g.add_argument("--cluster-size", default="20", help="comma-separated participants per cluster (default 20)")
    g.add_argument("--icc", type=float, default=0.05, help="intra-cluster correlation of the outcome (default 0.05)")
    g.add_argument("--moderator-icc", type=float, default=0.2,
                   help="share of the moderator's variance between clusters (default 0.2)")


def _whole(text: str, flag: str, low: int) -> tuple[int, ...]:
    try:
        values = [float(v) for v in str(text).split(",") if v.strip()]
    except ValueError:
        values = []
    if not values or any(not (math.isfinite(v) and v.is_integer() and low <= v <= 100_000) for v in values):
        raise UsageError(f"{flag} {text}: give comma-separated whole numbers of at least {low}")
    return tuple(int(v) for v in values)


def _manifest(args, started: float) -> dict:
    """manifest.json of the folder (as `effectmod power` writes it; it marks the folder as effectmod's)."""
    from .._version import __version__
    stamp = lambda t: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))  # noqa: E731
    arguments = {k: v for k, v in sorted(vars(args).items()) if k != "command" and not callable(v)}
    return {"effectmod_version": __version__, "command": "power", "arguments": arguments, "seed": args.seed,
            "started": stamp(started), "finished": stamp(time.time())}


def run_cluster_power(args) -> int:
    from rich.console import Console

    from ..counts import checked_seed
    from ..writing import check_output_folder, write_power_folder
    started = time.time()
    problems = []
    for flag, value in (("--scenario", args.scenario != "resolve"), ("--pilot", args.pilot), ("--scale", args.scale),
                        ("--moderator", args.moderator), ("--target", args.target)):
        if value:
            problems.append(f"{flag}: not used with --clusters (a cluster trial is simulated from --clusters, "
                            "--cluster-size, --icc, --moderator-icc and --interaction)")
    try:
        clusters = _whole(args.clusters, "--clusters", 4)
        sizes = _whole(args.cluster_size, "--cluster-size", 2)
    except UsageError as exc:
        problems += exc.problems
        clusters = sizes = ()
    try:
        interactions = tuple(float(v) for v in str(args.interaction or "0.25").split(",") if v.strip())
        if not interactions or not all(math.isfinite(v) for v in interactions):
            raise ValueError
    except ValueError:
        problems.append(f"--interaction {args.interaction}: interaction sizes are finite numbers (per SD of the moderator)")
        interactions = ()
    for flag, v in (("--icc", args.icc), ("--moderator-icc", args.moderator_icc)):
        if not (math.isfinite(v) and 0 <= v < 1):
            problems.append(f"{flag} {v:g}: an intra-cluster correlation lies in [0, 1)")
    if args.replicates < 10:
        problems.append("--replicates: at least 10 simulated trials per cell")
    if not (math.isfinite(args.alpha) and 0 < args.alpha < 1):
        problems.append(f"--alpha {args.alpha:g}: the significance level lies between 0 and 1 (e.g. 0.05)")
    try:
        checked_seed(args.seed, "--seed")
    except UsageError as exc:
        problems += exc.problems
    if problems:
        raise UsageError(problems)
    out = Path(args.out)
    check_output_folder(out, args.force, ())
    from ..power.clusters import cluster_power
    table = cluster_power(clusters, sizes, interactions, icc=args.icc, moderator_icc=args.moderator_icc,
                          replicates=args.replicates, alpha=args.alpha, seed=args.seed)

    write_power_folder(out, args.force, {"power.csv": table}, _manifest(args, started))
    console = Console(quiet=args.quiet, highlight=False)
    console.print(f"Power of the treatment x moderator test in a cluster-randomised trial (CR2, Satterthwaite df; "
                  f"outcome ICC {args.icc:g}, moderator ICC {args.moderator_icc:g}, alpha {args.alpha:g}; interaction per SD "
                  "of the moderator, outcome residual SD 1)")
    console.print(f"{'clusters':>8} {'size':>5} {'n':>6} {'interaction':>11} {'power':>6} {'mcse':>6} {'DE(ate)':>8} {'DE(int)':>8}")
    for r in table.itertuples():
        console.print(f"{r.clusters:>8} {r.cluster_size:>5} {r.n:>6} {r.interaction:>11g} {r.power:>6.3f} {r.mcse:>6.3f} "
                      f"{r.design_effect_ate:>8.2f} {r.design_effect_interaction:>8.2f}")
    console.print(f"\nWrote {out}/ (power.csv, manifest.json): {args.replicates} simulated trials per cell, "
                  f"{len(table)} cells, in {time.time() - started:.1f} s.")
    return 0
