"""Read a plan file and turn every problem in it into one readable line."""
from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from ..errors import PlanError
from .schema import Plan


def load_plan(source: str | Path | dict) -> Plan:
    """Load and validate a plan from a YAML file path or an already-parsed mapping.

    Raises ``PlanError`` listing every problem, each naming its plan path
    (e.g. ``moderators[2].column``) and what was expected.
    """
    if isinstance(source, dict):
        return validate_plan(source, origin="plan")
    path = Path(source)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise PlanError(f"plan file {path}: not found") from None
    except IsADirectoryError:
        raise PlanError(f"plan file {path}: is a folder, expected a YAML file") from None
    except PermissionError:
        raise PlanError(f"plan file {path}: cannot be read (permission denied)") from None
    except UnicodeDecodeError:
        raise PlanError(f"plan file {path}: is not UTF-8 text; expected a YAML file") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        where = ""
        mark = getattr(exc, "problem_mark", None)
        if mark is not None:
            where = f" at line {mark.line + 1}, column {mark.column + 1}"
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise PlanError(f"plan file {path}: not valid YAML{where}: {problem}") from None
    if raw is None:
        raise PlanError(f"plan file {path}: is empty; expected a mapping with data, outcomes and moderators (see `effectmod init`)")
    if not isinstance(raw, dict):
        raise PlanError(f"plan file {path}: the top level is a {_yaml_kind(raw)}, expected a mapping with data, outcomes and moderators")
    return validate_plan(raw, origin=str(path))


def validate_plan(raw: dict, origin: str = "plan") -> Plan:
    try:
        return Plan.model_validate(raw)
    except ValidationError as exc:
        raise PlanError([f"{origin}: {line}" for line in describe_errors(exc, Plan)]) from None


def describe_errors(exc: ValidationError, model: type[BaseModel]) -> list[str]:
    lines = []
    for err in exc.errors(include_url=False):
        loc = err["loc"]
        path = format_path(loc)
        kind = err["type"]
        if kind == "extra_forbidden":
            lines.append(_unknown_key(model, loc))
        elif kind == "missing":
            lines.append(f"{path}: required key is missing")
        elif kind == "literal_error":
            expected = err.get("ctx", {}).get("expected", "")
            lines.append(f"{path}: {err['input']!r} is not allowed; expected {expected}")
        elif kind == "value_error":
            msg = str(err.get("ctx", {}).get("error", err["msg"]))
            for part in msg.splitlines():
                lines.append(f"{path}: {part}" if path else part)
        elif kind in ("dict_type", "model_type", "model_attributes_type"):
            lines.append(f"{path}: expected a mapping of keys, got {_yaml_kind(err['input'])}")
        elif kind == "list_type":
            lines.append(f"{path}: expected a list, got {_yaml_kind(err['input'])}")
        elif kind == "too_short":
            lines.append(f"{path}: needs at least one entry")
        else:
            lines.append(f"{path}: {err['msg'].rstrip('.')}; got {err.get('input')!r}")
    return lines or [str(exc)]


def format_path(loc: tuple) -> str:
    # union branches show up as type names in pydantic locations; a user never wrote those
    parts = [p for p in loc if not (isinstance(p, str) and (p[:1].isupper() or p in {"str", "int", "float", "bool"} or "[" in p))]
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def _unknown_key(model: type[BaseModel], loc: tuple) -> str:
    parent = _model_at(model, loc[:-1])
    key = loc[-1]
    allowed = sorted(parent.model_fields) if parent else []
    aliases = [f.alias for f in parent.model_fields.values() if f.alias] if parent else []
    allowed = sorted(set(allowed) - {n for n, f in parent.model_fields.items() if f.alias} | set(aliases)) if parent else []
    close = difflib.get_close_matches(str(key), allowed, n=1)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    where = format_path(loc[:-1])
    prefix = f"{where}.{key}" if where else str(key)
    return f"{prefix}: unknown key.{hint} Allowed here: {', '.join(allowed)}"


def _model_at(model: type[BaseModel], loc: tuple):
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        field = current.model_fields.get(part) if hasattr(current, "model_fields") else None
        if field is None:
            return None
        ann = field.annotation
        current = _inner_model(ann)
        if current is None:
            return None
    return current


def _inner_model(ann):
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return ann
    for arg in getattr(ann, "__args__", ()) or ():
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def _yaml_kind(value) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if value is None:
        return "nothing"
    return f"the {type(value).__name__} {value!r}"
