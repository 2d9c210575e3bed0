"""`effectmod simulate --scenario cluster`: a cluster-randomised trial (``simulation.cluster``) with
its CR2 plan and truth, from --clusters, --cluster-size, --icc, --moderator-icc, --interaction."""
from __future__ import annotations

import math

from ..errors import UsageError

CLUSTER_FLAGS = ("clusters", "cluster_size", "icc", "moderator_icc", "interaction")


def add_simulate_cluster_arguments(p) -> None:
    g = p.add_argument_group("--scenario cluster (a cluster-randomised trial, half of the clusters treated)")
    g.add_argument("--clusters", type=int, default=None, help="number of clusters (default 40)")
    g.add_argument("--cluster-size", default=None,
                   help="participants per cluster, or LOW-HIGH for sizes drawn uniformly (default 20)")
    g.add_argument("--icc", type=float, default=None, help="intra-cluster correlation of the outcome (default 0.05)")
    g.add_argument("--moderator-icc", type=float, default=None,
                   help="share of the moderator's variance between clusters (default 0.2)")
    g.add_argument("--interaction", type=float, default=None,
                   help="true treatment x moderator interaction per SD of the moderator (default 0)")


def _size(text: str) -> int | tuple[int, int] | None:
    parts = str(text).split("-")
    try:
        values = [float(v) for v in parts]
    except ValueError:
        return None
    if len(values) not in (1, 2) or any(not (math.isfinite(v) and v.is_integer() and 1 <= v <= 100_000) for v in values):
        return None
    if len(values) == 2:
        return (int(values[0]), int(values[1])) if values[0] <= values[1] else None
    return int(values[0])


def cluster_problems(args) -> list[str]:
    """Problems with the cluster options (one line each); empty when they are fine."""
    given = [f"--{f.replace('_', '-')}" for f in CLUSTER_FLAGS if getattr(args, f, None) is not None]
    if args.scenario != "cluster":
        return [f"{flag}: only used with --scenario cluster" for flag in given]
    problems = []
    if args.n is not None:
        problems.append("--n: not used with --scenario cluster (the size is --clusters x --cluster-size)")
    if args.dropout is not None:
        problems.append("--dropout: not used with --scenario cluster (it simulates no missing outcomes)")
    if args.clusters is not None and not 4 <= args.clusters <= 100_000:
        problems.append(f"--clusters {args.clusters}: give a whole number of at least 4")
    if args.cluster_size is not None and _size(args.cluster_size) is None:
        problems.append(f"--cluster-size {args.cluster_size}: give a whole number of at least 1, or LOW-HIGH "
                        f"(e.g. 15-30)")
    for flag, value in (("--icc", args.icc), ("--moderator-icc", args.moderator_icc)):
        if value is not None and not (math.isfinite(value) and 0.0 <= value < 1.0):
            problems.append(f"{flag} {value}: give a number in [0, 1)")
    if args.interaction is not None and not math.isfinite(args.interaction):
        problems.append(f"--interaction {args.interaction}: give a finite number")
    return problems


def simulate_cluster(args):
    """The SimulatedTrial for the checked options (defaults where not given)."""
    from ..simulation.cluster import simulated_cluster_trial
    size = _size(args.cluster_size) if args.cluster_size is not None else 20
    assert size is not None
    trial = simulated_cluster_trial(args.clusters or 40, size,
                                    icc=0.05 if args.icc is None else args.icc,
                                    moderator_icc=0.2 if args.moderator_icc is None else args.moderator_icc,
                                    interaction=args.interaction or 0.0, seed=args.seed)
    if len(trial.data) < 20:
        raise UsageError(f"--clusters x --cluster-size: {len(trial.data)} participants; a simulated trial "
                         f"needs at least 20")
    return trial
