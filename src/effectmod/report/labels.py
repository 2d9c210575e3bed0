"""What the report calls an outcome, moderator or covariate: its plan ``label``, else its ``name``.

The one rule, so that a table, a figure, a sentence and the console never name the same thing
two ways. ``label_of`` returns the text as written; the ``*_labels`` maps are made printable
(control characters shown as escapes), ready for tables and figures.
"""
from __future__ import annotations

from .text import printable


def label_of(item) -> str:
    """``item.label`` when the plan gives one (not empty), else ``item.name``: for plan outcomes,
    moderators and covariates and the coded data records that carry both."""
    return item.label or item.name


def outcome_labels(plan) -> dict[str, str]:
    return {o.name: printable(label_of(o)) for o in plan.outcomes}


def moderator_labels(plan) -> dict[str, str]:
    return {m.name: printable(label_of(m)) for m in plan.moderators}
