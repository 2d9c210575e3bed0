"""Every file and folder effectmod writes goes through here: whole or not at all, never over
something the user did not ask to replace, readable as the user's umask allows, and with CSV
text cells that a spreadsheet shows as text instead of running them as formulas.

Only the standard library at import time (the command line checks output places before it
loads the numerical stack); pandas is imported by ``write_csv`` when it is called.
"""
from __future__ import annotations

import errno
import math
import os
import re
import shutil
import tempfile
from pathlib import Path

from .errors import UsageError

MANIFEST = "manifest.json"   # marks a folder that effectmod wrote (and so may replace with --force)


# ------------------------------------------------------------------ permissions

def current_umask() -> int:
    """The process umask, read without changing it where the system allows (Linux: /proc), so
    that other threads never create files while the umask is briefly 0."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def share_like_umask(path: Path) -> None:
    """Give ``path`` (and, for a folder, everything in it) the permissions an ordinary file or
    folder gets under the umask: ``tempfile`` makes them private (0600 / 0700), which would keep
    colleagues from reading a results folder or a plan on a shared drive."""
    mask = current_umask()
    path = Path(path)
    if not path.is_dir():
        os.chmod(path, 0o666 & ~mask)
        return
    os.chmod(path, 0o777 & ~mask)
    for root, dirs, files in os.walk(path):
        for name in dirs:
            p = os.path.join(root, name)
            if not os.path.islink(p):
                os.chmod(p, 0o777 & ~mask)
        for name in files:
            p = os.path.join(root, name)
            if not os.path.islink(p):
                os.chmod(p, 0o666 & ~mask)


# ------------------------------------------------------------------ output folders

def check_output_folder(out: Path, force: bool, inputs=()) -> None:
    """Refuse to write over a file, into a non-empty folder without ``force``, and, even with
    ``force``, to replace a folder that holds one of the ``inputs`` (data, plan) or that
    effectmod did not write (no manifest.json). Checked again when the folder is put in place;
    the command line checks first so that a user does not wait for an analysis in vain."""
    out = Path(out)
    try:
        if out.exists() and not out.is_dir():
            raise UsageError(f"--out {out}: exists and is not a folder")
        if not out.is_dir() or not any(out.iterdir()):
            return
    except OSError as exc:          # a name too long, a folder that cannot be listed, ...
        raise output_problem(out, exc) from None
    if not force:
        raise UsageError(f"--out {out}: folder exists and is not empty; choose another folder or pass --force "
                         "to replace it")
    problems = []
    inside = _inputs_inside(out, inputs)
    for name in inside:
        problems.append(f"--out {out}: holds the input file {name}, which --force would delete; "
                        "choose another output folder (or move the input file out of it)")
    if not inside and not (out / MANIFEST).is_file():
        problems.append(f"--out {out}: is not an effectmod output folder (it has no {MANIFEST}), so --force "
                        "will not replace it; choose another output folder, or empty or delete this one yourself")
    if problems:
        raise UsageError(problems)


def output_problem(out: Path, exc: OSError, what: str = "the output folder", flag: str = "--out") -> UsageError:
    """The message for an OSError met while checking or writing an output path: a full disk, a
    read-only place, a path through a file, a name too long are the user's to fix, not a bug."""
    reason = exc.strerror or type(exc).__name__
    if exc.errno == errno.ENAMETOOLONG:
        longest = max((len(part) for part in Path(out).parts), default=0)
        reason += (f": a name in it has {longest} characters, and file systems allow 255 bytes per name"
                   if longest > 255 else f": the whole path has {len(str(out))} characters, more than this system allows")
    return UsageError(f"{flag} {out}: cannot write {what} there ({reason}); choose another name or place (nothing was written)")


def _inputs_inside(out: Path, inputs) -> list[str]:
    root = out.resolve()
    found = []
    for item in inputs:
        if item is None or not isinstance(item, (str, os.PathLike)):
            continue
        path = Path(item)
        try:
            resolved = path.resolve()
        except OSError:
            continue
        if resolved == root or resolved.is_relative_to(root):
            found.append(str(item))
    return found


