"""Turning raw cells into numbers and level keys, with the offending rows named."""
from __future__ import annotations

import math
import re
import unicodedata

import numpy as np
import pandas as pd

from .frame_views import COPY_ON_WRITE

# words that R and pandas write for "missing". In a column of numbers (or true/false) they mean
# missing; in a text column they may be real levels ('NA' = North America, 'None' = no drug), so
# there only empty cells and the plan's data.missing_codes are missing (docs/bad-inputs.md)
MISSING_TOKENS = frozenset({"na", "nan", "n/a", "null", "none", "<na>"})
DEFAULT_MISSING = MISSING_TOKENS | {""}
# characters that do not show on screen, pasted in from web pages and word processors
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))
_INTEGER = re.compile(r"^[+-]?\d+$")
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
_DECIMAL_COMMA = re.compile(r"^[+-]?\d+,\d+$")


def value_key(value) -> str | None:
    """A plan or data value as comparable text: numbers normalised (1, 1.0, '1' -> '1'),
    booleans as 'true'/'false', missing as None (CONTRACT §2: plan values match data as text).

    Text is compared in Unicode NFC form without invisible characters (zero-width spaces, soft
    hyphens), so that 'José' typed and 'José' pasted are one value. Words such as 'NA' or 'None'
    stay text here: whether they mean missing depends on the column (``keys_of``)."""
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        if math.isnan(value):
            return None
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    if value is pd.NA or value is pd.NaT or (isinstance(value, np.datetime64) and np.isnat(value)):
        return None
    text = clean_text(str(value))
    if not text or text == "<NA>":      # '<NA>' is how pandas writes its missing value as text: never a level
        return None
    if text.lower() in ("true", "false"):
        return text.lower()
    if _INTEGER.match(text):
        return str(int(text))          # exactly: a 19-digit id must not pass through a float
    try:
        number = float(text)
    except ValueError:
        return text
    if math.isfinite(number):
        return value_key(number)
    return text


def clean_text(text: str) -> str:
    """Text without surrounding spaces or invisible characters, in Unicode NFC form."""
    if not text.isascii():
        text = unicodedata.normalize("NFC", text.translate(_INVISIBLE))
    return text.strip()


def is_missing_token(key) -> bool:
    """'NA', 'None', 'null', 'NaN', 'N/A' and the like (any case)."""
    return isinstance(key, str) and key.lower() in MISSING_TOKENS


def _numeric_key(key: str) -> bool:
    if key in ("true", "false"):
        return True
    try:
        float(key)
    except ValueError:
        return False
    return True


def keys_of(series: pd.Series, tokens: str = "auto", keep=frozenset(), raw: np.ndarray | None = None) -> np.ndarray:
    """value_key of every cell, as an object array (None = missing).

    ``tokens`` says what words such as 'NA', 'None' or 'null' are: ``"auto"`` missing in a
    column whose other values are all numbers or true/false, and levels in a text column;
    ``"missing"`` always missing (ids, times); ``"text"`` always levels. A key in ``keep`` (a
    value the plan names for this column: a level, a reference, an event, an arm) is never missing.
    ``raw``: the column's keys with ``tokens="text"``, when already made (``apply_missing_codes``).
    """
    return keys_and_words(series, tokens, keep, raw)[0]


def keys_and_words(series: pd.Series, tokens: str = "auto", keep=frozenset(),
                   raw: np.ndarray | None = None) -> tuple[np.ndarray, dict[str, int]]:
    """``keys_of`` and the words it read as missing, with their row counts (to be said, never silent)."""
    keys = _raw_keys(series) if raw is None else raw
    if tokens == "text" or (pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_object_dtype(series.dtype)):
        return keys, {}     # keys of numbers and true/false are never words such as 'NA'
    distinct = {k for k in pd.unique(keys) if k is not None}
    found = {k for k in distinct if is_missing_token(k) and k not in keep}
    if not found:
        return keys, {}
    if tokens == "missing" or all(_numeric_key(k) for k in distinct - found):
        counts = {k: int(np.sum(keys == k)) for k in sort_levels(found)}
        keys = keys.copy()
        keys[np.isin(keys, list(found))] = None
        return keys, counts
    return keys, {}


