"""Read a trial data file into a DataFrame, whatever its format.

Text formats are read as text, column by column, so that the checks against the plan can say
exactly which rows hold a stray value instead of pandas guessing a type silently.
"""
from __future__ import annotations

import codecs
import difflib
import io
import os
import re
import zipfile
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
    _check_header(frame, path, columns)
    if suffix == ".xlsx":
        _check_formulas(path, frame.attrs.get("sheet_name"), columns)
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
        # every cell as text: only empty cells are missing here ('NA' may be North America);
        # what a word such as 'NA' means is decided per column when the data are checked
        text_opts = dict(dtype=str, keep_default_na=False, na_filter=False)
        if sep is None:
            sep = _sniff_delimiter(path)
        warnings = []
        try:
            frame = pd.read_csv(path, sep=sep, usecols=usecols, nrows=nrows, encoding="utf-8-sig", **text_opts)
            header = pd.read_csv(path, sep=sep, nrows=1, header=None, encoding="utf-8-sig", **text_opts)
        except UnicodeDecodeError:
            text, warning = decode_text(path.read_bytes(), path.name)
            warnings.append(warning)
            frame = pd.read_csv(io.StringIO(text), sep=sep, usecols=usecols, nrows=nrows, **text_opts)
            header = pd.read_csv(io.StringIO(text), sep=sep, nrows=1, header=None, **text_opts)
        # pandas renames a repeated header to name.1; keep the header as written to say so
        frame.attrs["raw_header"] = [str(c) for c in header.iloc[0]] if len(header) else list(frame.columns)
        if usecols is not None:
            frame.attrs["raw_header"] = [c for c in frame.attrs["raw_header"] if c in set(usecols)]
        if warnings:
            frame.attrs["read_warnings"] = warnings
        return frame
    if suffix == ".parquet":
        return pd.read_parquet(path)
    if suffix in (".xlsx", ".xls"):
        return _read_excel(path, sheet)
    import pyreadstat

    if suffix == ".sav":
        frame, meta = pyreadstat.read_sav(str(path))
    elif suffix == ".dta":
        frame, meta = pyreadstat.read_dta(str(path))
    else:
        frame, _ = pyreadstat.read_sas7bdat(str(path))
        return frame
    return apply_value_labels(frame, meta.variable_value_labels)


def apply_value_labels(frame: pd.DataFrame, labels: dict) -> pd.DataFrame:
    """SPSS/Stata value labels applied to the columns they fully describe.

    A column whose every observed value has a label is a category: its cells become the label
    text. A column with labels on some values only (a 0-10 scale labelled 0 = 'none' and
    10 = 'worst', or a code such as -99 = 'refused') stays numbers, as the scale it is.
    """
    for col, mapping in (labels or {}).items():
        if col not in frame.columns or not mapping:
            continue
        observed = pd.unique(frame[col].dropna())
        if len(observed) and all(v in mapping for v in observed):
            frame[col] = frame[col].astype(object).map(lambda v: mapping.get(v, v))
    return frame


def excel_engine(path: Path) -> str:
    """The reader of a workbook: openpyxl for .xlsx (it sees formulas without saved values);
    python-calamine (a dependency) for the old binary .xls, since pandas deprecates xlrd."""
    return "calamine" if path.suffix.lower() == ".xls" else "openpyxl"


def _read_excel(path: Path, sheet) -> pd.DataFrame:
    with pd.ExcelFile(path, engine=excel_engine(path)) as book:
        return _read_sheet(book, path, sheet)


def _read_sheet(book: pd.ExcelFile, path: Path, sheet) -> pd.DataFrame:
    names = book.sheet_names
    if sheet is None:
        chosen = names[0]
        frame = _sheet_frame(book, chosen)
        if frame.dropna(how="all").empty and len(names) > 1:
            raise DataError(f"data file {path.name}: the first sheet '{chosen}' is empty; the workbook has sheets "
                            f"{', '.join(repr(n) for n in names)}: name the one to read in the plan (data.sheet)")
        return frame
    if isinstance(sheet, int):
        if not 0 <= sheet < len(names):
            raise DataError(f"plan: data.sheet: {path.name} has {len(names)} sheet(s) (0-based index 0-{len(names) - 1}), not {sheet}")
        return _sheet_frame(book, names[sheet])
    if sheet not in names:
        close = difflib.get_close_matches(sheet, names, n=1)
        hint = f" Closest: '{close[0]}'." if close else ""
        raise DataError(f"plan: data.sheet: no sheet '{sheet}' in {path.name}; sheets: {', '.join(repr(n) for n in names)}.{hint}")
    return _sheet_frame(book, sheet)


def _sheet_frame(book: pd.ExcelFile, name: str) -> pd.DataFrame:
    frame = pd.read_excel(book, sheet_name=name, dtype=object)
    # pandas renames a repeated header to name.1; keep the header as written to say so
    header = pd.read_excel(book, sheet_name=name, header=None, nrows=1, dtype=object)
    if len(header):
        frame.attrs["raw_header"] = [str(c) for c in header.iloc[0] if not pd.isna(c)]
    frame.attrs["sheet_name"] = name
    return frame


