"""Read a plan file and turn every problem in it into one readable line."""
from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from ..counts import value_kind
from ..errors import PlanError
from .schema import Analysis, Covariate, DataSpec, Moderator, Outcome, Plan, covariate_column


def load_plan(source: str | Path | dict) -> Plan:
    """Load and validate a plan from a YAML file path or an already-parsed mapping.

    Raises ``PlanError`` listing every problem, each naming its plan path
    (e.g. ``moderators[2].column``) and what was expected.
    """
    raw, origin = read_plan_mapping(source)
    return validate_plan(raw, origin=origin)


def read_plan_mapping(source: str | Path | dict) -> tuple[dict, str]:
    """The plan as a parsed mapping and the name to quote in messages; PlanError if it is not one."""
    if isinstance(source, dict):
        return source, "plan"
    if not isinstance(source, (str, Path)):
        raise PlanError(f"plan: expected a Plan, a mapping or the path of a YAML file, got {type(source).__name__}")
    path = Path(source)
    try:
        size = path.stat().st_size if path.is_file() else 0
        if size > MAX_PLAN_BYTES:
            raise PlanError(f"plan file {path}: {size:,} bytes is far more than a plan (limit {MAX_PLAN_BYTES:,} bytes); "
                            "is it the data file?")
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise PlanError(f"plan file {path}: not found") from None
    except IsADirectoryError:
        raise PlanError(f"plan file {path}: is a folder, expected a YAML file") from None
    except PermissionError:
        raise PlanError(f"plan file {path}: cannot be read (permission denied)") from None
    except UnicodeDecodeError:
        raise PlanError(f"plan file {path}: is not UTF-8 text; expected a YAML file") from None
    except OSError as exc:
        raise PlanError(f"plan file {path}: cannot be read ({exc.strerror or type(exc).__name__})") from None
    try:
        raw = yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.YAMLError as exc:
        where = ""
        mark = getattr(exc, "problem_mark", None)
        if mark is not None:
            where = f" at line {mark.line + 1}, column {mark.column + 1}"
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        what = "" if isinstance(exc, _KeyProblem) else " not valid YAML"
        raise PlanError(f"plan file {path}:{what}{where}: {problem}") from None
    except RecursionError:
        raise PlanError(f"plan file {path}: nested too deeply to be a plan") from None
    except _PlanTooLarge as exc:
        raise PlanError(f"plan file {path}: {exc}") from None
    if raw is None:
        raise PlanError(f"plan file {path}: is empty; expected a mapping with data, outcomes and moderators (see `effectmod init`)")
    if not isinstance(raw, dict):
        raise PlanError(f"plan file {path}: the top level is {value_kind(raw)}, expected a mapping with data, outcomes and moderators")
    return raw, str(path)


# a plan is a few hundred values; YAML aliases can make a short file expand to billions
# ("billion laughs"), which would take minutes and gigabytes to validate and report
MAX_PLAN_BYTES = 1 << 20
MAX_PLAN_NODES = 100_000


class _PlanTooLarge(Exception):
    pass


class _KeyProblem(yaml.constructor.ConstructorError):
    """Valid YAML, but keys no plan can have."""


class _UniqueKeyLoader(yaml.SafeLoader):
    """safe_load that refuses a key given twice in one mapping (YAML would keep the last one
    silently, and a plan must never change its analysis without saying so), a key that is a list
    or mapping, and a document whose aliases expand it beyond ``MAX_PLAN_NODES`` values."""

    def get_single_node(self):
        node = super().get_single_node()
        if node is not None:
            _check_expanded_size(node)
        return node

    def construct_mapping(self, node, deep=False):
        seen = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                kind = "a list" if isinstance(key_node, yaml.SequenceNode) else "a mapping"
                raise _KeyProblem(
                    None, None, f"a key is {kind} (written with '?' or as [..] / {{..}}); plan keys are names such as "
                    "'model' or 'seed'", key_node.start_mark)
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise _KeyProblem(
                    None, None, f"key '{key}' is given twice (also at line {seen[key] + 1}); keep one",
                    key_node.start_mark)
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


