"""Reading a Parquet file or a directory of Parquet files batch by batch, and coding each batch.

Pass 1 (``survey``) reads the plan's columns once and collects what data preparation needs: the
columns' presence and types, the arms present, the levels of binary and categorical moderators,
the range of each continuous moderator (its centre), whether a moderator is its outcome's baseline
(or an exact affine copy of it, from moments), and the row counts of the data flow. Pass 2 codes
each batch with those (``code_batch``) exactly as ``data.prepare`` codes the whole table.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..data.arms import find_arms
from ..data.coding import column_numbers
from ..data.columns import apply_missing_codes
from ..data.problems import Problems
from ..data.values import keys_and_words, keys_of, sort_levels, value_key
from ..errors import DataError, PlanError
from ..plan.schema import Plan, covariate_column, covariate_type
from .sums import Moments

BATCH_ROWS = 262_144


def scope_problems(plan: Plan) -> list[str]:
    """What the streamed analysis cannot do, one line each (each names the plan key)."""
    a = plan.analysis
    out = []
    if plan.data.time is not None:
        out.append("data.time: the streamed analysis (--stream) reads wide data only (one row per participant)")
    if plan.data.multi_arm:
        out.append("data.treated: the streamed analysis (--stream) compares two arms only")
    if getattr(plan.data, "cluster", None) is not None:
        out.append("data.cluster: the streamed analysis (--stream) does not fit cluster-randomised trials")
    for i, o in enumerate(plan.outcomes):
        if o.type != "continuous" or o.derive is not None:
            out.append(f"outcomes[{i}].type: the streamed analysis (--stream) fits continuous outcomes only (linear models)")
    if any(m != "linear" for m in a.model_types):
        out.append("analysis.model, analysis.sensitivity: the streamed analysis (--stream) fits linear models only; "
                   "remove mixed")
    if a.se not in ("classical", "HC3"):
        out.append(f"analysis.se: {a.se} needs clusters; the streamed analysis (--stream) gives classical or HC3 standard errors")
    for key in ("bootstrap", "permutations", "imputations"):
        if getattr(a, key) > 0:
            out.append(f"analysis.{key}: resampling and imputation need every participant's row in memory; "
                       "set it to 0 for the streamed analysis (--stream)")
    if plan.predictive is not None:
        out.append("predictive: risk and effect modelling need participant-level data; remove it for the streamed analysis (--stream)")
    for i, entry in enumerate(plan.covariates):
        if covariate_type(entry) not in (None, "continuous", "numeric"):
            out.append(f"covariates[{i}]: the streamed analysis (--stream) takes numeric covariates only")
    return out


def open_dataset(path: str | Path):
    """The pyarrow dataset of a Parquet file or directory (DataError in one line if it is not one)."""
    import pyarrow.dataset as ds
    p = Path(path)
    if not p.exists():
        raise DataError(f"data: '{path}' does not exist")
    if p.is_file() and p.suffix.lower() not in (".parquet", ".pq"):
        raise DataError(f"data: '{path}': the streamed analysis (--stream) reads a Parquet file or a directory of Parquet files")
    try:
        dataset = ds.dataset(str(p), format="parquet")
        if not dataset.files:
            raise DataError(f"data: '{path}' holds no Parquet files")
        dataset.schema
    except DataError:
        raise
    except Exception as exc:      # pyarrow's errors for an unreadable file are of several types
        raise DataError(f"data: '{path}' cannot be read as Parquet ({type(exc).__name__}: {str(exc).splitlines()[0][:200]})") from None
    return dataset


def batches(dataset, columns: list[str], batch_rows: int = BATCH_ROWS):
    """The plan's columns, one pandas frame per batch (at most one row group each)."""
    import pyarrow as pa
    try:
        # little read-ahead: pyarrow's defaults (16 batches of 4 files) would hold gigabytes of wide row groups
        for batch in dataset.to_batches(columns=columns, batch_size=batch_rows, batch_readahead=2, fragment_readahead=1):
            if batch.num_rows:
                yield batch.to_pandas()
    except (pa.ArrowException, OSError) as exc:
        # e.g. a file whose column types differ from the first file's
        raise DataError(f"data: a Parquet file cannot be read with the others ({type(exc).__name__}: "
                        f"{str(exc).splitlines()[0][:200]})") from None


