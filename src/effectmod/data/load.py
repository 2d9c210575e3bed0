"""Read a trial data file into a DataFrame, whatever its format.

Text formats are read as text, column by column, so that the checks against the plan can say
exactly which rows hold a stray value instead of pandas guessing a type silently.
"""
from __future__ import annotations

import difflib
import os
from pathlib import Path

import pandas as pd

from ..errors import DataError

READERS = (".csv", ".tsv", ".txt", ".parquet", ".xlsx", ".xls", ".sav", ".dta", ".sas7bdat")


# bigger files are refused (or, for text files, read for the plan's columns only): a trial's
# data is megabytes, and a string-typed frame of a text file takes several times the file size
DEFAULT_MAX_BYTES = 1 << 30
MAX_BYTES_VARIABLE = "EFFECTMOD_MAX_DATA_BYTES"


def read_data(path: str | Path, sheet: str | int | None = None, columns: list[str] | None = None) -> pd.DataFrame:
    """Read a csv, tsv, parquet, xlsx, sav, dta or sas7bdat file (by extension).

    The file is only opened for reading. A file larger than the size limit (1 GiB, or the
    ``EFFECTMOD_MAX_DATA_BYTES`` environment variable) is refused with a message, except that a
    text file is then read for ``columns`` only (streamed by the parser) when those fit the limit.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if path.name.startswith("~$"):
        raise DataError(f"data file {path.name}: is the lock file a spreadsheet program keeps while the workbook is open, "
                        f"not the data; give {path.name[2:]} instead")
    if suffix not in READERS:
        raise DataError(f"data file {path.name}: unsupported extension '{suffix or '(none)'}'; expected one of {', '.join(READERS)}")
    try:
        if not path.exists():
            raise DataError(f"data file {path}: not found")
        if path.is_dir():
            raise DataError(f"data file {path}: is a folder, expected a file")
        size = path.stat().st_size
    except OSError as exc:          # a name too long, a path through a file, a broken network drive
        raise DataError(f"data file {path}: cannot be read ({exc.strerror or type(exc).__name__})") from None
    if size == 0:
        raise DataError(f"data file {path.name}: is empty (0 bytes)")
    try:
        open(path, "rb").close()
    except PermissionError:
        raise DataError(f"data file {path}: cannot be read (permission denied, or locked by another program: "
                        "close it there or copy the file, and retry)") from None
    except OSError as exc:
        raise DataError(f"data file {path}: cannot be read ({exc.strerror or type(exc).__name__})") from None
    usecols = _size_guard(path, suffix, size, columns)
    _memory_guard(path, suffix, size, usecols)
    try:
        frame = _read(path, suffix, sheet, usecols)
    except DataError:
        raise
    except PermissionError:
        raise DataError(f"data file {path}: cannot be read (permission denied, or locked by another program)") from None
    except MemoryError:
        raise DataError(too_large_for_memory(path)) from None
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


def max_bytes() -> int:
    """The size limit in bytes: EFFECTMOD_MAX_DATA_BYTES when set to a positive integer, else 1 GiB."""
    text = os.environ.get(MAX_BYTES_VARIABLE, "").strip()
    try:
        value = int(float(text))
    except (ValueError, OverflowError):          # '', 'abc', 'inf'
        return DEFAULT_MAX_BYTES
    return value if value > 0 else DEFAULT_MAX_BYTES


def _size_guard(path: Path, suffix: str, size: int, columns) -> list[str] | None:
    """None when the file fits the limit; the columns to read when only they fit; else DataError."""
    limit = max_bytes()
    if size <= limit:
        return None
    advice = (f"save only the analysed rows and columns to a smaller file, or raise the limit with the "
              f"environment variable {MAX_BYTES_VARIABLE} (bytes) if this machine has the memory")
    if suffix in (".csv", ".tsv", ".txt") and columns:
        header = list(_read(path, suffix, None, None, nrows=0).columns)
        wanted = [c for c in header if c in set(columns)]
        # the parser streams the file; only the wanted columns are held, roughly their share of it
        if wanted and size * len(wanted) / max(len(header), 1) <= limit:
            return wanted
        if not wanted:
            raise DataError(f"data file {path.name}: {_human(size)}, over the limit of {_human(limit)}, and none of the "
                            f"plan's columns is in its header (first columns: {', '.join(repr(c) for c in header[:5])}); {advice}")
        raise DataError(f"data file {path.name}: {_human(size)}, and its {len(wanted)} analysed column(s) of {len(header)} "
                        f"would still take more than the limit of {_human(limit)}; {advice}")
    raise DataError(f"data file {path.name}: {_human(size)} is more than effectmod reads at once (limit {_human(limit)}); {advice}")


# memory a cell takes while a file is read as text and checked against the plan (a Python string
# per cell, then numbers and level keys): about 70 bytes measured on a 400,000-row csv; with margin
BYTES_PER_CELL = 100
MEMORY_CHECK_BYTES = 64 << 20      # smaller files are not worth the look


def too_large_for_memory(path: Path) -> str:
    """The message for a data file whose analysis ran out of memory."""
    try:
        size = f" ({_human(path.stat().st_size)})"
    except OSError:
        size = ""
    return (f"data file {path.name}{size}: too large to check and analyse in this machine's memory; save only the "
            "analysed rows and columns (the plan's) to a smaller file, or run on a machine with more memory")


def available_memory() -> int | None:
    """Bytes of memory this process can still take: MemAvailable (Linux), else the free pages
    (os.sysconf), lowered to a cgroup (container) limit when there is one; None when unknown."""
    found = None
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    found = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError, IndexError):
        pass
    if found is None:
        try:
            found = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (AttributeError, ValueError, OSError):
            return None
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text(encoding="ascii").strip()
        used = Path("/sys/fs/cgroup/memory.current").read_text(encoding="ascii").strip()
        if limit.isdigit() and used.isdigit():
            found = min(found, int(limit) - int(used))
    except OSError:
        pass
    return max(found, 0)


def _estimated_cells(path: Path, suffix: str, size: int, usecols) -> int | None:
    """Rows x columns that will be read, from the first 64 KB (text) or the metadata (parquet)."""
    if suffix in (".csv", ".tsv", ".txt"):
        with open(path, "rb") as fh:
            head = fh.read(1 << 16)
        lines = head.split(b"\n")
        body = lines[1:-1] if len(lines) > 2 else lines[1:]
        if not body:
            return None
        sep = b"\t" if suffix == ".tsv" else _sniff_delimiter(path).encode()
        per_line = sum(len(ln) + 1 for ln in body) / len(body)
        columns = len(usecols) if usecols else lines[0].count(sep) + 1
        return int(size / per_line * columns)
    if suffix == ".parquet":
        import pyarrow.parquet as pq
        meta = pq.read_metadata(path)
        return meta.num_rows * (len(usecols) if usecols else meta.num_columns)
    if suffix in (".sav", ".dta", ".sas7bdat"):
        return size // 8            # fixed-width binary: about 8 bytes per cell
    return None


def _memory_guard(path: Path, suffix: str, size: int, usecols) -> None:
    """Refuse, before reading, a file whose checks would clearly take more memory than is available
    (reading it anyway would end in MemoryError, or the system killing the process)."""
    if size < MEMORY_CHECK_BYTES:
        return
    try:
        cells = _estimated_cells(path, suffix, size, usecols)
    except Exception:              # an unreadable file is the reader's to report
        return
    available = available_memory()
    if cells is None or available is None:
        return
    need = cells * BYTES_PER_CELL
    if need > available:
        raise DataError(f"data file {path.name}: {_human(size)}, about {cells:,} cells to read, would need about {_human(need)} "
                        f"of memory to check and analyse, and this machine has {_human(available)} available; save only the "
                        "analysed rows and columns (the plan's) to a smaller file, or run on a machine with more memory")


def _human(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"


def _read(path: Path, suffix: str, sheet, usecols=None, nrows=None) -> pd.DataFrame:
    if suffix in (".csv", ".tsv", ".txt"):
        sep = "\t" if suffix == ".tsv" else None
        text_opts = dict(dtype=str, keep_default_na=False, na_filter=False, encoding="utf-8-sig")
        if sep is None:
            sep = _sniff_delimiter(path)
        try:
            frame = pd.read_csv(path, sep=sep, usecols=usecols, nrows=nrows, **text_opts)
            header = pd.read_csv(path, sep=sep, nrows=1, header=None, **text_opts)
        except UnicodeDecodeError:
            text_opts["encoding"] = "latin-1"
            frame = pd.read_csv(path, sep=sep, usecols=usecols, nrows=nrows, **text_opts)
            header = pd.read_csv(path, sep=sep, nrows=1, header=None, **text_opts)
        # pandas renames a repeated header to name.1; keep the header as written to say so
        frame.attrs["raw_header"] = [str(c) for c in header.iloc[0]] if len(header) else list(frame.columns)
        if usecols is not None:
            frame.attrs["raw_header"] = [c for c in frame.attrs["raw_header"] if c in set(usecols)]
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
    with pd.ExcelFile(path) as book:
        return _read_sheet(book, path, sheet)


def _read_sheet(book: pd.ExcelFile, path: Path, sheet) -> pd.DataFrame:
    names = book.sheet_names
    if sheet is None:
        chosen = names[0]
        frame = pd.read_excel(book, sheet_name=chosen, dtype=object)
        if frame.dropna(how="all").empty and len(names) > 1:
            raise DataError(f"data file {path.name}: the first sheet '{chosen}' is empty; the workbook has sheets "
                            f"{', '.join(repr(n) for n in names)}: name the one to read in the plan (data.sheet)")
        return frame
    if isinstance(sheet, int):
        if not 0 <= sheet < len(names):
            raise DataError(f"plan: data.sheet: {path.name} has {len(names)} sheet(s) (0-based index 0-{len(names) - 1}), not {sheet}")
        return pd.read_excel(book, sheet_name=names[sheet], dtype=object)
    if sheet not in names:
        close = difflib.get_close_matches(sheet, names, n=1)
        hint = f" Closest: '{close[0]}'." if close else ""
        raise DataError(f"plan: data.sheet: no sheet '{sheet}' in {path.name}; sheets: {', '.join(repr(n) for n in names)}.{hint}")
    return pd.read_excel(book, sheet_name=sheet, dtype=object)


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
    if len(cols) == 1 and any(sep in cols[0] for sep in (",", ";", "\t", "|")):
        raise DataError(f"data file {path.name}: read as a single column '{cols[0][:60]}'; the delimiter looks wrong "
                        "(effectmod reads .csv as comma- or semicolon-separated and .tsv as tab-separated)")


def closest_columns(name: str, columns) -> str:
    close = difflib.get_close_matches(name, [str(c) for c in columns], n=2, cutoff=0.5)
    if not close:
        lower = {str(c).lower(): str(c) for c in columns}
        if name.lower() in lower:
            close = [lower[name.lower()]]
    return f" Closest: {', '.join(repr(c) for c in close)}." if close else ""