def missing_words(series: pd.Series) -> dict[str, int]:
    """The words such as 'None' or 'null' that ``numeric_column`` reads as missing, with their row counts."""
    if pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(series.dtype):
        return {}
    found: dict[str, int] = {}
    for raw, n in pd.Series(series.to_numpy(dtype=object)).value_counts().items():   # one pass per distinct cell
        word = clean_text(raw) if isinstance(raw, str) else None
        if word is not None and is_missing_token(word) and word != "<NA>":
            found[word] = found.get(word, 0) + int(n)
    return {w: found[w] for w in sort_levels(found)}


def missing_tokens_kept(keys: np.ndarray, unique: np.ndarray | None = None) -> dict[str, int]:
    """The words such as 'NA' or 'None' that ``keys`` holds as levels, with their row counts
    (``unique``: ``pd.unique(keys)`` when the caller has it)."""
    distinct = {k for k in (pd.unique(keys) if unique is None else unique) if k is not None}
    return {k: int(np.sum(keys == k)) for k in sort_levels(k for k in distinct if is_missing_token(k))}


def _raw_keys(series: pd.Series) -> np.ndarray:
    dtype = series.dtype
    if pd.api.types.is_integer_dtype(dtype) and not isinstance(dtype, pd.api.extensions.ExtensionDtype):
        return integer_keys(series.to_numpy())
    if dtype != np.dtype(object):
        # one value_key per distinct value (pandas hashes the column): a million-row column of a
        # few levels costs a few calls, not a million. Object columns keep the per-cell path,
        # where 1, 1.0 and True hash alike but have different keys.
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
        keys = np.array([value_key(v) for v in np.asarray(uniques, dtype=object)] + [None], dtype=object)
        return keys[codes]      # code -1 (missing) picks the trailing None
    if pd.api.types.infer_dtype(series, skipna=True) == "string":
        # only text (and missing): equal keys come from equal strings, so one value_key per
        # distinct string, as for typed columns (1, 1.0 and True cannot occur here)
        codes, uniques = pd.factorize(series, use_na_sentinel=False)
        keys = np.array([value_key(v) for v in np.asarray(uniques, dtype=object)], dtype=object)
        return keys[codes]
    return np.array([value_key(v) for v in series.tolist()], dtype=object)


def typed_levels(series: pd.Series) -> tuple[np.ndarray, list[str]] | None:
    """For a column of numbers or true/false, whose keys are never words such as 'NA': each cell's
    index into the distinct keys (-1: missing) and those keys, from one hash pass over the values
    (no key per cell). None for a column of text or mixed cells (key it with ``keys_and_words``)."""
    dtype = series.dtype
    if not (pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_object_dtype(dtype)):
        return None
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    keys = [value_key(v) for v in np.asarray(uniques, dtype=object)]
    distinct = list(dict.fromkeys(k for k in keys if k is not None))
    index = {k: j for j, k in enumerate(distinct)}
    remap = np.array([-1 if k is None else index[k] for k in keys] + [-1], dtype=np.intp)
    return remap[codes], distinct


def integer_keys(values: np.ndarray) -> np.ndarray:
    """value_key of every whole number of a numpy integer array (its decimal text), as an object array.

    Arrow writes the decimal text of a million numbers in a few milliseconds, where numpy's
    ``astype(str)`` takes a tenth of a second; both give ``str(int(v))``."""
    import pyarrow as pa
    return pa.array(values).cast(pa.string()).to_numpy(zero_copy_only=False).astype(object, copy=False)


def integer_code_hits(series: pd.Series, codes: set[str]) -> np.ndarray | None:
    """For a column of numpy integers: which cells' value_key is in ``codes``, by comparing numbers
    (an integer's key is its decimal text, so only a code written as a whole number can match);
    None for any other column."""
    dtype = series.dtype
    if not (pd.api.types.is_integer_dtype(dtype) and not isinstance(dtype, pd.api.extensions.ExtensionDtype)):
        return None
    info = np.iinfo(dtype)
    numbers = [int(k) for k in codes if _INTEGER.match(k) and str(int(k)) == k and info.min <= int(k) <= info.max]
    values = series.to_numpy()
    return np.isin(values, np.array(numbers, dtype=dtype)) if numbers else np.zeros(len(values), dtype=bool)


