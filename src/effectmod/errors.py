"""The errors and warnings effectmod raises to its users.

Every problem with a user's input is an ``EffectmodError``. Plan and data problems are
collected before they are raised, so one run lists them all (``problems``, one line each).
"""
from __future__ import annotations


class EffectmodError(Exception):
    """Base of every error effectmod raises on purpose; carries one line per problem."""

    def __init__(self, problems: str | list[str]):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


class PlanError(EffectmodError, ValueError):
    """The analysis plan is malformed or inconsistent."""


class DataError(EffectmodError, ValueError):
    """The data file cannot be read or does not fit the plan."""


class UsageError(EffectmodError, ValueError):
    """Command-line arguments or output locations are unusable."""


class ConvergenceWarning(UserWarning):
    """An iterative fit did not reach its tolerance; the row's note says so too."""
