"""Read a trial data file into a DataFrame, whatever its format.

Text formats are read as text, column by column, so that the checks against the plan can say
exactly which rows hold a stray value instead of pandas guessing a type silently.
"""
from __future__ import annotations

import difflib
from pathlib import Path

import pandas as pd

from ..errors import DataError

READERS = (".csv", ".tsv", ".txt", ".parquet", ".xlsx", ".xls", ".sav", ".dta", ".sas7bdat")


def read_data(path: str | Path, sheet: str | int | None = None) -> pd.DataFrame:
    """Read a csv, tsv, parquet, xlsx, sav, dta or sas7bdat file (by extension)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in READERS:
        raise DataError(f"data file {path.name}: unsupported extension '{suffix or '(none)'}'; expected one of {', '.join(READERS)}")
    if not path.exists():
        raise DataError(f"data file {path}: not found")
    if path.is_dir():
        raise DataError(f"data file {path}: is a folder, expected a file")
    if path.stat().st_size == 0:
        raise DataError(f"data file {path.name}: is empty (0 bytes)")
    try:
        frame = _read(path, suffix, sheet)
    except DataError:
        raise
    except PermissionError:
        raise DataError(f"data file {path}: cannot be read (permission denied)") from None
    except MemoryError:
        raise DataError(f"data file {path.name}: too large to hold in memory on this machine; "
                        "reduce it to the analysed columns first") from None
    except Exception as exc:  # every reader has its own exception types; the user needs one line
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"data file {path.name}: cannot be read as {suffix[1:]}: {first}") from None
    if frame.shape[1] == 0:
        raise DataError(f"data file {path.name}: has no columns")
    if len(frame) == 0:
        raise DataError(f"data file {path.name}: has a header but no data rows")
    frame.columns = [str(c) for c in frame.columns]
    _check_header(frame, path)
    return frame


def _read(path: Path, suffix: str, sheet) -> pd.DataFrame:
    if suffix in (".csv", ".tsv", ".txt"):
        sep = "\t" if suffix == ".tsv" else None
        text_opts = dict(dtype=str, keep_default_na=False, na_filter=False, encoding="utf-8-sig")
        if sep is None:
            sep = _sniff_delimiter(path)
        try:
            frame = pd.read_csv(path, sep=sep, **text_opts)
            header = pd.read_csv(path, sep=sep, nrows=1, header=None, **text_opts)
        except UnicodeDecodeError:
            text_opts["encoding"] = "latin-1"
            frame = pd.read_csv(path, sep=sep, **text_opts)
            header = pd.read_csv(path, sep=sep, nrows=1, header=None, **text_opts)
        # pandas renames a repeated header to name.1; keep the header as written to say so
        frame.attrs["raw_header"] = [str(c) for c in header.iloc[0]] if len(header) else list(frame.columns)
        return frame
    if suffix == ".parquet":
        return pd.read_parquet(path)
    if suffix in (".xlsx", ".xls"):
        return _read_excel(path, sheet)
    import pyreadstat

    if suffix == ".sav":
        frame, _ = pyreadstat.read_sav(str(path), apply_value_formats=True)
    elif suffix == ".dta":
        frame, _ = pyreadstat.read_dta(str(path), apply_value_formats=True)
    else:
        frame, _ = pyreadstat.read_sas7bdat(str(path))
    return frame


def _read_excel(path: Path, sheet) -> pd.DataFrame:
    book = pd.ExcelFile(path)
    names = book.sheet_names
    if sheet is None:
        chosen = names[0]
        frame = book.parse(chosen, dtype=object)
        if frame.dropna(how="all").empty and len(names) > 1:
            raise DataError(f"data file {path.name}: the first sheet '{chosen}' is empty; the workbook has sheets "
                            f"{', '.join(repr(n) for n in names)}: name the one to read in the plan (data.sheet)")
        return frame
    if isinstance(sheet, int):
        if not 0 <= sheet < len(names):
            raise DataError(f"plan: data.sheet: {path.name} has {len(names)} sheet(s) (0-based index 0-{len(names) - 1}), not {sheet}")
        return book.parse(names[sheet], dtype=object)
    if sheet not in names:
        close = difflib.get_close_matches(sheet, names, n=1)
        hint = f" Closest: '{close[0]}'." if close else ""
        raise DataError(f"plan: data.sheet: no sheet '{sheet}' in {path.name}; sheets: {', '.join(repr(n) for n in names)}.{hint}")
    return book.parse(sheet, dtype=object)


def _sniff_delimiter(path: Path) -> str:
    """Comma unless the header clearly uses another separator (semicolon files from European Excel)."""
    with open(path, "rb") as fh:
        head = fh.readline().decode("utf-8-sig", errors="replace")
    counts = {sep: head.count(sep) for sep in (",", ";", "\t", "|")}
    best = max(counts, key=counts.get)
    return best if counts[best] > 0 and counts[","] == 0 else ","


def _check_header(frame: pd.DataFrame, path: Path) -> None:
    cols = list(frame.columns)
    raw = frame.attrs.get("raw_header", cols)
    repeated = sorted({c for c in raw if raw.count(c) > 1})
    if repeated:
        raise DataError(f"data file {path.name}: column name(s) {', '.join(repr(c) for c in repeated)} appear more than once in the header")
    if len(cols) == 1 and any(sep in cols[0] for sep in (";", "\t", "|")):
        raise DataError(f"data file {path.name}: read as a single column '{cols[0][:60]}'; the delimiter looks wrong "
                        "(effectmod reads .csv as comma- or semicolon-separated and .tsv as tab-separated)")


def closest_columns(name: str, columns) -> str:
    close = difflib.get_close_matches(name, [str(c) for c in columns], n=2, cutoff=0.5)
    if not close:
        lower = {str(c).lower(): str(c) for c in columns}
        if name.lower() in lower:
            close = [lower[name.lower()]]
    return f" Closest: {', '.join(repr(c) for c in close)}." if close else ""
