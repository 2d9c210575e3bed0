"""Check a data frame against the plan and code it into a ``TrialData``.

Every problem is collected first and raised together (one line each), so one run tells the
user everything to fix. Problems that only make one model unusable are not raised here: the
analysis goes on and that model's row says why.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import DataError
from ..plan.schema import Plan
from .arms import (
    check_unique_ids,
    count_excluded_arms,
    find_arms,
    merged_spellings,
    near_duplicate_ids,
    participant_values,
    show_spellings,
    treated_keys,
)
from .clusters import cluster_warnings, clusters_per_arm, code_clusters
from .coding import code_covariates, code_moderators, code_outcomes
from .columns import apply_missing_codes, check_columns, without_missing_columns
from .frame_views import COPY_ON_WRITE, columns_copy, integer_ids, rows_in
from .named_values import say_missing_words
from .predictive_columns import check_predictive_columns
from .problems import Problems
from .reshape import long_to_wide
from .trial import DataFlow, TrialData
from .values import RowNames, keys_and_words, keys_of, value_key


def prepare_trial(frame: pd.DataFrame, plan: Plan) -> TrialData:
    """Code ``frame`` for ``plan``. Never modifies ``frame``. Raises DataError with every problem."""
    problems = Problems()
    for text in frame.attrs.get("read_warnings", ()):
        problems.warn(text)         # what reading the file found (encodings), recorded in the data flow
    usable = check_columns(frame, plan, problems)
    if problems:
        # keep checking what the present columns allow, so that one run lists every problem
        checkable = without_missing_columns(plan, usable)
        if checkable is None:
            raise DataError(problems)
        plan = checkable
    keyed: dict[str, np.ndarray] = {}      # columns keyed while looking for missing codes, not keyed again
    frame = apply_missing_codes(frame, plan, problems, keyed)

    rows_in_file = len(frame)
    # ids are text: words like 'NA' mean missing, numbers are compared exactly (no float rounding)
    id_keys = keys_of(frame[plan.data.id], tokens="missing", raw=keyed.get(plan.data.id))
    id_numbers = integer_ids(frame[plan.data.id])
    # an arm the plan names is never a word for missing (control: None); other such words are said
    arm_names = {value_key(a) for a in (*plan.data.treated_arms, plan.data.control) if a is not None}
    treat_keys, words = keys_and_words(frame[plan.data.treatment], keep=arm_names, raw=keyed.get(plan.data.treatment))
    say_missing_words(problems, f"column '{plan.data.treatment}' (plan: data.treatment)", words)
    if plan.data.time is not None:
        # the arm belongs to the participant: a visit row without it takes it from the others
        treat_keys = participant_values(treat_keys, id_keys)
    treated_key, control_key = find_arms(treat_keys, plan, problems)
    merged = merged_spellings(frame[plan.data.id], id_keys)

    participants_in_file = (len(pd.unique(id_numbers)) if id_numbers is not None
                            else len({k for k in id_keys if k is not None}))
    excluded: list[tuple[str, int]] = []
    warnings: list[str] = []
    no_id = id_keys == None     # noqa: E711 (elementwise: the missing keys)
    if no_id.any():
        excluded.append((f"participant id ({plan.data.id}) missing", int(no_id.sum())))

    # with a wrong arm value the named arms' rows are still checked (problems are raised below)
    arm_keys = treated_keys(plan)
    in_arms = np.isin(treat_keys, [k for k in (*arm_keys, control_key) if k is not None]) & ~no_id
    if problems and not in_arms.any():
        raise DataError(problems)   # no row in a named arm: nothing else can be checked
    count_excluded_arms(treat_keys, id_keys, in_arms, no_id, plan, excluded)

    if plan.data.time is not None:
        wide, sources = long_to_wide(frame, id_keys, treat_keys, in_arms, plan, problems)
    else:
        every = bool(in_arms.all())     # then the keys are used as they are (no copy of a million keys)
        wide = rows_in(frame, in_arms)
        wide_ids = id_keys if every else id_keys[in_arms]
        wide_treat = treat_keys if every else treat_keys[in_arms]
        numbers = None if id_numbers is None else id_numbers if every else id_numbers[in_arms]
        check_unique_ids(wide_ids, plan, problems, merged, numbers)
        wide.attrs["row_names"] = RowNames("row ", np.flatnonzero(in_arms) + 1)
        sources = {}
    if wide is None:
        raise DataError(problems)
    if "row_names" not in wide.attrs:
        wide.attrs["row_names"] = RowNames("id ", wide["__id__"].to_numpy(dtype=object))

    if plan.data.time is not None:
        ids = wide["__id__"].to_numpy(dtype=object)
        wide_arms = keys_of(wide[plan.data.treatment], keep=arm_names)
    else:
        # wide data: the ids are the kept rows' keys (no '__id__' column to write them to and read them
        # back), and the rows of the named arms, whose keys are never read as missing, keep their arm keys
        ids, wide_arms = wide_ids, wide_treat
    treat = (wide_arms == treated_key).astype(float)
    # multi-arm: the arm of each participant (control 0, treated arms 1..k in plan order)
    arm = np.zeros(len(wide_arms), dtype=int)
    for code, key in enumerate(arm_keys, start=1):
        arm[wide_arms == key] = code
    if plan.data.multi_arm:
        treat = (arm > 0).astype(float)
    warnings += near_duplicate_ids(ids) if id_numbers is None else []     # whole numbers differ in digits only
    if merged and plan.data.time is not None:
        warnings.append(f"column '{plan.data.id}' (plan: data.id): ids written differently are read as one participant "
                        f"(spaces, invisible characters or Unicode forms differ): {show_spellings(merged)}")

    cluster, cluster_labels = code_clusters(frame, id_keys, in_arms, ids, plan.data.cluster, problems)
    outcomes = code_outcomes(wide, plan, sources, problems)
    moderators = code_moderators(wide, plan, problems)
    covariates = code_covariates(wide, plan, problems)
    check_predictive_columns(wide, plan, problems)
    if problems:
        raise DataError(problems)

    if cluster is not None:
        warnings += cluster_warnings(cluster, plan)
    flow = DataFlow(
        rows_in_file=rows_in_file,
        participants_in_file=participants_in_file,
        arms={"treated": int(treat.sum()), "control": int((1 - treat).sum())},
        arm_values={"treated": ", ".join(str(k) for k in arm_keys) if plan.data.multi_arm else str(treated_key),
                    "control": str(control_key)},
        treated_arms={str(k): int((arm == c).sum()) for c, k in enumerate(arm_keys, start=1)} if plan.data.multi_arm else {},
        excluded=excluded,
        warnings=warnings + problems.warnings,
        clusters=clusters_per_arm(cluster, treat) if cluster is not None else None,
        missing_words=list(problems.notes),
    )
    base_cols = list(dict.fromkeys(
        [m.column for m in plan.moderators] + plan.covariate_columns()
        + [o.baseline for o in plan.outcomes if o.baseline is not None and plan.data.time is None and o.baseline in wide.columns]
        + [c for c in plan.predictive_columns() if c in wide.columns]))
    baseline_frame = columns_copy(wide, base_cols)
    baseline_frame.insert(0, "treat", treat)
    return TrialData(ids=ids, treat=treat, outcomes=outcomes, moderators=moderators,
                     covariates=covariates, flow=flow, baseline_frame=baseline_frame,
                     cluster=cluster, cluster_labels=cluster_labels,
                     arm=arm if plan.data.multi_arm else None,
                     arm_labels=tuple(str(k) for k in arm_keys) if plan.data.multi_arm else (),
                     source_rows=columns_copy(wide, [c for c in plan.data_columns() if c in wide.columns]) if COPY_ON_WRITE else None)