@dataclass
class Survey:
    """What pass 1 found."""
    rows: int = 0
    kept: int = 0
    no_id: int = 0
    other_arm: int = 0
    treated_key: str | None = None
    control_key: str | None = None
    arms: dict[str, int] = field(default_factory=dict)
    levels: dict[str, tuple[str, ...]] = field(default_factory=dict)       # moderator name -> ordered levels
    centre: dict[str, float] = field(default_factory=dict)                 # continuous moderator -> centre
    is_baseline: dict[tuple[str, str], bool] = field(default_factory=dict)  # (outcome, moderator) -> no baseline term


def columns_needed(plan: Plan) -> list[str]:
    return plan.data_columns()


def _where(plan: Plan) -> dict[str, str]:
    """The plan key that names each column (the first one)."""
    keys = [(plan.data.id, "data.id"), (plan.data.treatment, "data.treatment")]
    for i, o in enumerate(plan.outcomes):
        keys += [(str(o.baseline), f"outcomes[{i}].baseline")] if o.baseline is not None else []
        keys += [(c, f"outcomes[{i}].followups['{t}']") for t, c in (o.followups or {}).items()]
    keys += [(m.column, f"moderators[{i}].column") for i, m in enumerate(plan.moderators)]
    keys += [(covariate_column(e), f"covariates[{i}]") for i, e in enumerate(plan.covariates)]
    out: dict[str, str] = {}
    for col, where in keys:
        out.setdefault(col, where)
    return out


def check_columns(dataset, plan: Plan) -> None:
    from ..data.load import closest_columns
    present = list(dataset.schema.names)
    where = _where(plan)
    missing = [c for c in columns_needed(plan) if c not in present]
    if missing:
        raise DataError([f"column '{c}' (plan: {where.get(c, 'plan')}) is not in the data.{closest_columns(c, present)}"
                         for c in missing])


def arm_keys(frame: pd.DataFrame, plan: Plan) -> tuple[np.ndarray, np.ndarray]:
    """(arm keys, id keys) of a batch, read as the in-memory preparation reads them."""
    arm_names = {value_key(a) for a in (*plan.data.treated_arms, plan.data.control) if a is not None}
    treat_keys = keys_and_words(frame[plan.data.treatment], keep=arm_names)[0]
    id_keys = keys_of(frame[plan.data.id], tokens="missing")
    return treat_keys, id_keys


def moderator_keys(frame: pd.DataFrame, m) -> np.ndarray:
    """A binary or categorical moderator's level keys in a batch (its plan reference never missing)."""
    keep = {value_key(m.reference)} - {None}
    return keys_and_words(frame[m.column], keep=keep)[0]


@dataclass
class SurveyPart:
    """Pass 1's findings in one part of the data (a file, or all of it); parts merge in any order."""
    rows: int = 0
    no_id: int = 0
    arm_keys: set = field(default_factory=set)
    arm_rows: dict = field(default_factory=dict)      # arm key -> rows with an id
    mod_keys: dict = field(default_factory=dict)      # binary/categorical moderator -> keys seen
    lo: dict = field(default_factory=dict)            # continuous moderator -> smallest value in the arms
    hi: dict = field(default_factory=dict)
    pairs: dict = field(default_factory=dict)         # (outcome, moderator) -> [missing alike, equal, flipped, Moments]

    def merge(self, other: SurveyPart) -> None:
        self.rows += other.rows
        self.no_id += other.no_id
        self.arm_keys |= other.arm_keys
        for k, v in other.arm_rows.items():
            self.arm_rows[k] = self.arm_rows.get(k, 0) + v
        for k, v in other.mod_keys.items():
            self.mod_keys.setdefault(k, set()).update(v)
        for k, v in other.lo.items():
            self.lo[k] = min(self.lo.get(k, np.inf), v)
        for k, v in other.hi.items():
            self.hi[k] = max(self.hi.get(k, -np.inf), v)
        for k, (alike, equal, flip, mom) in other.pairs.items():
            if k not in self.pairs:
                self.pairs[k] = [alike, equal, flip, mom]
                continue
            mine = self.pairs[k]
            mine[0], mine[1], mine[2] = mine[0] and alike, mine[1] and equal, mine[2] and flip
            mine[3].merge(mom)