def write_folder(out: str | Path, force: bool, fill, inputs=()) -> Path:
    """Build an output folder with ``fill(folder)`` in a temporary sibling, then rename it into
    place, so that a failure or an interruption never leaves a half-written folder.

    Without ``force`` the rename itself is the last check: it succeeds only where no folder or
    an empty one is (``rename(2)`` refuses a non-empty target atomically), so a folder that
    another run or program filled meanwhile is never removed. With ``force`` the old folder is
    checked again (an effectmod output folder holding none of ``inputs``) and replaced only once
    the new one is complete."""
    out = Path(out)
    check_output_folder(out, force, inputs)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        fill(tmp)
        share_like_umask(tmp)
        if not _rename_into_place(tmp, out):
            if not force:
                raise UsageError(f"--out {out}: the folder was created or filled by something else while "
                                 "effectmod was computing; it was left as it is and nothing was written. "
                                 "Choose another folder, or pass --force to replace it")
            check_output_folder(out, force, inputs)
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
            os.rmdir(old)
            os.replace(out, old)
            try:
                if not _rename_into_place(tmp, out):
                    raise UsageError(f"--out {out}: the folder was created again by something else while "
                                     f"effectmod replaced it; the previous folder is kept as {old}")
            except BaseException:
                try:
                    os.replace(old, out)      # put the user's folder back as it was
                except OSError:
                    pass
                raise
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _rename_into_place(tmp: Path, out: Path) -> bool:
    """Rename ``tmp`` to ``out`` if ``out`` is absent or an empty folder; False if it holds
    something (or is a file), leaving it untouched."""
    for _ in range(2):
        try:
            os.rename(tmp, out)
            return True
        except OSError as exc:
            if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR, errno.EISDIR):
                raise
        # where rename(2) does not replace an empty folder (Windows): remove it if it is still
        # empty (rmdir refuses otherwise, atomically) and try once more
        try:
            os.rmdir(out)
        except OSError:
            return False
    return False


# ------------------------------------------------------------------ single files

def check_new_files(paths, force: bool) -> None:
    """Refuse (one line per file) to replace existing files unless ``force``."""
    if force:
        return
    problems = [f"{p}: exists; choose another name or pass --force to replace it"
                for p in map(Path, paths) if os.path.lexists(p)]
    if problems:
        raise UsageError(problems)


def write_file(path: str | Path, write, force: bool = False) -> Path:
    """Write one file atomically with ``write(tmp_path)`` in a temporary sibling, then put it in
    place: with ``force`` replacing what is there, without it only if nothing is there when it
    is placed (a hard link cannot overwrite), so a file that appeared meanwhile is kept."""
    path = Path(path)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        share_like_umask(tmp)       # mkstemp makes the file private; this is an ordinary file
        if force:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)
            except FileExistsError:
                check_new_files([path], force=False)
                raise
            except OSError:         # no hard links here (some network or FAT drives)
                check_new_files([path], force=False)
                os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def write_output_file(out: str | Path, write, force: bool, what: str) -> Path:
    """A file a command writes at ``--out`` (a draft plan, a SAP): refused when it exists without
    ``force`` or its folder is missing, written by ``write_file``, and any error of the file system
    reported as the user's to fix (exit 2), naming ``what`` was being written."""
    out = Path(out)
    try:
        if out.exists() and not force:
            raise UsageError(f"--out {out}: exists; choose another name or pass --force to replace it")
        if not out.parent.is_dir():
            raise UsageError(f"--out {out}: the folder {out.parent} does not exist")
        return write_file(out, write, force=force)
    except OSError as exc:
        raise output_problem(out, exc, what) from None


# ------------------------------------------------------------------ CSV

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def spreadsheet_text(value):
    """A text cell that a spreadsheet would read as a formula (it begins with = + - @, a tab or a
    line break: ``=HYPERLINK(...)``, ``@SUM(...)``, ``-2+3+cmd|...``) gets a leading
    single quote, as OWASP advises; a text that is a plain number (``-0.12``, ``+3``) and
    anything that is not text are returned as they are."""
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def _one_newline(value):
    # a lone carriage return is not quoted by the csv module and would split the row
    if isinstance(value, str) and "\r" in value:
        return value.replace("\r\n", "\n").replace("\r", "\n")
    return value


def write_csv(df, path: str | Path, full_precision: bool = True) -> None:
    """Write a CSV that users open in spreadsheets: text cells neutralised (``spreadsheet_text``),
    numbers untouched - with ``full_precision`` floats as repr(float), missing as empty cells."""
    import pandas as pd

    from .report.text import utf8
    out = df.copy()
    for col in out.columns:
        dtype = out[col].dtype
        if pd.api.types.is_float_dtype(dtype):
            if full_precision:
                out[col] = [("" if (v is None or math.isnan(v)) else repr(float(v))) for v in out[col]]
        elif not (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_datetime64_any_dtype(dtype)):
            out[col] = [spreadsheet_text(_one_newline(utf8(v) if isinstance(v, str) else v)) for v in out[col]]
    out.columns = [spreadsheet_text(_one_newline(utf8(str(c)))) for c in out.columns]
    out.to_csv(path, index=False)


def write_power_folder(out: Path, force: bool, tables: dict, manifest: dict, inputs=(), extra: dict | None = None) -> None:
    """A power command's output folder, written whole or not at all: each table as CSV (display
    precision), the ``extra`` files' bytes, and manifest.json; an OSError becomes the usual message."""
    import json

    def fill(folder: Path) -> None:
        for name, table in tables.items():
            write_csv(table, folder / name, full_precision=False)
        for name, data in (extra or {}).items():
            (folder / name).write_bytes(data)
        (folder / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    try:
        write_folder(out, force, fill, inputs=inputs)
    except OSError as exc:
        raise output_problem(out, exc, "the power results") from None
