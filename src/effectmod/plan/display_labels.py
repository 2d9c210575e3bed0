"""Display labels for coded values (``data.arm_labels``, ``moderators[].level_labels``).

Trial files code arms and moderator levels as numbers (treatment 0/1, sex 1/2); the plan may name
them for the reader. Labels change only what the report, the console, the tables and the figures
show: results.csv and results.json keep the data values. Keys are compared as the data's values
are (1, 1.0 and "1" are one value), by ``display_key``, light enough for the plan layer.
"""
from __future__ import annotations

import math
import re
import unicodedata
from typing import Mapping, Optional

_INTEGER = re.compile(r"^[+-]?\d+$")


def display_key(value) -> Optional[str]:
    """A plan key or data value as comparable text, the rule of ``data.values.value_key``:
    numbers normalised (1, 1.0, '1' -> '1'), booleans 'true'/'false', text in NFC form, stripped."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return None
        return str(int(value)) if value.is_integer() else repr(value)
    text = unicodedata.normalize("NFC", str(value)).strip()
    if not text:
        return None
    if text.lower() in ("true", "false"):
        return text.lower()
    if _INTEGER.match(text):
        return str(int(text))
    try:
        number = float(text)
    except ValueError:
        return text
    return display_key(number) if math.isfinite(number) else text


def check_labels(mapping: Optional[dict]) -> Optional[dict]:
    """Labels are non-empty text, one per value, and no two values share one."""
    if mapping is None:
        return None
    problems = []
    seen_keys: dict[str, object] = {}
    seen_labels: dict[str, object] = {}
    for key, label in mapping.items():
        k = display_key(key)
        if k is None:
            problems.append(f"the key {key!r} is empty; give the value as it is in the data")
            continue
        if k in seen_keys:
            problems.append(f"{seen_keys[k]!r} and {key!r} are the same value; give it once")
        seen_keys[k] = key
        text = label.strip() if isinstance(label, str) else ""
        if not text:
            problems.append(f"the label of {key!r} is empty; give a non-empty text")
            continue
        if text in seen_labels:
            problems.append(f"{seen_labels[text]!r} and {key!r} have the same label {text!r}; labels must differ")
        seen_labels[text] = key
    if problems:
        raise ValueError("\n".join(problems))
    return {key: label.strip() for key, label in mapping.items()}


def labels_by_key(mapping: Optional[Mapping]) -> dict[str, str]:
    """The plan's mapping keyed by ``display_key`` (the form the data's values take)."""
    out: dict[str, str] = {}
    for key, label in (mapping or {}).items():
        k = display_key(key)
        if k is not None:
            out[k] = label
    return out


def _arms(treated) -> list:
    return list(treated) if isinstance(treated, list) else [treated]


def unnamed_arm_keys(treated, control, labels: Mapping) -> list:
    """Keys of ``data.arm_labels`` that name no arm of the plan (its treated arms and control)."""
    named = {display_key(a) for a in _arms(treated)} | {display_key(control)}
    return [k for k in labels if display_key(k) not in named]


def allowed_arms(treated, control) -> str:
    """'1 (data.treated), 0 (data.control)': the values ``data.arm_labels`` may name."""
    parts = [f"{a!r} (data.treated)" for a in _arms(treated)]
    parts.append(f"{control!r} (data.control)" if control is not None else "the control arm's value")
    return ", ".join(parts)


def yaml_bool_hint(keys) -> str:
    """The hint for keys that YAML read as booleans (unquoted yes/no/on/off)."""
    if any(isinstance(k, bool) for k in keys):
        return "; YAML reads unquoted yes/no/on/off/true/false as a boolean: quote the value in the plan (e.g. \"No\")"
    return ""