def _pairs(plan: Plan) -> list:
    return [(o, m) for o in plan.outcomes if o.baseline is not None for m in plan.moderators if m.type != "categorical"]


def survey_part(dataset, plan: Plan, batch_rows: int = BATCH_ROWS) -> SurveyPart:
    """Pass 1 over (a part of) the data."""
    problems = Problems()
    part = SurveyPart(mod_keys={m.name: set() for m in plan.moderators if m.type != "continuous"},
                      lo={m.name: np.inf for m in plan.moderators if m.type == "continuous"},
                      hi={m.name: -np.inf for m in plan.moderators if m.type == "continuous"},
                      pairs={(o.name, m.name): [True, True, True, Moments(2)] for o, m in _pairs(plan)})
    for raw in batches(dataset, columns_needed(plan), batch_rows):
        frame = apply_missing_codes(raw, plan)
        treat_keys, id_keys = arm_keys(frame, plan)
        part.rows += len(frame)
        part.arm_keys.update(k for k in pd.unique(treat_keys) if k is not None)
        no_id = np.array([k is None for k in id_keys], dtype=bool)
        part.no_id += int(no_id.sum())
        for k, v in pd.Series(treat_keys[~no_id], dtype=object).value_counts().items():
            part.arm_rows[k] = part.arm_rows.get(k, 0) + int(v)
        for m in plan.moderators:
            if m.type != "continuous":
                part.mod_keys[m.name].update(k for k in pd.unique(moderator_keys(frame, m)) if k is not None)
        # numbers: checked here once (problems say the batch's row numbers)
        values = {}
        for i, m in enumerate(plan.moderators):
            if m.type == "continuous":
                values[m.name] = column_numbers(frame, m.column, f"moderators[{i}].column", problems, None)
        baselines = {}
        for i, o in enumerate(plan.outcomes):
            for t, col in (o.followups or {}).items():
                column_numbers(frame, col, f"outcomes[{i}].followups['{t}']", problems, o.range)
            if o.baseline is not None:
                baselines[o.name] = column_numbers(frame, str(o.baseline), f"outcomes[{i}].baseline", problems, o.range)
        for i, entry in enumerate(plan.covariates):
            column_numbers(frame, covariate_column(entry), f"covariates[{i}]", problems, None)
        if len(problems):
            raise DataError(list(problems))
        # the arms are known only at the end: collect ranges over the rows with an id and a named arm
        named = [k for k in {value_key(a) for a in (*plan.data.treated_arms, plan.data.control)} if k is not None]
        if plan.data.control is not None:
            in_arms = ~no_id & np.isin(treat_keys, np.array(sorted(named), dtype=object))
        else:       # the control arm is the one other arm (find_arms says so at the end)
            in_arms = ~no_id & np.array([k is not None for k in treat_keys], dtype=bool)
        for m in plan.moderators:
            if m.type == "continuous":
                v = values[m.name][in_arms]
                seen = v[~np.isnan(v)]
                if seen.size:
                    part.lo[m.name] = min(part.lo[m.name], float(seen.min()))
                    part.hi[m.name] = max(part.hi[m.name], float(seen.max()))
        for o, m in _pairs(plan):
            state = part.pairs[(o.name, m.name)]
            a = baselines[o.name][in_arms]
            b = values[m.name][in_arms] if m.type == "continuous" else _binary_codes(frame, m)[in_arms]
            if not np.array_equal(np.isnan(a), np.isnan(b)):
                state[0] = False
            seen = ~np.isnan(a) & ~np.isnan(b)
            state[1] = state[1] and bool(np.array_equal(a[seen], b[seen]))
            state[2] = state[2] and bool(np.array_equal(a[seen], 1.0 - b[seen]))
            state[3].add_block(np.column_stack([a[seen], b[seen]]))
    return part


