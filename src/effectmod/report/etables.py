"""eTables: the sensitivity analyses that Table 2 (the main analysis only) leaves out.

One eTable per sensitivity model (analysis.sensitivity), one for the complete-case analysis beside
multiply imputed results, one for bootstrap CIs; each with its title and footnote, shown in the
report, tables.docx and written as etable<k>.csv.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ..inference.tiers import tier
from .check_notes import OD_MARK
from .ratio_display import PH_MARK
from .sentences import level_text
from .tables import MODEL_NAMES, JamaTable, jama_table, main_models


@dataclass(frozen=True)
class ETable:
    number: int
    title: str
    footnote: str
    table: JamaTable

    @property
    def heading(self) -> str:
        return f"eTable {self.number}. {self.title}"

    @property
    def topic(self) -> str:
        """What the eTable holds, in a few words (Table 2's legend lists them)."""
        for prefix in ("Treatment × moderator interactions: ", "Treatment × moderator interactions "):
            if self.title.startswith(prefix):
                topic = self.title[len(prefix):].replace("with bootstrap CIs", "bootstrap CIs")
                return topic if topic[:2].isupper() else topic[:1].lower() + topic[1:]
        return self.title

    @property
    def ph_flagged(self) -> bool:
        """Whether a cell says its Cox model's hazards are not proportional (``PH_MARK``) or its
        Poisson fit overdispersed (``OD_MARK``): the model-check footnotes then go under this table
        too, as under Table 2."""
        return any(c is not None and (PH_MARK in c.note or OD_MARK in c.note) for line in self.table.cells for c in line)


def etables(results) -> list[ETable]:
    """Every eTable of the analysis, numbered from 1 in a fixed order."""
    a = results.plan.analysis
    level = level_text(a.ci_level)
    found: list[tuple[str, str, JamaTable]] = []
    main = main_models(results)
    for model in dict.fromkeys(results.table["model"]):
        if model in main:
            continue
        name = MODEL_NAMES.get(model, model)
        found.append((f"Treatment × moderator interactions: {name} (sensitivity analysis)",
                      f"The same interactions as Table 2 estimated by a {name.lower()}, a sensitivity analysis "
                      f"pre-specified in the plan. β ({level} CI); P from the model's test.",
                      jama_table(results, models={model})))
    cc = results.sections.get("complete_case")
    if isinstance(cc, pd.DataFrame) and len(cc):
        cc = cc.assign(tier=[tier(p, a.evidence_threshold, a.exploratory_threshold) for p in cc["p_value"]])
        found.append(("Treatment × moderator interactions: complete-case analysis",
                      "The main model on the participants with every variable of the model observed, beside "
                      f"Table 2's multiply imputed estimates. β ({level} CI).",
                      jama_table(results, models=main, table=cc)))
    if "boot_ci_low" in results.table.columns:
        # restricted mean survival time rows are not bootstrapped (analysis.py): no empty columns for them
        t = results.table[results.table["model"].isin(main)]
        left = [m for m in ("rmst",) if (t["model"] == m).any() and t.loc[t["model"] == m, "boot_ci_low"].isna().all()]
        booted = set(main) - set(left)
        left = [MODEL_NAMES.get(m, m) for m in left]
        found.append(("Treatment × moderator interactions with bootstrap CIs",
                      f"The estimates of Table 2 with percentile bootstrap {level} CIs "
                      f"({a.bootstrap} resamples); P from the model's test."
                      + (f" Not bootstrapped: {', '.join(left).lower()} (Table 2 gives its model-based CIs)." if left else ""),
                      jama_table(results, models=booted, boot=True)))
    return [ETable(k, title, note, jt) for k, (title, note, jt) in enumerate(found, start=1) if jt.columns]
