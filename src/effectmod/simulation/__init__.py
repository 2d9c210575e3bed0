"""Simulated trials with known treatment x moderator interactions.

``simulate`` returns the data, the plan that analyses it and the truth (the interactions put
into the data-generating model and the estimands of the model effectmod fits);
``write_simulation`` writes the three beside each other.
"""
from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd
import yaml

from ..errors import UsageError
from ..writing import check_new_files, write_file
from .generate import ESTIMAND_N, ESTIMAND_SEED, Draw, draw, estimands
from .scenarios import SCENARIOS, DropoutMode, Interaction, Scenario

__all__ = ["SCENARIOS", "Draw", "Scenario", "SimulatedTrial", "simulate", "simulate_arrays",
           "write_simulation", "scenario_with"]

MIN_N = 20
DROPOUT_MODES = ("mcar", "mar", "none")
OVERRIDES = ("interaction_scale", "interactions", "dropout")


@dataclass(frozen=True)
class SimulatedTrial:
    """One simulated trial: wide data, the plan that analyses it, and the true parameters."""

    data: pd.DataFrame  # one row per participant
    plan: dict          # CONTRACT §2 plan (plus analysis.sensitivity), ready for yaml.safe_dump
    truth: dict         # JSON-ready: scenario, n, seed, parameters, interactions, estimands


def _parse_key(key: Any, scenario: Scenario) -> tuple[str, str, str]:
    parts = tuple(key.split(":")) if isinstance(key, str) else tuple(key)
    moderators = {m.name for m in scenario.moderators}
    followups = {(o.name, f.timepoint) for o in scenario.outcomes for f in o.followups}
    if len(parts) != 3 or parts[0] not in moderators or tuple(parts[1:]) not in followups:
        raise UsageError(
            f"interactions: unknown key {key!r}; use (moderator, outcome, timepoint) or "
            f"'moderator:outcome:timepoint' with moderator in {sorted(moderators)} and "
            f"outcome:timepoint in {sorted(':'.join(p) for p in followups)}.")
    return parts[0], parts[1], str(parts[2])


def scenario_with(name: str, interaction_scale: float = 1.0,
                  interactions: Mapping | None = None, dropout: str | None = None) -> Scenario:
    """A built-in scenario with its interactions replaced and/or scaled, or another dropout.

    ``interactions`` replaces the scenario's whole set (unlisted ones become 0); keys are
    ``(moderator, outcome, timepoint)`` tuples or ``"moderator:outcome:timepoint"`` strings.
    ``interaction_scale`` then multiplies every interaction (for power studies).
    """
    if name not in SCENARIOS:
        from .counts import COUNT_SCENARIOS
        raise UsageError(f"Unknown scenario {name!r}; choose one of {sorted([*SCENARIOS, *COUNT_SCENARIOS, 'survival'])}.")
    scenario = SCENARIOS[name]
    chosen = scenario.interactions
    if interactions is not None:
        chosen = tuple(Interaction(*_parse_key(k, scenario), float(v), "override")
                       for k, v in interactions.items())
    if interaction_scale != 1.0:
        chosen = tuple(dataclasses.replace(it, value=it.value * float(interaction_scale),
                                           source=f"{it.source}; scaled by {interaction_scale}")
                       for it in chosen)
    if dropout is not None and dropout not in DROPOUT_MODES:
        raise UsageError(f"dropout={dropout!r} is not one of {list(DROPOUT_MODES)}.")
    mode = cast(DropoutMode, dropout) if dropout else scenario.dropout     # one of DROPOUT_MODES
    return dataclasses.replace(scenario, interactions=chosen, dropout=mode)


def simulate(scenario: str = "resolve", n: int = 276, seed: int = 2024,
             **overrides: Any) -> SimulatedTrial:
    """Simulate one trial from a built-in scenario (``SCENARIOS``).

    Overrides: ``interaction_scale`` (multiply every interaction), ``interactions`` (replace
    them; see ``scenario_with``), ``dropout`` ("mcar", "mar" or "none"). The same arguments
    always give the same trial. Allocation is exactly n//2 treated, the rest control.
    """
    _check(n, overrides)
    from .counts import COUNT_SCENARIOS, simulate_count_or_ordinal
    if scenario in COUNT_SCENARIOS:
        if overrides:
            raise UsageError(f"simulate: the {scenario} scenario takes no overrides ({', '.join(overrides)})")
        return SimulatedTrial(*simulate_count_or_ordinal(scenario, int(n), seed))
    if scenario == "survival":
        if overrides:
            raise UsageError(f"simulate: the survival scenario takes no overrides ({', '.join(overrides)})")
        from .survival import simulate_survival
        return SimulatedTrial(*simulate_survival(int(n), seed))
    spec = scenario_with(scenario, **overrides)
    d = draw(spec, int(n), np.random.default_rng(seed), spec.dropout)
    return SimulatedTrial(_frame(spec, d), build_plan(spec, seed), _truth(spec, int(n), seed))