def finish_survey(part: SurveyPart, plan: Plan) -> Survey:
    """The arms, levels, centres and baseline checks from the merged pass-1 findings."""
    problems = Problems()
    s = Survey(rows=part.rows, no_id=part.no_id)
    treated, control = find_arms(np.array(sorted(part.arm_keys), dtype=object), plan, problems)
    s.arms = {"treated": part.arm_rows.get(treated, 0), "control": part.arm_rows.get(control, 0)}
    s.other_arm = sum(v for k, v in part.arm_rows.items() if k not in (treated, control))
    for i, m in enumerate(plan.moderators):
        if m.type == "continuous":
            lo, hi = part.lo.get(m.name, np.inf), part.hi.get(m.name, -np.inf)
            s.centre[m.name] = 0.5 * (lo + hi) if np.isfinite(lo) else 0.0
            continue
        levels = sort_levels(part.mod_keys.get(m.name, set()))
        if m.type == "binary" and len(levels) > 2:
            problems.add(f"column '{m.column}' (plan: moderators[{i}].column): declared binary but has {len(levels)} levels "
                         f"({', '.join(repr(v) for v in levels[:8])}); declare it categorical or recode it")
            continue
        ref = value_key(m.reference) if m.reference is not None else (levels[0] if levels else None)
        if ref is not None and ref not in levels:
            problems.add(f"moderators[{i}].reference: {m.reference!r} is not a level of column '{m.column}'; "
                         f"levels: {', '.join(repr(v) for v in levels)}")
            continue
        s.levels[m.name] = tuple([ref] + [lv for lv in levels if lv != ref]) if ref is not None else tuple(levels)
    if len(problems):
        raise DataError(list(problems))
    s.treated_key, s.control_key = treated, control
    for o, m in _pairs(plan):
        key = (o.name, m.name)
        alike, equal, flip, mom = part.pairs[key]
        same_column = str(o.baseline) == m.column
        exact = alike and (equal or (m.type == "binary" and flip))
        s.is_baseline[key] = same_column or exact or (m.type == "continuous" and alike and _affine(mom))
    return s


def survey(dataset, plan: Plan, batch_rows: int = BATCH_ROWS) -> Survey:
    """Pass 1 over the data."""
    return finish_survey(survey_part(dataset, plan, batch_rows), plan)


def _affine(mom: Moments) -> bool:
    """An exact affine copy (``models.design.moderator_affine_in_baseline``), judged from moments:
    the largest standardised difference is at least its root mean square, sqrt(2 (1 - |r|)), so a
    correlation this close to +-1 is the only case the row-level rule can accept."""
    from ..models.design import AFFINE_TOL
    if mom.n < 3 or mom.low[0] == mom.high[0] or mom.low[1] == mom.high[1]:
        return False
    C = mom.comoment
    r = C[0, 1] / np.sqrt(C[0, 0] * C[1, 1])
    return bool(np.sqrt(max(0.0, 2.0 * (1.0 - abs(r)))) <= AFFINE_TOL)


def _binary_codes(frame: pd.DataFrame, m) -> np.ndarray:
    """The raw 0/1 reading of a binary moderator for the baseline comparison only (numbers as they are)."""
    return pd.to_numeric(frame[m.column], errors="coerce").astype(float).to_numpy()


def check_scope(plan: Plan) -> None:
    problems = scope_problems(plan)
    if problems:
        raise PlanError(problems)
