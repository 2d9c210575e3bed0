"""The draft plan written as commented YAML, line by line so that the comments survive; every guess
marked ``# CONFIRM:`` and every placeholder ``TODO``; data labels always quoted."""
from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from ...data.values import value_key
from ..schema import Moderator as PlanModerator
from ..schema import Outcome as PlanOutcome
from .defaults import analysis_lines, choices_text, default
from .records import Draft, Moderator, Outcome


def _q(value) -> str:
    """A data label as a double-quoted YAML string: never read back as a boolean or number."""
    return json.dumps(str(value), ensure_ascii=False)


def _mapping(labels: dict[str, str]) -> str:
    """A flow mapping of value -> label, both quoted: {"1": "Exercise", "0": "Usual care"}."""
    return "{" + ", ".join(f"{_q(k)}: {_q(v)}" for k, v in labels.items()) + "}"


def _name(text: str) -> str:
    """A column or plan name: plain when YAML reads it back as the same string, else quoted."""
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.\-]*", text) and yaml.safe_load(text) == text:
        return text
    return _q(text)


def _levels_text(levels: list[str], limit: int = 6) -> str:
    shown = ", ".join(_q(lv) for lv in levels[:limit])
    return shown + (f" and {len(levels) - limit} more" if len(levels) > limit else "")


def render_draft(d: Draft) -> str:
    """The commented YAML text of a draft plan."""
    out = [
        f"# effectmod analysis plan: a DRAFT written by `effectmod init` from {d.source} ({d.rows} rows).",
        "# Every guess is marked CONFIRM and every placeholder TODO: check each one against the trial's",
        "# protocol and statistical analysis plan, delete what does not belong, then run",
        f"#   effectmod validate {d.source} --plan THIS_FILE",
        "# Unknown keys are errors; the full list of keys is in docs/plan-reference.md.",
        "",
        f"title: {_q('Treatment effect modifiers: ' + Path(d.source).stem)}   # TODO: free text shown in the report",
        "",
        "data:",
    ]
    if d.id:
        out.append(f"  id: {_name(d.id)}   # CONFIRM: participant id column ({d.id_note})")
    else:
        out.append("  id: TODO_id_column   # TODO: the participant id column (no column is unique on every row)")
    if d.arm:
        out.append(f"  treatment: {_name(d.arm)}   # CONFIRM: column holding the randomised arm")
        if d.treated_arms:
            out.append(f"  treated: [{', '.join(_q(a) for a in d.treated_arms)}]   # CONFIRM: the intervention arms, "
                       f"each compared with the control in one model with every arm ({d.arm_note})")
            out.append(f"  control: {_q(d.control)}   # CONFIRM: the control arm's value (guessed; required with a list of arms)")
        else:
            out.append(f"  treated: {_q(d.treated)}   # CONFIRM: the intervention arm's value ({d.arm_note})")
            out.append(f"  control: {_q(d.control)}   # CONFIRM: the control arm's value")
        if d.arm_labels:
            out.append(f"  arm_labels: {_mapping(d.arm_labels)}   # CONFIRM: display names, from the file's value labels")
    else:
        out += ["  treatment: TODO_arm_column   # TODO: the column holding the randomised arm (none found by name or value)",
                "  treated: TODO   # TODO: the value that marks the intervention arm",
                "  control: TODO   # TODO: the value that marks the control arm"]
    if d.time:
        out.append(f"  time: {_name(d.time)}   # CONFIRM: long format (one row per visit); times found: {_levels_text(d.time_levels)}")
    else:
        out.append("  # time: only for long data (one row per participant and visit): the column holding the time")
    if d.cluster and d.cluster_suggested:
        out.append(f"  # cluster: {_name(d.cluster)}   # CONFIRM: {d.cluster_note}")
    elif d.cluster:
        out.append(f"  cluster: {_name(d.cluster)}   # CONFIRM: the column of each participant's cluster ({d.cluster_note})")
    if d.sheet is not None:
        out.append(f"  sheet: {_q(d.sheet)}   # Excel: the sheet to read (name or 0-based index)")
    if d.missing_codes:
        out.append(f"  missing_codes: [{', '.join(_q(m) for m in d.missing_codes)}]   "
                   "# CONFIRM: cells with these values are read as missing in every column")
    else:
        out.append("  missing_codes: []   # values that mean 'missing' in every column, e.g. [-99, \".\"]")
    out += ["", "# One entry per outcome. Continuous outcomes are analysed on their scale; binary ones by logistic",
            "# regression (event = the value that counts). range: values outside are reported as data errors.",
            "outcomes:"]
    for note in d.unsupported:
        out.append(f"# NOT SUPPORTED: {note}.")
    if not d.outcomes:
        out += ["  - name: TODO_outcome   # TODO: no repeated-measure columns recognised (names like pain_0, pain_18)",
                "    type: continuous",
                f"    better: lower   # TODO: {choices_text(PlanOutcome, 'better')}: which direction of the outcome is better for participants",
                "    baseline: TODO_baseline_column   # TODO: or delete the line when there is no baseline",
                "    followups:   # follow-up label -> column, in time order",
                "      \"TODO\": TODO_followup_column"]
    for o in d.outcomes:
        out += _render_outcome(o, d)
    out += ["", "# Candidate moderators: every remaining column measured once per participant. Keep only the",
            "# pre-specified ones (baseline characteristics measured before randomisation); for each, state",
            "# the hypothesised direction and the rationale (the pre-specification record shown in the report).",
            "moderators:"]
    if d.time:
        out.append("# (Long data: to use an outcome's baseline as a moderator, add a column holding it on every row.)")
    if not d.moderators:
        out += ["  - name: TODO_moderator   # TODO: no candidate column found",
                "    column: TODO_column",
                f"    type: continuous   # {choices_text(PlanModerator, 'type')}"]
    for m in d.moderators:
        out += _render_moderator(m, d.labels)
    if d.skipped:
        out += ["", "# Columns not used (add them back by hand if they belong in the plan):"]
        out += [f"#   {c}: {why}" for c, why in d.skipped]
    if d.covariates:
        out += ["", "covariates:   # CONFIRM: columns adjusted for in every model (add others, e.g. age)"]
        out += [f"  - {{column: {_name(c)}, type: categorical}}   # CONFIRM: {len(lv)} numeric codes ({_levels_text(lv)}): "
                f"one indicator per level but the first, not one linear term"
                for c, lv in d.covariates]
    else:
        out += ["", "covariates: []   # TODO: columns adjusted for in every model (e.g. stratification factors: [site, age])"]
    clustered = {"se": ("CR2", "data.cluster is drafted: cluster-robust standard errors")} if d.cluster and not d.cluster_suggested else None
    out += ["", *analysis_lines(clustered)]
    return "\n".join(out) + "\n"