def float_code_hits(series: pd.Series, codes: set[str]) -> np.ndarray | None:
    """For a column of floats: which cells' value_key is in ``codes``, by comparing numbers
    (no key per cell); None when a code could match in a way numbers do not tell (then key it)."""
    if not (pd.api.types.is_float_dtype(series.dtype)
            and not isinstance(series.dtype, pd.api.extensions.ExtensionDtype)):
        return None
    numbers = []
    for k in codes:
        try:
            number = float(k)
        except ValueError:
            if k in ("true", "false"):
                return None
            continue            # text that is not a number is never a float's key
        if not math.isfinite(number) or value_key(number) != k:
            return None
        numbers.append(number)
    values = series.to_numpy()
    return np.isin(values, numbers) if numbers else np.zeros(len(values), dtype=bool)


class RowNames:
    """How error messages name each row ('row 12', 'id R007'), built only when one is shown.

    pandas deep-copies ``DataFrame.attrs`` on every column access, so a million-entry list
    there costs seconds per access; this object is immutable and copies as itself.
    """

    def __init__(self, prefix: str, labels: np.ndarray):
        self.prefix = prefix
        self.labels = np.asarray(labels)

    def __getitem__(self, i: int) -> str:
        return f"{self.prefix}{self.labels[i]}"

    def __len__(self) -> int:
        return len(self.labels)

    def __deepcopy__(self, memo):
        return self


def numeric_column(series: pd.Series) -> tuple[np.ndarray, list[tuple[int, str]], str]:
    """Parse a column as numbers. Returns (values with NaN for missing, [(row, bad text)], hint)."""
    if pd.api.types.is_bool_dtype(series.dtype):
        return series.astype(float).to_numpy(), [], ""
    if pd.api.types.is_numeric_dtype(series.dtype):
        if isinstance(series.dtype, np.dtype) and series.dtype.kind in "iuf":
            # numpy numbers as floats: no copy of a float column under copy-on-write (a read-only view)
            values = series.to_numpy(dtype=float, copy=not COPY_ON_WRITE)
        else:
            values = pd.to_numeric(series, errors="coerce").astype(float).to_numpy()
        infinite = np.flatnonzero(np.isinf(values))
        if len(infinite) == 0:
            return values, [], ""
        # a parquet or DataFrame column may hold inf: a data error like the text 'inf', never a number
        bad: list[tuple[int, str]] = [(int(i), repr(float(values[i]))) for i in infinite]
        values = values.copy()
        values[infinite] = np.nan
        return values, bad, ""
    values = np.full(len(series), np.nan)
    bad = []
    hint = ""
    for i, cell in enumerate(series.tolist()):
        if cell is None or (isinstance(cell, float) and math.isnan(cell)):
            continue
        if isinstance(cell, (int, float, np.integer, np.floating)) and not isinstance(cell, bool) and math.isfinite(cell):
            values[i] = float(cell)
            continue
        text = clean_text(str(cell))    # as value_key reads it: '12' with a zero-width space is 12
        if text.lower() in DEFAULT_MISSING:
            continue
        try:
            values[i] = float(text)
            if not math.isfinite(values[i]):
                raise ValueError
        except ValueError:
            values[i] = np.nan
            bad.append((i, text))
            if _THOUSANDS.match(text):
                hint = " (numbers with thousands separators: remove the commas)"
            elif _DECIMAL_COMMA.match(text) and not hint:
                hint = " (decimal commas: write 7.5, not 7,5)"
    return values, bad, hint


def is_infinite(text: str) -> bool:
    """True for the text of an infinite number ('inf', '-Infinity', '1e999'): a bad value of a numeric column."""
    try:
        return math.isinf(float(text))
    except ValueError:
        return False


def describe_rows(bad: list[tuple[int, str]], limit: int = 5, names: list[str] | None = None) -> str:
    """'seven' (row 4), 'n/k' (row 9) and 3 more — rows counted from 1 = the first data row,
    or named by ``names`` (e.g. the file row or participant id of each position)."""
    def where(row: int) -> str:
        return names[row] if names is not None and row < len(names) else f"row {row + 1}"
    shown = ", ".join(f"{text!r} ({where(row)})" for row, text in bad[:limit])
    more = f" and {len(bad) - limit} more" if len(bad) > limit else ""
    return shown + more


def sort_levels(levels) -> list[str]:
    """Numeric order when every level is a number, else code-point order (CONTRACT §2)."""
    levels = list(levels)
    try:
        return sorted(levels, key=float)
    except (TypeError, ValueError):
        return sorted(levels)