def _check(n: Any, overrides: Mapping) -> None:
    unknown = sorted(set(overrides) - set(OVERRIDES))
    if unknown:
        raise UsageError(f"simulate: unknown option(s) {unknown}; allowed: {list(OVERRIDES)}.")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < MIN_N:
        raise UsageError(f"simulate: n must be a whole number >= {MIN_N}, got {n!r}.")


def simulate_arrays(scenario: str = "resolve", n: int = 276, reps: int = 1000,
                    seed: int = 2024, **overrides: Any) -> tuple[Draw, dict]:
    """Many trials at once as stacked arrays, for power and coverage studies.

    Returns a ``Draw`` whose arrays have shape (reps, n) (treat coded 1/0, binary moderators
    0/1, NaN for missing follow-ups) and the truth dict shared by every replicate. Same
    arguments, same arrays; the replicates differ from ``simulate``'s trials with those seeds.
    """
    _check(n, overrides)
    if isinstance(reps, bool) or not isinstance(reps, (int, np.integer)) or reps < 1:
        raise UsageError(f"simulate_arrays: reps must be a whole number >= 1, got {reps!r}.")
    spec = scenario_with(scenario, **overrides)
    d = draw(spec, int(n), np.random.default_rng(seed), spec.dropout, reps=int(reps))
    return d, _truth(spec, int(n), seed)


# ---------------------------------------------------------------- data, plan, truth

def _frame(scenario: Scenario, d: Any) -> pd.DataFrame:
    n = d.treat.size
    width = max(3, len(str(n)))
    cols: dict[str, Any] = {
        "participant_id": [f"R{i:0{width}d}" for i in range(1, n + 1)],
        "group": np.where(d.treat == 1, scenario.treated, scenario.control),
        "age": d.baseline["age"].astype(np.int64),
        "sex": np.where(d.female, "female", "male"),
    }
    for m in scenario.measures:
        values = d.baseline[m.column]
        cols[m.column] = (np.asarray(m.binary_levels)[values.astype(int)] if m.binary_levels
                          else values.astype(np.int64))
    # Follow-ups stay float64 (NaN = missing) so that numeric code reads them without a
    # missing-value dtype; on the observed scale every value is a whole number.
    for o in scenario.outcomes:
        for f in o.followups:
            cols[f.column] = d.outcomes[f.column]
    return pd.DataFrame(cols)


def build_plan(scenario: Scenario, seed: int) -> dict:
    """The analysis plan (CONTRACT §2) for a scenario's data, as plain dicts and lists."""
    outcomes = []
    for o in scenario.outcomes:
        entry: dict[str, Any] = {"name": o.name, "label": o.label, "type": "continuous"}
        if scenario.observed_scale:
            entry["range"] = [o.low, o.high]
        else:
            # Latent outcomes leave the instrument's range; a range would flag them as errors.
            entry["label"] = f"{o.label}, latent scale"
        entry["better"] = "lower"          # pain and disability scores: lower is better
        entry["baseline"] = o.baseline
        entry["followups"] = {f.timepoint: f.column for f in o.followups}
        outcomes.append(entry)
    moderators = []
    for m in scenario.moderators:
        entry = {"name": m.name, "column": m.column, "type": m.type, "label": m.label}
        if m.reference is not None:
            entry["reference"] = m.reference
        entry["hypothesised_direction"] = m.hypothesised_direction
        entry["rationale"] = m.rationale
        moderators.append(entry)
    return {
        "title": scenario.title,
        "data": {"id": "participant_id", "treatment": "group", "treated": scenario.treated,
                 "control": scenario.control, "time_unit": "weeks"},
        "outcomes": outcomes,
        "moderators": moderators,
        "covariates": [],
        "analysis": {
            "model": "linear", "adjust_for_baseline": True, "ci_level": 0.95,
            "evidence_threshold": 0.05, "exploratory_threshold": 0.20, "se": "classical",
            "multiplicity": "none", "bootstrap": 0, "imputations": 0, "seed": int(seed),
            "sensitivity": ["mixed"],
        },
    }


