"""Whole-number checks for counts and seeds from a plan or the command line.

Kept apart from the plan schema so that the command line can check a seed without loading
pydantic or numpy (numpy's scalars register with the ``numbers`` ABCs, so they pass too).
"""
from __future__ import annotations

import math
import numbers

from .errors import UsageError


def whole_number(value, limit: int | None = None) -> int:
    """``value`` as an int when it is a whole number (1 or 1.0, not true, 1.5, '1' or inf), at most
    ``limit``; otherwise ValueError saying what was given. Negative values pass (``ge`` says so)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        got = (f"{str(value).lower()} (YAML reads unquoted true/false/yes/no as a boolean)" if isinstance(value, bool)
               else f"the text {value!r}" if isinstance(value, str) else value_kind(value))
        raise ValueError(f"expected a whole number, got {got}")
    if not isinstance(value, numbers.Integral):
        if not math.isfinite(value) or not float(value).is_integer():
            raise ValueError(f"expected a whole number, got {value}")
        value = int(math.trunc(value))  # exact for a whole-valued Fraction or numpy float too
    else:
        value = int(value)
    if limit is not None and value > limit:
        raise ValueError(f"at most {limit:,}, got {value:,}")
    return value


def checked_seed(value, name: str = "seed") -> int:
    """A seed given outside the plan (``--seed``, ``analyze(seed=)``) as an int; UsageError naming
    ``name`` unless it is a whole number, 0 or more (the plan's analysis.seed rule)."""
    try:
        seed = whole_number(value)
    except ValueError as exc:
        raise UsageError(f"{name}: {exc}") from None
    if seed < 0:
        raise UsageError(f"{name} {seed}: seeds are whole numbers, 0 or more (numpy takes no negative seeds)")
    return seed


def value_kind(value) -> str:
    """What a plan value is, for a message: 'a list', 'a mapping', 'nothing', or the value itself."""
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if value is None:
        return "nothing"
    return f"the {type(value).__name__} {value!r}"