# a formula element in a worksheet's XML (<f>, <f t="shared" ...>, or with a namespace prefix)
_FORMULA_TAG = re.compile(rb"<(?:\w+:)?f[\s>/]")


def _check_formulas(path: Path, sheet_name: str | None, columns: list[str] | None) -> None:
    """Refuse a workbook whose formula cells (in the analysed columns) have no saved value.

    Spreadsheet programs save each formula's last result beside it; files written by scripts
    (openpyxl, some exporters) often do not, and such a cell reads as empty: a whole derived
    column (a BMI, a score total) would silently be missing.
    """
    if sheet_name is None or not _has_formulas(path):
        return
    import openpyxl

    formulas = openpyxl.load_workbook(path, read_only=True, data_only=False)
    values = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        rows_f, rows_v = formulas[sheet_name].iter_rows(), values[sheet_name].iter_rows()
        header = [c.value for c in next(rows_f, ())]
        next(rows_v, None)
        lost: dict[int, int] = {}
        for row_f, row_v in zip(rows_f, rows_v):
            for j, (cf, cv) in enumerate(zip(row_f, row_v)):
                if getattr(cf, "data_type", None) == "f" and cv.value is None:
                    lost[j] = lost.get(j, 0) + 1
    finally:
        formulas.close()
        values.close()
    problems = []
    for j, count in lost.items():
        name = str(header[j]) if j < len(header) and header[j] is not None else f"column {j + 1}"
        if columns is not None and name not in columns:
            continue
        problems.append(f"data file {path.name}: column '{name}' has {count} formula cell(s) without a saved value, which "
                        "would read as empty (the file was written by a program that does not calculate formulas); "
                        "open it in Excel or LibreOffice, save it, and rerun")
    if problems:
        raise DataError(problems)


def _has_formulas(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as book:
            for name in book.namelist():
                if not (name.startswith("xl/worksheets/") and name.endswith(".xml")):
                    continue
                with book.open(name) as part:
                    tail = b""
                    while chunk := part.read(1 << 20):
                        if _FORMULA_TAG.search(tail + chunk):
                            return True
                        tail = chunk[-16:]
    except (zipfile.BadZipFile, OSError):
        return False
    return False


# bytes that Windows-1252 leaves undefined: read as Latin-1 (the same code point)
_CP1252_UNDEFINED = frozenset(b"\x81\x8d\x8f\x90\x9d")


def _cp1252_fallback(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeDecodeError):     # the handler serves decoding only
        raise exc
    bad = exc.object[exc.start:exc.end]
    return "".join(chr(b) if b in _CP1252_UNDEFINED else bytes([b]).decode("cp1252") for b in bad), exc.end


codecs.register_error("effectmod-cp1252", _cp1252_fallback)


def decode_text(data: bytes, name: str) -> tuple[str, str]:
    """A text file that is not valid UTF-8, decoded, and the warning to give about it.

    Bytes that are valid UTF-8 are read as UTF-8 and the others as Windows-1252 (Latin-1), so
    that a file whose rows were saved by different programs reads 'Zürich' the same way in
    every row. The warning says whether the file mixes the two or is Windows-1252 throughout.
    """
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    utf8_lines = other_lines = 0
    mixed = False
    for line in data.split(b"\n"):
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
            utf8_lines += 1
        except UnicodeDecodeError:
            other_lines += 1
            mixed = mixed or not line.decode("utf-8", errors="ignore").isascii()
    text = data.decode("utf-8", errors="effectmod-cp1252")
    if utf8_lines or mixed:
        return text, (f"data file {name}: mixes text encodings ({utf8_lines} line(s) in UTF-8, {other_lines} line(s) with "
                      "Windows-1252/Latin-1 characters); each part was read in its own encoding, so that a name spelt "
                      "both ways is one value: check the text values, and save the file as UTF-8")
    return text, (f"data file {name}: is not UTF-8; read as Windows-1252 (Latin-1): check that accented text "
                  "reads right, or save the file as UTF-8")


def _sniff_delimiter(path: Path) -> str:
    """Comma unless the header clearly uses another separator (semicolon files from European Excel)."""
    with open(path, "rb") as fh:
        head = fh.readline().decode("utf-8-sig", errors="replace")
    counts = {sep: head.count(sep) for sep in (",", ";", "\t", "|")}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] > 0 and counts[","] == 0 else ","


def _check_header(frame: pd.DataFrame, path: Path, columns: list[str] | None = None) -> None:
    """A repeated column name is refused when the plan uses it (every one, when the columns the
    plan uses are not given); pandas would read the copies as name.1, name.2 unnoticed."""
    cols = list(frame.columns)
    raw = frame.attrs.get("raw_header", cols)
    repeated = sorted({c for c in raw if raw.count(c) > 1 and (columns is None or c in columns)})
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
