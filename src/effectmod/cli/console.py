"""Terminal output (rich): the compact summary table and progress bars."""
from __future__ import annotations

import re

from ..report.sentences import threshold_text

TIER_STYLE = {"evidence": "bold green", "hypothesis-generating": "yellow", "none": "", "not-estimable": "red"}
# marks beside P carry the tier for readers who cannot see the colours (and in plain logs)
TIER_MARK = {"evidence": "**", "hypothesis-generating": "*"}
# marks an estimate whose row carries a note (e.g. separation), spelled out under the table
NOTE_MARK = "†"
MARK_SLOT = 2   # the width of the tier marks' column after every P column
# the moderator column's narrowest width when deciding whether follow-ups fit side by side; a
# longer label takes whatever room the table leaves and wraps onto further lines (never cut)
LABEL_WIDTH = 24
COLUMN_WIDTH = 34   # widest 'β (95% CI)' cell, its P cell and tier-mark column, with padding


def summary_tables(results, width: int = 80) -> list:
    """(title, rich Table) per model type and outcome: moderators down, follow-ups across.

    A row with notes gets a mark, and its first two notes (``Results.row_notes``) go under the table.

    When the follow-ups do not fit ``width`` side by side, one table per follow-up instead.
    """
    from rich.table import Table

    from ..records import BOOTSTRAP_NOT_RMST, PROPORTIONAL_HAZARDS, row_key
    from ..report.comparisons import flattened
    from ..report.labels import moderator_labels, outcome_labels
    from ..report.model_names import rmst_when
    from ..report.sentences import level_text
    from ..report.tables import MODEL_NAMES, RATIO_MODELS, estimate_ci, moderator_label, odds_ratio_ci, p_short, ratio_head, timepoint_text
    results = flattened(results)    # multi-arm: each moderator per comparison and for all arms
    a = results.plan.analysis
    t = results.table
    olab, mlab = outcome_labels(results.plan), moderator_labels(results.plan)
    from ..report.tables import reference_levels, term_label
    refs = reference_levels(results)
    adjusted = a.multiplicity != "none"
    per_col = COLUMN_WIDTH + (7 if adjusted else 0)
    out = []
    for model in dict.fromkeys(t["model"]):
        for outcome in dict.fromkeys(t.loc[t["model"] == model, "outcome"]):
            sub = t[(t["model"] == model) & (t["outcome"] == outcome)]
            tps = list(dict.fromkeys(sub["timepoint"]))
            fits = LABEL_WIDTH + 1 + per_col * len(tps) <= width
            blocks = [tps] if fits else [[tp] for tp in tps]
            est_head = ratio_head(model) + f" ({level_text(a.ci_level)} CI)"
            for block in blocks:
                n = sub[sub["timepoint"].isin(block)]["n"]
                n_text = f"n {n.min()}" if n.min() == n.max() else f"n {n.min()}-{n.max()}"
                title = f"{olab.get(outcome, outcome)} · {MODEL_NAMES.get(model, model)} · {n_text}"
                if model == "rmst":        # one horizon per outcome, always shown with its unit
                    title += f" · {rmst_when(results.plan, outcome, block[0])}"
                elif not fits:
                    title += f" · {timepoint_text(block[0], results.plan.data.time_unit)}"
                table = Table(box=None, pad_edge=False,
                              header_style="bold", padding=(0, 1))
                # the only wrapping column: rich narrows it when the table would overflow the width
                table.add_column("Moderator", overflow="fold")
                for tp in block:
                    head = f"{tp}: " if len(block) > 1 else ""
                    table.add_column(escaped(head + est_head), no_wrap=True)
                    # P right-aligned, its tier mark in a narrow column of its own: a mark never
                    # shifts the digits of its row
                    table.add_column("P", justify="right", no_wrap=True)
                    table.add_column("", justify="left", no_wrap=True, width=MARK_SLOT)
                    if adjusted:
                        table.add_column("P adj", justify="right", no_wrap=True)
                keys = list(dict.fromkeys(zip(sub["moderator"], sub["term"])))
                notes = []
                for mod, term in keys:
                    # 'Age, per 10 years' when the plan reports the interaction per k units (moderators[].per)
                    label = moderator_label(results.plan, mod, mlab)
                    # a multi-arm 'all arms' row is one joint test: its label says so, no sub-row
                    # a binary moderator's one row also says which level it compares ('female vs male')
                    compared = "" if term else term_label({"term": term, "moderator": mod}, refs)
                    if (term or compared) and not (term == "joint" and str(mod).endswith("[all arms]")):
                        # a level against its reference, as Table 2 says it ('Arab vs Secular')
                        label = "  joint test" if term == "joint" else f"  {term_label({'term': term, 'moderator': mod}, refs)}"
                        if (mod, term) == next(k for k in keys if k[0] == mod):
                            table.add_row(escaped(mlab.get(mod, mod)), *[""] * (len(table.columns) - 1))
                    # cells are rich markup: user text is escaped ('[/]' in a label would be a tag)
                    cells = [escaped(label)]
                    for tp in block:
                        rows = sub[(sub["moderator"] == mod) & (sub["term"] == term) & (sub["timepoint"] == tp)]
                        if rows.empty:
                            cells += [""] * (4 if adjusted else 3)
                            continue
                        r = rows.iloc[0]
                        style = TIER_STYLE.get(r["tier"], "")
                        if r["tier"] == "not-estimable":
                            est, p = "not estimable", ""
                        elif term == "joint":
                            est, p = "", p_short(r["p_value"], a.evidence_threshold)
                        else:
                            fmt = odds_ratio_ci if model in RATIO_MODELS else estimate_ci
                            est, p = fmt(r["estimate"], r["ci_low"], r["ci_high"]), p_short(r["p_value"], a.evidence_threshold)
                            # the Cox rows' proportional-hazards test stays in results.csv and the report;
                            # the console shows its failure only
                            # (nor the bootstrap's note on rmst rows: the console shows no bootstrap CIs)
                            shown = [n.text for n in results.row_notes.get(row_key(r), ())
                                     if n.text and n.code not in (PROPORTIONAL_HAZARDS, BOOTSTRAP_NOT_RMST)][:2]
                            if shown:
                                # e.g. separation: the reader must see why a ratio prints as '>999'
                                est += NOTE_MARK
                                where = mlab.get(mod, mod) + (f" [{term}]" if term else "")
                                when = f", {timepoint_text(tp, results.plan.data.time_unit)}" if tp != "" else ""
                                notes.append(f"{NOTE_MARK} {where}{when}: " + "; ".join(shown))
                        mark = TIER_MARK.get(r["tier"], "") if p else ""
                        cells += [f"[{style}]{escaped(est)}[/]" if style and est else escaped(est),
                                  f"[{style}]{escaped(p)}[/]" if style and p else escaped(p),
                                  f"[{style}]{mark}[/]" if style and mark else mark]
                        if adjusted:
                            cells.append(p_short(r["p_adjusted"], a.evidence_threshold))
                    table.add_row(*cells)
                if notes:
                    # the same note on several levels of a moderator (one model): said once
                    notes = _merged(notes)
                    table.caption = "\n".join(escaped(n) for n in notes)
                    table.caption_justify = "left"
                out.append((title, table))
    return out


