"""What the report calls an outcome, moderator or covariate: its plan ``label``, else its ``name``.

The one rule, so that a table, a figure, a sentence and the console never name the same thing
two ways. ``label_of`` (defined in ``plan.labels``, below the data and inference layers that
also name things) returns the text as written; the ``*_labels`` maps are made printable
(control characters shown as escapes), ready for tables and figures.
"""
from __future__ import annotations

from ..plan.labels import label_of
from .text import printable

__all__ = ["label_of", "moderator_labels", "outcome_labels"]


def outcome_labels(plan) -> dict[str, str]:
    return {o.name: printable(label_of(o)) for o in plan.outcomes}


def moderator_labels(plan) -> dict[str, str]:
    return {m.name: printable(label_of(m)) for m in plan.moderators}
