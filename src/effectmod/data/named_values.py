"""Values the plan names for a column (ordinal levels, a binary event, a reference level, the arms),
which are never read as a word for missing in that column, and the warning said when a word for
missing ('None', 'null', 'N/A', ...) turns cells of a column into missing values."""
from __future__ import annotations

from ..plan.schema import Plan, covariate_column
from .problems import Problems, token_counts
from .values import value_key


def _keys(values) -> set[str]:
    return {k for v in values if v is not None and (k := value_key(v)) is not None}


def outcome_values(o) -> set[str]:
    """The values an outcome's plan entry names for its columns: ordinal levels, a binary event."""
    if o.type == "time_to_event":
        return _keys([o.event_value])
    if o.type == "ordinal":
        return _keys(o.levels or [])
    if o.type == "binary" and o.derive is None:
        return _keys([o.event])
    return set()


def named_values(plan: Plan) -> dict[str, set[str]]:
    """Column -> the values the plan names for it (never missing there, whatever the word)."""
    out: dict[str, set[str]] = {}

    def add(col, keys: set[str]) -> None:
        if col is not None and keys:
            out.setdefault(str(col), set()).update(keys)

    add(plan.data.treatment, _keys([*plan.data.treated_arms, plan.data.control]))
    long = plan.data.time is not None
    for o in plan.outcomes:
        if o.derive is not None:
            continue
        keys = outcome_values(o)
        if o.type == "time_to_event":
            add(o.event, keys)
            continue
        cols = [o.column] if long else [*(o.followups or {}).values(), o.baseline]
        for col in cols:
            add(col, keys)
    for m in plan.moderators:
        add(m.column, _keys([m.reference]))
    for c in plan.covariates:
        if not isinstance(c, str):
            add(covariate_column(c), _keys([c.reference]))
    return out


def say_missing_words(problems: Problems, shown: str, words: dict[str, int], number_column: bool = True) -> None:
    """Say that words for missing turned cells of a column into missing values, never silently:
    in a column of numbers (as R and pandas write a missing number) the data flow records it; in a
    column of text levels, where the word may be a level ('none' of an ordinal scale), a warning does."""
    if not words:
        return
    if number_column:
        problems.note(f"{shown}: {token_counts(words)} read as missing (a word for a missing value in a column of numbers)")
        return
    problems.warn(f"{shown}: {token_counts(words)} read as missing (a word for a missing value); if "
                  f"{'it is' if len(words) == 1 else 'they are'} a category, name "
                  f"{'it' if len(words) == 1 else 'them'} in the plan (the outcome's levels or event, the reference), "
                  "else add it to data.missing_codes to confirm")