def _truth(scenario: Scenario, n: int, seed: int) -> dict:
    est = dict(estimands(scenario))
    dgp = {(it.moderator, it.outcome, it.timepoint): it.value for it in scenario.interactions}
    column_of = {m.name: m.column for m in scenario.moderators}
    rows = [{"moderator": m.name, "column": column_of[m.name], "outcome": o.name,
             "timepoint": f.timepoint,
             "dgp_interaction": float(dgp.get((m.name, o.name, f.timepoint), 0.0)),
             "estimand": est[(m.name, o.name, f.timepoint)]}
            for o in scenario.outcomes for f in o.followups for m in scenario.moderators]
    effects = [{"outcome": o.name, "timepoint": f.timepoint, "dgp_effect": f.effect_latent,
                "estimand": est[("average_effect", o.name, f.timepoint)],
                "published_effect": f.target_effect}
               for o in scenario.outcomes for f in o.followups]
    return {
        "scenario": scenario.name,
        "n": n,
        "seed": int(seed),
        "dropout": scenario.dropout,
        "outcome_scale": "observed (rounded, clipped)" if scenario.observed_scale else "latent",
        "definitions": {
            "dgp_interaction": "coefficient of treat x (moderator - its population mean) in the "
                               "latent data-generating model, per unit of the moderator",
            "estimand": "population value of b3 in y_t ~ treat + mod + treat:mod + baseline_y "
                        "(one moderator at a time; baseline once when it is the moderator), "
                        "fitted to the outcome as written in the data; compare estimates "
                        "with this",
            "dgp_effect": "treatment effect in the latent model at the moderators' means",
            "average_effect estimand": "population treatment coefficient of y_t ~ treat + "
                                       "baseline_y on the outcome as written in the data",
        },
        "estimand_source": (f"OLS on one simulated trial of n = {ESTIMAND_N} without dropout "
                            f"(seed {ESTIMAND_SEED})" if scenario.observed_scale
                            or any(it.value for it in scenario.interactions)
                            else "exact: the analysis model is correctly specified"),
        "interactions": rows,
        "average_effects": effects,
        "parameters": _jsonable(dataclasses.asdict(scenario)),
    }


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    return value


# ---------------------------------------------------------------- files

def simulation_paths(out: str | Path) -> list[Path]:
    """The data file ``out`` and, beside it, ``<stem>.plan.yaml`` and ``<stem>.truth.json``."""
    out = Path(out)
    return [out, out.with_name(f"{out.stem}.plan.yaml"), out.with_name(f"{out.stem}.truth.json")]


def _whole_numbers(frame):
    """Whole-number scores as integers ("3", not "3.0"), blanks for missing."""
    data = frame.copy()
    for col in data.columns:
        values = data[col]
        if values.dtype.kind == "f" and np.all(np.isnan(values) | (values == np.round(values))):
            data[col] = values.astype("Int64")
    return data


def simulation_files(trial: SimulatedTrial, name: str) -> dict[str, bytes]:
    """The data as csv (``name``), ``<stem>.plan.yaml`` and ``<stem>.truth.json``, as bytes: what
    `effectmod simulate` writes, and what the demo keeps in its demo-data folder."""
    stem = Path(name).stem
    t = trial.truth
    header = (f"# effectmod analysis plan for the simulated trial {name}\n"
              f"# scenario: {t['scenario']}, n = {t['n']}, seed = {t['seed']}, "
              f"dropout: {t['dropout']}\n"
              f"# the true interactions are in {stem}.truth.json\n")
    plan = header + yaml.safe_dump(trial.plan, sort_keys=False, allow_unicode=True, width=100)
    return {name: _whole_numbers(trial.data).to_csv(index=False).encode("utf-8"),
            f"{stem}.plan.yaml": plan.encode("utf-8"),
            f"{stem}.truth.json": (json.dumps(trial.truth, indent=2, ensure_ascii=False) + "\n").encode("utf-8")}


def write_simulation(trial: SimulatedTrial, out: str | Path, force: bool = False) -> list[Path]:
    """Write the data (csv or parquet, by the extension of ``out``) and, beside it,
    ``<stem>.plan.yaml`` and ``<stem>.truth.json``. Returns the three paths. An existing file
    among the three is an error unless ``force`` (then they are replaced)."""
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise UsageError(f"Cannot write simulated data to {out.name!r}: use a .csv or "
                         f".parquet file name.")
    check_new_files(simulation_paths(out), force)
    out.parent.mkdir(parents=True, exist_ok=True)
    files = simulation_files(trial, out.name)
    _, plan_path, truth_path = simulation_paths(out)
    if suffix == ".csv":
        write_file(out, lambda p: p.write_bytes(files[out.name]), force)
    else:
        data = _whole_numbers(trial.data)
        write_file(out, lambda p: data.to_parquet(p, index=False), force)
    for path in (plan_path, truth_path):
        write_file(path, lambda p, name=path.name: p.write_bytes(files[name]), force)
    return [out, plan_path, truth_path]
