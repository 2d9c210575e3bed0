"""What preparing the data finds: ``Problems`` (each stops the analysis; all are raised together, one
line each) and ``warnings`` (doubts recorded in the data flow), and the wording shared by their messages."""
from __future__ import annotations


class Problems(list):
    """Problems that stop the analysis, and (``warnings``) doubts that the data flow records."""

    def __init__(self) -> None:
        super().__init__()
        self.warnings: list[str] = []
        self.notes: list[str] = []      # what the data flow records without a doubt (words read as missing)

    def add(self, text: str) -> None:
        self.append(text)

    def warn(self, text: str) -> None:
        if text not in self.warnings:
            self.warnings.append(text)

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)


def token_counts(kept: dict[str, int]) -> str:
    return ", ".join(f"'{k}' ({n} rows)" for k, n in kept.items())


def token_fix(kept: dict[str, int]) -> str:
    codes = ", ".join(f"'{k}'" for k in kept)
    return f"if {'it means' if len(kept) == 1 else 'they mean'} missing, add {codes} to data.missing_codes"


def bool_hint(value) -> str:
    if isinstance(value, bool):
        return (" YAML reads unquoted yes/no/on/off/true/false as a boolean; "
                "quote the value in the plan (e.g. \"No\")")
    return ""
