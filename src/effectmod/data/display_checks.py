"""The display labels' keys checked against the data: a moderator's ``level_labels`` must name
levels of its column, and ``data.arm_labels`` (when ``data.control`` is not given) the control arm
found in the data. The plan's own checks (plan/display_labels.py) come first."""
from __future__ import annotations

from ..plan.display_labels import display_key
from .problems import Problems, bool_hint


def _bool_hint(keys) -> str:
    """YAML's unquoted yes/no read as booleans: the hint of the arms' and references' messages."""
    return next((h for k in keys if (h := bool_hint(k))), "")


def check_level_labels(m, i: int, levels, problems: Problems) -> None:
    """``moderators[i].level_labels``: every key a level of the moderator's column."""
    if not m.level_labels:
        return
    unknown = [k for k in m.level_labels if display_key(k) not in set(levels)]
    if unknown:
        shown = ", ".join(repr(k) for k in unknown)
        problems.add(f"moderators[{i}].level_labels: {shown} {'is not a level' if len(unknown) == 1 else 'are not levels'} "
                     f"of column '{m.column}'; levels: {', '.join(repr(v) for v in levels)}.{_bool_hint(unknown)}".rstrip("."))


def check_arm_labels(plan, treated: str | None, control: str | None, problems: Problems) -> None:
    """``data.arm_labels`` without ``data.control``: a key that is not the treated arm must be the
    control arm found in the data."""
    if not plan.data.arm_labels or plan.data.control is not None or control is None:
        return
    named = {display_key(a) for a in plan.data.treated_arms} | {control}
    unknown = [k for k in plan.data.arm_labels if display_key(k) not in named]
    if unknown:
        shown = ", ".join(repr(k) for k in unknown)
        problems.add(f"data.arm_labels: {shown} {'is not an arm' if len(unknown) == 1 else 'are not arms'} of column "
                     f"'{plan.data.treatment}'; allowed keys: {treated!r} (data.treated), {control!r} (the control arm)."
                     f"{_bool_hint(unknown)}".rstrip("."))
