"""The Poisson fits' overdispersion check said once under a table instead of inside every cell.

models.fit_counts gives each flagged Poisson row the note 'overdispersion: Pearson chi-square/df
= 2.53, negative binomial vs Poisson LR test P < .001; the Poisson SEs are too small: use
analysis.count_model: negative_binomial'. Repeated in every cell of Table 2 it buries the numbers
(MASS::epil: ten cells); as the proportional-hazards test (report.ratio_display), the report's
interaction tables mark the cell ``OD_FLAG`` and the footnote gives each model's numbers once.
results.csv keeps the full note.
"""
from __future__ import annotations

import re
from dataclasses import replace

from ..records import OVERDISPERSION, keys_of
from .labels import moderator_labels, outcome_labels
from .tables import moderator_label, timepoint_text

OD_MARK = "\u2021"
OD_FLAG = f"overdispersed{OD_MARK}"
# the note as models.fit_counts words it
_OD_TEXT = re.compile(r"overdispersion: Pearson chi-square/df = (?P<ratio>[^,]+), negative binomial vs Poisson "
                      r"LR test (?P<p>P [^;]+);.*", re.S)


def _coded(results, key) -> tuple:
    coded = results.row_notes.get(key)
    return coded if isinstance(coded, tuple) else ()


def od_view(results):
    """``results`` whose table's ``note`` column says ``OD_FLAG`` instead of the overdispersion
    note; the other notes stay. For the report's interaction tables only."""
    t = results.table
    if "note" not in t.columns or not len(t):
        return results
    notes, changed = [], False
    for key, text in zip(keys_of(t), t["note"]):
        coded = _coded(results, key)
        if not any(n.code == OVERDISPERSION for n in coded):
            notes.append(text)
            continue
        changed = True
        notes.append("; ".join([n.text for n in coded if n.code != OVERDISPERSION and n.text] + [OD_FLAG]))
    return replace(results, table=t.assign(note=notes)) if changed else results


def od_footnotes(results) -> list[str]:
    """One line per outcome and follow-up with a flagged Poisson fit: each moderator's model's
    Pearson chi-square/df and likelihood-ratio P, once. [] when no fit was flagged."""
    t = results.table
    if not len(t) or "note" not in t.columns:
        return []
    plan = results.plan
    olab, mlab = outcome_labels(plan), moderator_labels(plan)
    lines = []
    for o in plan.outcomes:
        sub = t[t["outcome"] == o.name]
        for tp in dict.fromkeys(sub["timepoint"]):
            rows = sub[sub["timepoint"] == tp]
            parts: dict[str, str] = {}
            for key, r in zip(keys_of(rows), rows.itertuples(index=False)):
                for n in _coded(results, key):
                    m = _OD_TEXT.fullmatch(n.text) if n.code == OVERDISPERSION else None
                    if m:
                        parts.setdefault(moderator_label(plan, r.moderator, mlab),
                                         f"chi-square/df {m.group('ratio')}, {m.group('p')}")
            if not parts:
                continue
            when = timepoint_text(tp, plan.data.time_unit)
            lines.append(f"{OD_MARK} Overdispersion of the Poisson fits (Pearson chi-square/df; negative binomial vs "
                         f"Poisson likelihood-ratio test), {olab.get(o.name, o.name)}, {when}: "
                         + "; ".join(f"{label}: {text}" for label, text in parts.items())
                         + ". The Poisson standard errors are too small; analysis.count_model: negative_binomial "
                           "fits the extra variation.")
    return lines