def _check_expanded_size(root) -> None:
    """Count the values of the document as aliases expand it (each alias counts its whole target
    again), without expanding it; _PlanTooLarge beyond MAX_PLAN_NODES or for an alias to itself."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            open_nodes.discard(key)
            children = _children(node)
            sizes[key] = 1 + sum(sizes[id(c)] for c in children)
            if sizes[key] > MAX_PLAN_NODES:
                raise _PlanTooLarge(f"its aliases (*name) expand it to more than {MAX_PLAN_NODES:,} values, far more than a "
                                    "plan holds; write the values out or use fewer aliases")
            continue
        if key in sizes:
            continue
        if key in open_nodes:
            raise _PlanTooLarge(f"an alias refers to the value that contains it (line {node.start_mark.line + 1}), "
                                "which never ends; remove it")
        open_nodes.add(key)
        stack.append((node, True))
        stack.extend((c, False) for c in _children(node) if id(c) not in sizes)


def _children(node) -> list:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def validate_plan(raw: dict, origin: str = "plan") -> Plan:
    try:
        return Plan.model_validate(raw)
    except ValidationError as exc:
        raise PlanError([f"{origin}: {line}" for line in describe_errors(exc, Plan)]) from None


def salvage_plan(raw) -> tuple[Plan | None, list[tuple[str, str]]]:
    """A best-effort plan from a mapping that failed validation, so that the data can be checked too.

    Unknown keys and invalid optional keys are dropped; an outcome or moderator that still does
    not validate is left out, and its column names are returned as (plan path, column) so that
    their presence in the data can be checked anyway. Returns (None, columns) when the data
    section itself is unusable. The plan skips the cross-checks: use it for checking only.
    """
    if not isinstance(raw, dict):
        return None, []
    dropped: list[tuple[str, str]] = []
    parts: dict[str, list[Any]] = {}
    spec_raw = raw.get("data")
    spec: dict = spec_raw if isinstance(spec_raw, dict) else {}
    long = spec.get("time") is not None
    for section, model in (("outcomes", Outcome), ("moderators", Moderator)):
        kept = []
        items = raw.get(section)
        for i, item in enumerate(items if isinstance(items, list) else []):
            obj = _lenient(model, item)
            if obj is not None and section == "outcomes" and obj.derive is None and (
                    (long and obj.column is None) or (not long and obj.followups is None and obj.type != "time_to_event")):
                obj = None      # the wrong layout for the data (the plan's own check says so)
            if obj is None:
                dropped += [(f"{section}[{i}].{key}", col) for key, col in _column_refs(item, long)]
            else:
                kept.append(obj)
        parts[section] = kept
    covariates = raw.get("covariates")
    parts["covariates"] = _salvage_covariates(covariates) if isinstance(covariates, list) else []
    analysis = _lenient(Analysis, raw.get("analysis", {})) or Analysis()
    data = _lenient(DataSpec, raw.get("data"))
    if data is None:
        dropped += [(f"data.{key}", spec[key]) for key in ("id", "treatment", "time") if isinstance(spec.get(key), str)]
        for section in ("outcomes", "moderators"):
            items = raw.get(section)
            for i, item in enumerate(items if isinstance(items, list) else []):
                dropped += [(f"{section}[{i}].{key}", col) for key, col in _column_refs(item, long)]
        dropped += [(f"covariates[{i}]", covariate_column(c)) for i, c in enumerate(parts["covariates"])]
        return None, list(dict.fromkeys(dropped))
    return Plan.model_construct(title="", data=data, outcomes=parts["outcomes"], moderators=parts["moderators"],
                                covariates=parts["covariates"], analysis=analysis), dropped


def _salvage_covariates(items: list) -> list:
    """Plain names and valid mapping entries, each column once; a broken mapping entry is
    kept as its plain column name, so that the column is still checked in the data."""
    out, seen = [], set()
    for c in items:
        if isinstance(c, dict):
            c = _lenient(Covariate, c) or (c.get("column") if isinstance(c.get("column"), str) else None)
        if c is None or not isinstance(c, (str, Covariate)) or covariate_column(c) in seen:
            continue
        seen.add(covariate_column(c))
        out.append(c)
    return out


def _lenient(model: type[BaseModel], value):
    """``model`` validated from ``value`` after dropping unknown or invalid optional keys; None if impossible."""
    if not isinstance(value, dict):
        return None
    value = dict(value)
    for _ in range(len(value) + 1):
        try:
            return model.model_validate(value)
        except ValidationError as exc:
            bad = {err["loc"][0] for err in exc.errors() if err["loc"]}
            fixable = {k for k in bad if k in value and _optional(model, k)}
            if not fixable or any(not err["loc"] for err in exc.errors()):
                return None
            for k in fixable:
                del value[k]
    return None


def _optional(model: type[BaseModel], key) -> bool:
    by_alias = {(f.alias or n): f for n, f in model.model_fields.items()}
    field = by_alias.get(key) or model.model_fields.get(key)
    return field is None or not field.is_required()


def _column_refs(item, long: bool) -> list[tuple[str, str]]:
    """Column names an outcome or moderator entry refers to, however broken the entry."""
    if not isinstance(item, dict):
        return []
    # in long data an outcome's baseline is a time value, not a column
    refs = [(k, item[k]) for k in (("column",) if long else ("column", "baseline")) if isinstance(item.get(k), str)]
    if isinstance(item.get("followups"), dict):
        refs += [(f"followups['{label}']", col) for label, col in item["followups"].items() if isinstance(col, str)]
    return refs


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
            lines.append(f"{path}: expected a mapping of keys, got {value_kind(err['input'])}")
        elif kind == "list_type":
            lines.append(f"{path}: expected a list, got {value_kind(err['input'])}")
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
        if isinstance(part, int) or (part != "" and not format_path((part,))):
            continue    # a list index, or a union branch's name (e.g. the mapping form of a covariate)
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


