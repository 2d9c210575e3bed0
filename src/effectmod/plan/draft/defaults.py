"""What a draft plan takes from the plan schema (plan/schema.py): the `analysis:` section with each
field's default and description, and the allowed values of closed choices, so that a draft cannot
drift from what the schema accepts. The choices ``effectmod init`` makes on purpose, where a draft
deliberately differs from the schema's default, are listed once in ``DRAFT_OVERRIDES``."""
from __future__ import annotations

import json
import typing
from typing import Any

import yaml
from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from ..schema import Analysis

# Analysis fields whose drafted value is not the schema default: field -> (value, why).
DRAFT_OVERRIDES: dict[str, tuple[Any, str]] = {
    "binary_method": ("firth_if_separated",
                      "init drafts Firth where separation is found, so a sparse binary outcome still gives a finite estimate"),
}


def choices(model: type[BaseModel], field: str) -> list[str]:
    """The allowed values of a field typed by a ``Literal`` (also inside Optional or list), in the
    schema's order; empty for an open field."""
    found: list[str] = []

    def walk(tp: Any) -> None:
        if typing.get_origin(tp) is typing.Literal:
            found.extend(str(v) for v in typing.get_args(tp))
        else:
            for arg in typing.get_args(tp):
                walk(arg)

    walk(model.model_fields[field].annotation)
    return found


def choices_text(model: type[BaseModel], field: str) -> str:
    """``a | b | c``: the allowed values of a closed field."""
    return " | ".join(choices(model, field))


def default(model: type[BaseModel], field: str) -> Any:
    """The schema default of a field (the factory's value for list fields)."""
    info = model.model_fields[field]
    if info.default_factory is not None:
        return info.default_factory()  # type: ignore[call-arg]
    if info.default is PydanticUndefined:
        raise KeyError(f"{model.__name__}.{field} has no default")
    return info.default


def yaml_value(value: Any) -> str:
    """A default written as YAML flow text that reads back as the same value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return value if yaml.safe_load(value) == value else json.dumps(value)
    return json.dumps(value)


def drafted_analysis(extra: dict[str, tuple[Any, str]] | None = None) -> dict[str, Any]:
    """The `analysis:` values a draft writes: the schema defaults with ``DRAFT_OVERRIDES`` (and the
    data's own ``extra`` choices, e.g. se: CR2 with a drafted cluster) applied."""
    overrides = {**DRAFT_OVERRIDES, **(extra or {})}
    return {name: (overrides[name][0] if name in overrides else default(Analysis, name))
            for name in Analysis.model_fields}


def analysis_lines(extra: dict[str, tuple[Any, str]] | None = None) -> list[str]:
    """The `analysis:` section: one line per field of the schema, in its order, commented with the
    allowed values and the field's description (and, for an override, why init chose it)."""
    lines = ["analysis:"]
    overrides = {**DRAFT_OVERRIDES, **(extra or {})}
    for name, value in drafted_analysis(extra).items():
        info = Analysis.model_fields[name]
        comment = " ".join(part for part in (
            f"{choices_text(Analysis, name)}:" if choices(Analysis, name) else "",
            info.description or "") if part)
        if name in overrides:
            comment += f" (init's choice: {overrides[name][1]}; the schema default is {yaml_value(default(Analysis, name))})"
        lines.append(f"  {name}: {yaml_value(value)}   # {comment}")
    return lines
