"""The one "label, else name" rule for outcomes, moderators and covariates.

It lives beside the plan, below every layer that names things (data coding, inference, report),
so that none of them repeats it; ``report.labels`` re-exports it with its printable maps.
"""
from __future__ import annotations

from typing import Protocol


class Labelled(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def label(self) -> str | None: ...


def label_of(item: Labelled) -> str:
    """``item.label`` when the plan gives one (not empty), else ``item.name``: for plan outcomes,
    moderators and covariates and the coded data records that carry both."""
    return item.label or item.name
