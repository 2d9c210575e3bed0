"""Typed engine errors: what an engine raises when a model cannot be estimated.

Callers catch these classes, never messages: ``RankDeficient`` (the design's columns are
linearly dependent under the one rank rule of ``engines.linalg``), ``PerfectFit`` (the outcome is
reproduced exactly, nothing to test), ``NotConverged`` (an iterative fit stopped without meeting
the convergence rule) and ``Separated`` (a binary outcome is predicted perfectly, so maximum
likelihood has no finite optimum; raised only for callers that ask for a finite estimate).
``models.fit`` turns the first three into a not-estimable row whose note says why. All derive from
``EngineError``; ``RankDeficient`` and ``PerfectFit`` also stay ``ValueError`` subclasses, as their
older names ``RankDeficientError`` and ``PerfectFitError`` were.
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
    """An iterative fit stopped before its convergence rule was met, so its numbers mean nothing;
    ``reason`` says which fit, ``notes`` (plain words) what the engine saw in it."""

    def __init__(self, reason: str, notes: tuple[str, ...] = ()):
        self.reason = reason
        self.notes = tuple(notes)
        super().__init__(reason + (" (" + "; ".join(self.notes) + ")" if self.notes else ""))


class Separated(EngineError):
    """A binary outcome is predicted perfectly by the design: the ML estimate is infinite.

    Separation is a finding, not a failure: an ML logistic fit under separation is still
    returned, flagged (``LogisticFit.separation`` / ``diverged``), and reported with a note, as
    R's ``glm`` reports it. Only a caller that needs a finite maximum-likelihood estimate asks
    for this error (``fit_logistic(..., finite=True)``): ``binary_method: firth_if_separated``
    catches it and refits with Firth's penalised likelihood. ``notes`` say what was found."""

    def __init__(self, reason: str, notes: tuple[str, ...] = ()):
        self.reason = reason
        self.notes = tuple(notes)
        super().__init__(reason + (" (" + "; ".join(self.notes) + ")" if self.notes else ""))


# the names callers and tests have used so far
RankDeficientError = RankDeficient
PerfectFitError = PerfectFit
