"""Numbers the way JAMA journals print them (CONTRACT §5): the report's name for
``effectmod.formatting``, which inference uses too (inference never imports the report)."""
from __future__ import annotations

from ..formatting import (
    HUGE,
    RATIO_MAX,
    RATIO_MIN,
    exp_or_inf,
    interval,
    jama,
    level_text,
    number,
    p_text,
    ratio,
    ratio_interval,
    ratio_with_ci,
    threshold_text,
)

__all__ = ["HUGE", "RATIO_MAX", "RATIO_MIN", "exp_or_inf", "interval", "jama", "level_text", "number",
           "p_text", "ratio", "ratio_interval", "ratio_with_ci", "threshold_text"]
