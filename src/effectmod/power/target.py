"""Target power: the smallest sample size of a power table's grid that reaches a power, with
Wilson intervals of the simulated powers."""
from __future__ import annotations

import math

import pandas as pd

TARGET_COLUMNS = ("outcome", "timepoint", "moderator", "scale", "generating_interaction", "analysis_estimand",
                  "target", "n_reached", "power", "power_ci_low", "power_ci_high", "n_interpolated",
                  "n_interval_low", "n_interval_high", "note")
WILSON_Z = 1.959963984540054   # a 95% Wilson interval of each simulated power


def wilson(hits: float, replicates: int, z: float = WILSON_Z) -> tuple[float, float]:
    """Wilson score interval of a proportion hits/replicates."""
    p = hits / replicates
    centre = (p + z * z / (2 * replicates)) / (1 + z * z / replicates)
    half = z / (1 + z * z / replicates) * math.sqrt(p * (1 - p) / replicates + z * z / (4 * replicates ** 2))
    return max(0.0, centre - half), min(1.0, centre + half)


def _crossing(ns, values, target: float) -> float:
    """The smallest n at which a curve over the grid reaches target, linear between grid points;
    the first n when it starts at or above target; NaN when it never does."""
    for k, (n, v) in enumerate(zip(ns, values)):
        if v >= target:
            if k == 0:
                return float(n)
            n0, v0 = ns[k - 1], values[k - 1]
            return float(n0 + (target - v0) * (n - n0) / (v - v0))
    return math.nan


def target_table(table: pd.DataFrame, target: float) -> pd.DataFrame:
    """For every interaction test (outcome x follow-up x moderator x size) of a power table, the
    smallest sample size that reaches ``target`` power (TARGET_COLUMNS).

    ``n_reached`` is the smallest n of the grid whose simulated power is at least ``target``, with
    the 95% Wilson interval of that power (``power_ci_low``, ``power_ci_high``). ``n_interpolated``
    is where the power curve crosses ``target``, interpolated linearly in n between grid points;
    ``n_interval_low`` and ``n_interval_high`` are where the upper and the lower Wilson bounds cross
    it, the range of n that the simulation cannot tell apart from the crossing (empty when a bound
    does not cross within the grid).
    """
    rows = []
    keys = ["outcome", "timepoint", "moderator", "scale", "generating_interaction"]
    for _, sub in table.groupby(keys, sort=False, dropna=False):
        sub = sub.sort_values("n")
        ns = sub["n"].tolist()
        hits = (sub["power"] * sub["replicates"]).round().to_numpy()
        bounds = [wilson(h, int(r)) for h, r in zip(hits, sub["replicates"])]
        power = sub["power"].tolist()
        first = sub.iloc[0]
        row = {k: first[k] for k in keys}
        row.update({"analysis_estimand": first["analysis_estimand"], "target": target,
                    "n_reached": math.nan, "power": math.nan, "power_ci_low": math.nan, "power_ci_high": math.nan,
                    "n_interpolated": _crossing(ns, power, target),
                    "n_interval_low": _crossing(ns, [b[1] for b in bounds], target),
                    "n_interval_high": _crossing(ns, [b[0] for b in bounds], target), "note": ""})
        reached = [k for k, p in enumerate(power) if p >= target]
        if reached:
            k = reached[0]
            row.update({"n_reached": ns[k], "power": power[k], "power_ci_low": bounds[k][0],
                        "power_ci_high": bounds[k][1]})
            if k == 0:
                row["note"] = f"reached at the smallest n of the grid ({ns[0]}); a smaller n may do"
        else:
            row["note"] = f"not reached within the grid (power {max(power):.3f} at best, up to n = {ns[-1]})"
        rows.append(row)
    out = pd.DataFrame(rows, columns=list(TARGET_COLUMNS))
    out["n_reached"] = out["n_reached"].astype("Int64")
    return out
