"""What the reader sees for a coded value: an arm's name (``data.arm_labels``) and a moderator
level's label (``moderators[].level_labels``), else the data's value as it is.

The one place where coded values become words, for the report, tables.docx, Table 1, the
figures and the console; results.csv, results.json and the rows the report matches on keep the
data values. Every function returns printable text (control characters shown as escapes).
"""
from __future__ import annotations

from dataclasses import replace

from ..plan.display_labels import display_key, labels_by_key
from .labels import label_of
from .text import printable


def short_label(m) -> str:
    """A moderator's label without its closing parenthesis ('Sex (1 = male)' -> 'Sex'), for sentences and titles."""
    label = label_of(m)
    return label.split(" (")[0] if label.endswith(")") and " (" in label else label


def in_sentence(text: str) -> str:
    """``text`` inside a sentence: its first letter in lower case, unless it starts an acronym (RMDQ, NRS)."""
    return text if text[:2].isupper() else text[:1].lower() + text[1:]


def bare_number(shown: str) -> bool:
    """A level shown as a number only ('1', '2.5'): it says nothing without its moderator's name."""
    try:
        float(shown)
    except ValueError:
        return False
    return True


def arm_name(plan, value) -> str:
    """The display name of an arm given by its data value (or key)."""
    names = labels_by_key(plan.data.arm_labels) if plan is not None else {}
    return printable(names.get(display_key(value) or "", str(value)))


def level_name(plan, moderator: str, value) -> str:
    """The display label of a level of a binary or categorical moderator (by its plan name)."""
    m = next((m for m in getattr(plan, "moderators", ()) if m.name == moderator), None)
    names = labels_by_key(m.level_labels) if m is not None else {}
    return printable(names.get(display_key(value) or "", str(value)))


def column_level_names(plan, column: str) -> dict[str, str]:
    """Level key -> label for a data column that a labelled moderator reads (Table 1's rows)."""
    out: dict[str, str] = {}
    for m in getattr(plan, "moderators", ()):
        if m.column == column and m.level_labels:
            out.update({k: printable(v) for k, v in labels_by_key(m.level_labels).items()})
    return out


def comparison_name(plan, trial, comparison) -> str:
    """A multi-arm comparison as the reader sees it ('Exercise vs Usual care'); 'all arms' and
    text that names no known comparison are kept."""
    text = "" if comparison is None else str(comparison)
    if trial is None or not plan.data.arm_labels:
        return text
    control = trial.flow.arm_values.get("control", "")
    for arm in (trial.arm_labels or (trial.flow.arm_values.get("treated", ""),)):
        if text == f"{arm} vs {control}":
            return f"{arm_name(plan, arm)} vs {arm_name(plan, control)}"
    return text


def arm_pair(results) -> tuple[str, str]:
    """(treated, control): the display names of the two compared arms."""
    v = results.trial.flow.arm_values
    return arm_name(results.plan, v.get("treated", "treated")), arm_name(results.plan, v.get("control", "control"))


def column_level_name(plan, column: str, value) -> str:
    """A Table 1 level of a data column: the label a moderator reading that column gives it."""
    for m in getattr(plan, "moderators", ()):
        if m.column == column and m.level_labels:
            names = labels_by_key(m.level_labels)
            key = display_key(value) or ""
            if key in names:
                return printable(names[key])
    return str(value)


def level_names(results) -> dict:
    """Each binary or categorical moderator's reference level (by name) and its levels (by (name,
    level)) as the reader sees them: the map ``tables.term_label`` reads ('female vs male'). A
    binary moderator's one interaction row (term '') maps (name, '') to the comparison it makes
    (``binary_comparison``)."""
    out: dict = {}
    for name, m in results.trial.moderators.items():
        if m.levels:
            out[name] = level_name(results.plan, name, m.levels[0])
            out.update({(name, lv): level_name(results.plan, name, lv) for lv in m.levels})
            shown = binary_comparison(results, name)
            if shown:
                out[(name, "")] = shown
    return out


def binary_comparison(results, name: str) -> str:
    """Which level a binary moderator's interaction compares with which: '<level> vs <reference>'
    in the display labels ('female vs male'; the data values '1 vs 0' without level_labels). ''
    for a moderator that is not binary or has one level, and when its label already says it (the
    label contains '<level> vs <reference>', letter case aside: 'Sex (female vs male)')."""
    m = results.trial.moderators.get(name)
    if m is None or m.type != "binary" or len(m.levels) != 2:
        return ""
    ref, level = (level_name(results.plan, name, lv) for lv in m.levels)
    text = f"{level} vs {ref}"
    return "" if text.casefold() in printable(m.label or name).casefold() else text


def display_flow(plan, flow):
    """The participant flow with the arms' display names (the report's flow text and the console);
    the counts are the flow's own."""
    if plan is None or not plan.data.arm_labels:
        return flow
    values = {k: arm_name(plan, v) for k, v in flow.arm_values.items()}
    if flow.treated_arms:       # multi-arm: the treated arms' values joined by ', '
        values["treated"] = ", ".join(arm_name(plan, a) for a in flow.treated_arms)
    return replace(flow, arm_values=values,
                   treated_arms={arm_name(plan, a): n for a, n in flow.treated_arms.items()})
