"""`effectmod power`: arguments and entry point."""
from __future__ import annotations


def add_power_arguments(p) -> None:
    p.add_argument("--scenario", default="resolve", help="built-in scenario (default resolve)")
    p.add_argument("--n", default="276", help="comma-separated sample sizes, e.g. 200,276,400")
    p.add_argument("--scale", default="1", help="comma-separated multipliers of the scenario's interactions, e.g. 0.5,1,1.5")
    p.add_argument("--replicates", type=int, default=1000, help="simulated trials per grid cell (default 1000)")
    p.add_argument("--seed", type=int, default=2024)
    p.add_argument("--out", default="effectmod-power", help="output folder (default effectmod-power)")
    p.add_argument("--force", action="store_true")
    p.add_argument("--quiet", "-q", action="store_true")


def run_power(args) -> int:
    from .errors import UsageError
    raise UsageError("effectmod power: not available in this version")
