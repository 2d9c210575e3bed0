"""Designs whose X is gathered on demand from participant-level columns (very many rows).

A linear model of a million participants would otherwise keep its own n x p copy of X (and
forty models forty copies) although every column is a participant-level column of the trial -
the treatment, a moderator, the baseline, a covariate - or the product of two of them. A
``LazyDesign`` keeps the recipe instead (``ColumnRecipe``: the shared columns, the centre of a
continuous moderator, the factor of a product) and the participants it analyses; ``design.X``
gathers the n x p array when a step reads it. The numbers are the ones the stacked path writes
(the same gathers, differences and products of the same doubles, in a C-ordered array), so every
reader of ``design.X`` works unchanged and gets the same X.

``materialised(design)`` keeps one gathered X for the duration of a block of steps (the fit, the
estimability and heteroscedasticity checks of ``fit_model``) and lets it go after them: the
fitted model then holds only the recipe, y and rows.
"""
from __future__ import annotations

import weakref
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from .design import Design

# single-follow-up designs with at least this many analysed rows gather X on demand
LAZY_MIN_ROWS = 200_000
# rows gathered at a time into X (a block of a few columns stays in the CPU cache)
BLOCK_ROWS = 16_384


@dataclass(frozen=True)
class ColumnRecipe:
    """Design column ``(base[rows] - centre) * factor[rows]`` (``centre`` 0.0 and ``factor`` None
    leave the column as it is). ``base`` and ``factor`` are participant-level arrays shared
    between models."""

    base: np.ndarray
    centre: float | None = None
    factor: np.ndarray | None = None


@dataclass(frozen=True)
class XBuilder:
    """The recipe of every design column, in the order of ``Design.names``."""

    columns: tuple[ColumnRecipe, ...]

    def build(self, rows: np.ndarray) -> np.ndarray:
        X = np.empty((len(rows), len(self.columns)))
        # by blocks of rows: each block's columns are written while its rows are in the cache
        # (a column at a time over a million rows writes every cache line once per column)
        for start in range(0, len(rows), BLOCK_ROWS):
            self._fill(X[start:start + BLOCK_ROWS], rows[start:start + BLOCK_ROWS])
        return X

    def _fill(self, X: np.ndarray, rows: np.ndarray) -> None:
        gathered: dict[tuple, np.ndarray] = {}       # a column used twice (in a product) is gathered once
        for j, c in enumerate(self.columns):
            key = (id(c.base), c.centre)
            if c.factor is None:
                if c.centre is None and c.base is _ONES.get(c.base.size):
                    X[:, j] = 1.0                    # the intercept: the same ones, not gathered
                    continue
                col = gathered[key] = c.base[rows] if c.centre is None else c.base[rows] - c.centre
            else:
                col = gathered.get(key)
                if col is None:
                    col = c.base[rows] if c.centre is None else c.base[rows] - c.centre
                factor = gathered.get((id(c.factor), None))
                col = (c.factor[rows] if factor is None else factor) * col
            X[:, j] = col


class LazyDesign(Design):
    """A ``Design`` whose ``X`` is gathered from its ``XBuilder`` when read (see the module text).
    A copy made with ``dataclasses.replace`` gets a plain X of its own."""

    def __init__(self, builder: XBuilder | None = None, **fields):
        # dataclasses.replace passes every field, X included (gathered): the copy keeps that X
        object.__setattr__(self, "_builder", builder)
        object.__setattr__(self, "_held", None)
        fields.setdefault("X", None)
        super().__init__(**fields)

    @property
    def X(self) -> np.ndarray:
        held = self.__dict__.get("_held")
        if held is not None:
            return held
        builder = self.__dict__.get("_builder")
        if builder is None:
            return self.__dict__["_X"]
        return builder.build(self.rows)

    @X.setter
    def X(self, value) -> None:
        object.__setattr__(self, "_X", value)

    @property
    def p(self) -> int:
        return len(self.names)

    @property
    def n(self) -> int:
        """Participants: a gathered design's rows are ``np.flatnonzero`` of the kept ones (each
        once, in order), so ``Design.n``'s pass over them counts ``len(rows)``; a copy (rows
        resampled, say) counts as a Design does."""
        if self.__dict__.get("_builder") is not None:
            return len(self.rows)
        return super().n


@contextmanager
def materialised(design: Design):
    """Within the block, ``design.X`` of a ``LazyDesign`` is one gathered array (then released)."""
    if not isinstance(design, LazyDesign) or design.__dict__.get("_held") is not None:
        yield design
        return
    object.__setattr__(design, "_held", design.X)
    try:
        yield design
    finally:
        object.__setattr__(design, "_held", None)


_ONES: dict[int, np.ndarray] = {}


def _ones(n: int) -> np.ndarray:
    """One shared, read-only intercept column per trial size."""
    if n not in _ONES:
        _ONES.clear()
        ones = np.ones(n)
        ones.flags.writeable = False
        _ONES[n] = ones
    return _ONES[n]


