"""`effectmod power --scenario survival`: power of the Cox treatment x moderator interaction test
for simulated time-to-event trials (``simulation.survival.SurvivalScenario``: Weibull or
exponential event times, accrual, administrative censoring, dropout), over --n and --interaction
(absolute log ratios of hazard ratios) or --scale (multiples of the scenario's interaction)."""
from __future__ import annotations

import dataclasses
import math
import time
from pathlib import Path

from ..errors import UsageError

# the scenario's keys that --survival may set, and their types
KEYS = {"log_hr": float, "interaction": float, "moderator_effect": float, "moderator": str, "prevalence": float,
        "rate": float, "shape": float, "accrual": float, "follow_up": float, "dropout_rate": float}
DEFAULT = {"log_hr": -0.3, "interaction": -0.5, "accrual": 2.0, "follow_up": 5.0, "rate": 0.15}


def survival_scenario(text: str | None):
    """The scenario of --survival 'key=value,...' (on top of DEFAULT), one problem per line."""
    from ..simulation.survival import SurvivalScenario
    values: dict = dict(DEFAULT)
    problems = []
    for part in filter(None, (p.strip() for p in (text or "").split(","))):
        key, sep, value = part.partition("=")
        key = key.strip()
        if not sep or key not in KEYS:
            problems.append(f"--survival {part!r}: expected KEY=VALUE with KEY one of {', '.join(KEYS)}")
            continue
        if KEYS[key] is str:
            values[key] = value.strip()
            continue
        try:
            values[key] = float(value)
        except ValueError:
            problems.append(f"--survival {key}={value}: not a number")
    sc = SurvivalScenario(**values)
    if sc.moderator not in ("binary", "continuous"):
        problems.append(f"--survival moderator={sc.moderator}: binary or continuous")
    for key in ("rate", "shape", "follow_up"):
        if not (math.isfinite(getattr(sc, key)) and getattr(sc, key) > 0):
            problems.append(f"--survival {key}={getattr(sc, key):g}: a positive number")
    for key in ("accrual", "dropout_rate"):
        if not (math.isfinite(getattr(sc, key)) and getattr(sc, key) >= 0):
            problems.append(f"--survival {key}={getattr(sc, key):g}: 0 or more")
    if not 0 < sc.prevalence < 1:
        problems.append(f"--survival prevalence={sc.prevalence:g}: between 0 and 1")
    if problems:
        raise UsageError(problems)
    return sc


def run_survival_power(args, floats, check_arguments, manifest_of) -> int:
    """``floats``, ``check_arguments`` and ``manifest_of`` are cli.power's number parser, argument
    checks and manifest (passed in: that module calls this one)."""
    from rich.console import Console

    from ..power.survival import survival_power
    from ..writing import check_output_folder, write_power_folder
    started = time.time()
    out = Path(args.out)
    check_arguments(args)
    check_output_folder(out, args.force, ())
    sc = survival_scenario(args.survival)
    if args.moderator or args.outcome:
        raise UsageError("--moderator/--outcome: the survival scenario has one moderator and one outcome; give --interaction alone")
    ns = [int(v) for v in floats(args.n, "--n")]
    if args.interaction is not None and args.scale is not None:
        raise UsageError("--scale and --interaction are alternatives; give one")
    if args.interaction is not None:
        sizes = [(math.nan, v) for v in floats(args.interaction, "--interaction")]
    else:
        sizes = [(k, k * sc.interaction) for k in floats(args.scale or "1", "--scale")]
    import pandas as pd
    rows = []
    for i, n in enumerate(ns):
        for j, (scale, value) in enumerate(sizes):
            res = survival_power(dataclasses.replace(sc, interaction=value), n, args.replicates, args.alpha,
                                 seed=args.seed + 1000 * i + j)
            rows.append({"outcome": "event", "timepoint": "", "moderator": sc.moderator, "n": n, "scale": scale,
                         "true_interaction": value, "power": res["power"], "mcse": res["mcse"],
                         "replicates": res["replicates"], "failed": res["failed"],
                         "mean_estimate": res["mean_estimate"], "mean_events": res["mean_events"]})
    table = pd.DataFrame(rows)

    write_power_folder(out, args.force, {"power.csv": table},
                       {**manifest_of(args, started), "survival_scenario": dataclasses.asdict(sc)})
    console = Console(quiet=args.quiet, highlight=False)
    console.print(f"Cox interaction test (Wald z, alpha {args.alpha:g}); {sc.moderator} moderator; Weibull shape "
                  f"{sc.shape:g}, accrual {sc.accrual:g}, follow-up {sc.follow_up:g}, dropout rate {sc.dropout_rate:g}")
    for r in rows:
        console.print(f"  n {r['n']:>6}  interaction {r['true_interaction']:+.3f}  power {r['power']:.3f} "
                      f"(MC SE {r['mcse']:.3f})  mean events {r['mean_events']:.1f}")
    console.print(f"\nWrote {out}/ (power.csv, manifest.json): {args.replicates} simulated trials per cell, "
                  f"{len(rows)} cells, in {time.time() - started:.1f} s.")
    return 0