def _render_outcome(o: Outcome, d: Draft) -> list[str]:
    label = (f"    label: {_q(o.label)}   # CONFIRM: from the file's variable labels; add the instrument's range" if o.label
             else f"    label: {_q(o.name)}   # TODO: display label with the instrument and its range, e.g. \"Pain (NRS 0-10)\"")
    lines = [f"  - name: {_name(o.name)}",
             label,
             f"    type: {o.type}   # CONFIRM: {choices_text(PlanOutcome, 'type')}"]
    if o.type == "time_to_event":
        from .survival import render_survival
        lines += render_survival(o, _q, _name)
        lines.append(f"    better: lower   # CONFIRM: {choices_text(PlanOutcome, 'better')}: lower when the event is bad for "
                     "participants (death, relapse): a hazard ratio below 1 favours the treated arm")
        return lines
    if o.type == "binary":
        lines.append(f"    event: {_q(o.event)}   # CONFIRM: the value that counts as the event (values: {_levels_text(o.levels)})")
    if o.type == "ordinal":
        # numeric categories (a rating 1-5) written as numbers, so that they match the column's values
        shown = [lv if re.fullmatch(r"-?\d+", lv) else _q(lv) for lv in o.levels]
        lines.append(f"    levels: [{', '.join(shown)}]   # CONFIRM: the categories from lowest to highest")
    if o.type == "count":
        lines.append("    # exposure: weeks_observed   # TODO if follow-up time differs between participants: its column "
                     "(log(exposure) is the offset)")
    lines.append(f"    better: {o.better}   # CONFIRM: {choices_text(PlanOutcome, 'better')}: which direction is better for participants "
                 f"({o.better_note}); it decides 'benefit' and 'favours' in the report")
    if o.range is not None:
        lines.append(f"    range: [{value_key(o.range[0])}, {value_key(o.range[1])}]   # CONFIRM: observed min/max rounded outward; "
                     "replace with the instrument's range")
    if d.time:
        lines.append(f"    column: {_name(o.column or o.name)}")
        lines.append(f"    baseline: {_q(o.baseline)}   # CONFIRM: the baseline time value; "
                     f"every other {d.time} value is a follow-up")
    else:
        if o.baseline:
            lines.append(f"    baseline: {_name(o.baseline)}   # CONFIRM: baseline column")
        else:
            lines.append("    # baseline: no baseline column recognised; add one if it exists")
        lines.append("    followups:   # CONFIRM: follow-up label -> column, in time order")
        lines += [f"      {_q(label)}: {_name(col)}" for label, col in o.followups.items()]
    lines += [f"    # note: {n}" for n in o.notes]
    return lines


def _render_moderator(m: Moderator, labels: dict[str, str]) -> list[str]:
    kind_note = {"continuous": "numbers with many values", "binary": f"two levels: {_levels_text(m.levels)}",
                 "categorical": f"{len(m.levels)} levels: {_levels_text(m.levels)}"}[m.type]
    if m.note:
        kind_note += f"; {m.note}"
    missing = f"; {m.n_missing} missing" if m.n_missing else ""
    lines = [f"  - name: {_name(m.name)}",
             f"    column: {_name(m.column)}",
             f"    type: {m.type}   # CONFIRM: {kind_note}{missing}",
             (f"    label: {_q(labels[m.column])}   # CONFIRM: from the file's variable labels" if m.column in labels
              else f"    label: {_q(m.column)}   # TODO: display label, e.g. \"Back perception (FreBAQ 0-36)\"")]
    if m.type != "continuous":
        lines.append(f"    reference: {_q(m.levels[0])}   # CONFIRM: the reference level (the first level)")
        if m.level_labels:
            lines.append(f"    level_labels: {_mapping(m.level_labels)}   # CONFIRM: display labels, from the file's value labels")
    lines += [f"    hypothesised_direction: {default(PlanModerator, 'hypothesised_direction')}   "
              f"# TODO: {choices_text(PlanModerator, 'hypothesised_direction')}",
              "    rationale: \"\"   # TODO: why this moderator was pre-specified"]
    return lines