def _recipes(trial, outcome: str, moderator: str | None, adjust_for_baseline: bool):
    """``design._columns`` as recipes: (recipes, names, mod_names, terms, use_baseline, centre)."""
    from .design import _treat_columns, moderator_affine_in_baseline, moderator_centre
    o = trial.outcomes[outcome]
    treats, treat_names = _treat_columns(trial)
    cols = [ColumnRecipe(_ones(trial.n)), *(ColumnRecipe(t) for t in treats)]
    names = ["(Intercept)", *treat_names]
    if moderator is None:
        use_baseline = adjust_for_baseline and o.baseline is not None
        mod_cols: list[ColumnRecipe] = []
        mod_names: tuple[str, ...] = ()
        terms: tuple[str, ...] = ("",)
        centre: tuple[float, ...] = ()
    else:
        m = trial.moderators[moderator]
        centre = (moderator_centre(m.values),) if m.type == "continuous" else ()
        if m.type == "categorical":
            dummies = m.design()
            mod_cols = [ColumnRecipe(np.ascontiguousarray(dummies[:, j])) for j in range(dummies.shape[1])]
            mod_names = tuple(f"mod[{lv}]" for lv in m.column_names)
            terms = tuple(m.column_names)
        else:
            values = m.values if m.values.dtype == np.float64 else m.values.astype(float)
            mod_cols = [ColumnRecipe(values, centre[0] if centre else None)]
            mod_names, terms = ("mod",), ("",)
        use_baseline = (adjust_for_baseline and o.baseline is not None and not trial.moderator_is_baseline(outcome, moderator)
                        and not moderator_affine_in_baseline(o.baseline, m.values, m.type))
        cols += mod_cols
        names += mod_names
    if use_baseline and o.baseline is not None:
        cols.append(ColumnRecipe(o.baseline))
        names.append("baseline")
    for j, c in enumerate(trial.covariates.names):
        cols.append(ColumnRecipe(trial.covariates.matrix[:, j]))
        names.append(f"cov[{c}]")
    for t_col, t_name in zip(treats, treat_names):
        for mc, name in zip(mod_cols, mod_names):
            cols.append(ColumnRecipe(mc.base, mc.centre, t_col))
            names.append(f"{t_name}:{name}")
    return cols, names, mod_names, terms, use_baseline, centre


def lazy_single_design(trial, outcome: str, moderator: str | None, timepoint: str,
                       adjust_for_baseline: bool, min_rows: int | None = None) -> LazyDesign | None:
    """``design.single_design`` as a ``LazyDesign`` when it analyses at least ``min_rows``
    (default ``LAZY_MIN_ROWS``) participants; None otherwise (the caller stacks X as before)."""
    from .design import _arms, _exclusions
    limit = LAZY_MIN_ROWS if min_rows is None else min_rows
    if trial.n < limit:
        return None
    y = trial.outcomes[outcome].followups[timepoint]
    exposure = trial.outcomes[outcome].exposure
    expo = exposure[timepoint] if exposure is not None else None
    recipes, names, mod_names, terms, use_baseline, centre = _recipes(trial, outcome, moderator, adjust_for_baseline)
    extra = () if expo is None else ((f"exposure missing at follow-up {timepoint}", np.isnan(expo)),)
    lost, excluded = _exclusions(trial, outcome, moderator, use_baseline, np.isnan(y),
                                 f"outcome missing at follow-up {timepoint}", extra)
    keep = ~lost
    if int(np.count_nonzero(keep)) < limit:
        return None
    rows, y_kept, offset = _kept(y, expo, keep)
    return LazyDesign(XBuilder(tuple(recipes)), y=y_kept, names=tuple(names), rows=rows,
                      mod_names=mod_names, terms=terms, excluded=excluded, timepoints=(timepoint,), mod_centre=centre,
                      offset=offset, **_arms(trial))


# outcome column (by id, dropped when the column is) -> [(exposure column, keep, (rows, y, offset))]
# of its last few designs: the models of one outcome usually analyse the same participants and
# then share these arrays (read-only)
_KEPT: dict[int, list[tuple]] = {}


def _kept(y: np.ndarray, expo: np.ndarray | None, keep: np.ndarray) -> tuple:
    entries = _KEPT.get(id(y))
    if entries is None:
        entries = _KEPT[id(y)] = []
        weakref.finalize(y, _KEPT.pop, id(y), None)
    for e0, k0, out in entries:
        if e0 is expo and np.array_equal(k0, keep):
            return out
    rows = np.flatnonzero(keep)
    out = (rows, y[keep], None if expo is None else np.log(expo[keep]))
    for arr in out:
        if arr is not None:
            arr.flags.writeable = False
    del entries[3:]
    entries.insert(0, (expo, keep, out))
    return out


def single_design(trial, outcome: str, moderator: str | None, timepoint: str, adjust_for_baseline: bool) -> Design:
    """``design.single_design``, gathered on demand when it has very many rows."""
    from .design import single_design as stacked
    lazy = lazy_single_design(trial, outcome, moderator, timepoint, adjust_for_baseline)
    return lazy if lazy is not None else stacked(trial, outcome, moderator, timepoint, adjust_for_baseline)