def _merged(notes: list[str]) -> list[str]:
    """'† Differentiation [2]: x' and '† Differentiation [3]: x' as '† Differentiation [2, 3]: x'."""
    import re
    groups: dict[tuple[str, str, str], list[str]] = {}
    for n in notes:
        m = re.fullmatch(r"(.*?) \[([^\]]*)\]((?:, [^:]*)?): (.*)", n, re.S)
        key = (m.group(1), m.group(3), m.group(4)) if m else (n, "", "")
        groups.setdefault(key, []).append(m.group(2) if m else "")
    return [f"{head} [{', '.join(terms)}]{when}: {text}" if terms[0] else head
            for (head, when, text), terms in groups.items()]


def printable(text) -> str:
    """User text made safe for a terminal: control characters (C0, DEL, C1 - ESC starts the
    sequences that recolour, retitle or rewrite a terminal) shown as visible escapes (``\\x1b``),
    so that a value in a data file can neither drive the terminal nor break a one-line message."""
    text = str(text)
    if not _CONTROL.search(text):
        return text
    # a lone surrogate cannot be printed as UTF-8: shown as its escape too
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}", text)


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def escaped(text: str) -> str:
    from rich.markup import escape
    return escape(printable(text))


def print_summary(console, results) -> None:
    """The compact coloured summary: one table per model type and outcome, then the tier key."""
    a = results.plan.analysis
    if results.plan.title:
        console.print(f"[bold]{escaped(results.plan.title)}[/bold]")
    for title, table in summary_tables(results, width=console.width):
        console.print()
        console.print(f"[bold]{escaped(title)}[/bold]")
        console.print(table)
    flow = results.trial.flow
    excluded = sum(n for _, n in flow.excluded)
    console.print()
    console.print(f"** evidence (P < {threshold_text(a.evidence_threshold)}), "
                  f"* hypothesis-generating (P < {threshold_text(a.exploratory_threshold)}); "
                  f"{flow.randomised} participants in {flow.analysed_arms}"
                  + (f", {excluded} excluded (see report)" if excluded else "") + ".")
    from ..report.clusters import table_note
    if line := table_note(results):
        console.print(escaped(line))
    said = results.sections.get("predictive")
    if said is not None and len(said):
        # the PATH analyses ran: say where they are (their statements are long; the report has them)
        status = "pre-specified" if results.plan.predictive is not None and results.plan.predictive.prespecified else "exploratory"
        files = [f"{n}.csv" for n in ("risk_groups", "benefit_metrics", "shrunken_subgroups") if n in results.sections]
        console.print(escaped(f"Predictive heterogeneity (PATH, {status}): see the report's section and " + ", ".join(files) + "."))
    from ..inference.heteroscedasticity import console_line
    if line := console_line(results.models):
        console.print(escaped(line))
