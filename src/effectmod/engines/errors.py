"""Typed engine errors: what an engine raises when a model cannot be estimated.

Callers catch these classes, never messages: ``RankDeficient`` (the design's columns are
linearly dependent under the one rank rule of ``engines.linalg``), ``PerfectFit`` (the outcome is
reproduced exactly, nothing to test), ``NotConverged`` (an iterative fit stopped without meeting
the convergence rule) and ``Separated`` (a binary outcome is predicted perfectly, so maximum
likelihood has no finite optimum). All derive from ``EngineError``; ``RankDeficient`` and
``PerfectFit`` also stay ``ValueError`` subclasses, as their older names ``RankDeficientError`` and
``PerfectFitError`` were.
"""
from __future__ import annotations


class EngineError(Exception):
    """A model the engine cannot estimate (not a bug): the caller reports it or drops that fit."""


class RankDeficient(EngineError, ValueError):
    """The design's columns are linearly dependent; ``columns`` names the dependent ones."""

    def __init__(self, columns, message: str | None = None):
        self.columns = list(columns)
        super().__init__(message or "collinear design columns (rank deficient): " + ", ".join(self.columns))


class PerfectFit(EngineError, ValueError):
    """The outcome is fitted exactly (residual sum of squares ~0); ``terms`` names the design
    columns that reproduce it (empty when they cannot be singled out)."""

    def __init__(self, terms):
        self.terms = list(terms)
        super().__init__("the outcome is fitted exactly" + (" by " + ", ".join(self.terms) if self.terms else "")
                         + " (residual sum of squares ~0); nothing to test")


class NotIdentified(EngineError, ValueError):
    """The data cannot identify the model's parameters (e.g. no residual degrees of freedom, or
    no participant with two observations for a random intercept)."""


class NotConverged(EngineError):
    """An iterative fit stopped before its convergence rule was met; ``reason`` says why."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


class Separated(EngineError):
    """A binary outcome is predicted perfectly by the design: the ML estimate is infinite."""


# the names callers and tests have used so far
RankDeficientError = RankDeficient
PerfectFitError = PerfectFit
