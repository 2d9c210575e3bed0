"""What every section of the plan schema shares: the strict frozen model, names and follow-up labels."""
from __future__ import annotations

import re
from typing import Union

from pydantic import BaseModel, ConfigDict

Scalar = Union[bool, int, float, str]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def check_name(value: str) -> str:
    if not _NAME.match(value):
        raise ValueError(
            "must start with a letter or underscore and contain only letters, digits, '_', '.' or '-'"
        )
    return value


def label_key(value) -> str:
    """A follow-up label compared as a time: spaces stripped, numbers normalised (18.0 -> 18)."""
    text = label_text(value).strip()
    try:
        number = float(text)
    except ValueError:
        return text
    return label_text(number) if number == number and abs(number) != float("inf") else text


def label_text(value) -> str:
    """Follow-up labels as text, integers without a decimal point (CONTRACT §2)."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
