"""tables.docx: Table 1, Table 2 and the eTables as journal tables (python-docx).

Journal layout (report.docx_layout): horizontal rules only, each outcome's header merged over its
follow-up columns, column widths fitted to the longest word of each column, landscape pages for
wide tables; evidence cells bold and hypothesis-generating cells italic, as the footnotes say;
negative numbers with a true minus sign. Only plain paragraphs and direct formatting are used, so
the file opens the same in Word and LibreOffice; dates in the core properties are fixed so reruns
differ only in zip times.
"""
from __future__ import annotations

import datetime as _dt
from pathlib import Path

import pandas as pd

from .docx_layout import (
    FONT_PT,
    LANDSCAPE_COLUMNS,
    compact,
    fit_widths,
    page_for,
    rule_below,
    rule_under_row,
    rules_only,
    set_orientation,
    set_widths,
    text_area,
)
from .etables import ETable
from .ratio_display import ph_footnotes
from .sentences import threshold_text
from .tables import MODEL_NAMES, RATIO_MODELS, JamaTable
from .text import printable
from .typography import minus

_FIXED = _dt.datetime(2000, 1, 1, tzinfo=_dt.timezone.utc)


def write_docx(results, path: Path, t1: pd.DataFrame, jt: JamaTable, extra: list[ETable] | None = None) -> None:
    from docx import Document
    from docx.shared import Pt

    doc = Document()
    props = doc.core_properties
    # python-docx refuses text XML cannot hold (control characters, lone surrogates)
    props.title = printable(results.plan.title or "effectmod tables")
    props.author = "effectmod"
    props.created = props.modified = _FIXED
    props.last_modified_by = "effectmod"
    props.revision = 1
    set_orientation(doc.sections[0], landscape=False)
    style = doc.styles["Normal"]
    style.font.name = "Arial"
    style.font.size = Pt(FONT_PT)

    from .key_findings import key_findings
    doc.add_heading("Key findings", level=2)
    for finding in key_findings(results):
        doc.add_paragraph(printable(minus(finding)), style="List Bullet")

    a = results.plan.analysis
    marks = (f"Bold: evidence (P < {threshold_text(a.evidence_threshold)}); italic: hypothesis-generating "
             f"(P < {threshold_text(a.exploratory_threshold)}).")
    page_for(doc, landscape=len(t1.columns) - 1 > LANDSCAPE_COLUMNS)
    doc.add_heading("Table 1. Baseline characteristics by arm", level=2)
    _frame_table(doc, t1)
    doc.add_paragraph("Mean (SD), or median (IQR) for skewed distributions; n (%) for categories.")

    page_for(doc, landscape=_wide(jt))
    doc.add_heading("Table 2. Treatment × moderator interactions", level=2)
    # a journal's Table 2: ratio, CI and P; the log scale is in the eTables, results.csv and interaction_table.csv
    _jama_table(doc, jt, log_scale=False)
    doc.add_paragraph("Main analysis. " + _scale_note(set(results.table["model"])) + f"{marks} NE: not estimable."
                      + _cluster_note(results))
    for line in ph_footnotes(results):
        doc.add_paragraph(printable(line))
    for e in extra or []:
        page_for(doc, landscape=_wide(e.table))
        doc.add_heading(printable(e.heading), level=2)
        _jama_table(doc, e.table)
        doc.add_paragraph(printable(f"{e.footnote} {marks}"))
        if e.ph_flagged:        # the † flag's footnote under every table that carries it
            for line in ph_footnotes(results):
                doc.add_paragraph(printable(line))
    doc.save(str(path))


def _cluster_note(results) -> str:
    """data.cluster: the clusters and the standard errors that used them, as the report's Table 2 says."""
    from .clusters import table_note
    note = table_note(results)
    return printable(f" {note}") if note else ""


def _wide(jt: JamaTable) -> bool:
    """Whether a table needs a landscape page: many data columns, or columns that cannot fit portrait."""
    return 2 * len(jt.columns) > LANDSCAPE_COLUMNS


# the font style of a cell by its tier, as the footnotes say
_EMPHASIS = {"evidence": {"bold": True}, "hypothesis-generating": {"italic": True}}


def _jama_table(doc, jt: JamaTable, log_scale: bool = True) -> None:
    """Two header rows (three with a model row): each outcome spans its follow-ups, each follow-up
    its estimate and P columns; the last header row names the columns. ``log_scale``: a ratio
    cell's log-scale interaction on a line beneath (the eTables; Table 2 shows the ratio only)."""
    multi = jt.multi_model
    n_head = 3 if multi else 2
    n_cols = 1 + 2 * len(jt.columns)
    table = doc.add_table(rows=n_head + 1 + len(jt.rows), cols=n_cols)
    texts: list[list[tuple[str, bool]]] = [[] for _ in range(n_cols)]

    def put(r: int, c: int, text: str, **font) -> None:
        cell = table.cell(r, c)
        cell.text = printable(text)
        for run in cell.paragraphs[0].runs:
            run.bold, run.italic = font.get("bold"), font.get("italic")
        texts[c].append((cell.text, bool(font.get("bold"))))

    put(0, 0, "Moderator")
    put(n_head, 0, "")
    for j, _ in enumerate(jt.columns):
        c = 1 + 2 * j
        put(n_head, c, jt.estimate_head(j))
        put(n_head, c + 1, "P")
    for i, ((label, term), line) in enumerate(zip(jt.rows, jt.cells)):
        r = n_head + 1 + i
        put(r, 0, f"{label}: {term}" if term else label)
        for j, cell in enumerate(line):
            if cell is None:
                continue
            text = (minus(cell.text) + (f"\nlog scale {minus(cell.log_odds)}" if cell.log_odds and log_scale else "")
                    # an estimable row's note (e.g. separation) says why its numbers must not be read
                    + (f"\n{cell.note}" if cell.note and cell.tier != "not-estimable" else ""))
            font = _EMPHASIS.get(cell.tier, {})
            put(r, 1 + 2 * j, text, **font)
            put(r, 2 + 2 * j, cell.p, **font)
    # spanning headers: outcome over its follow-ups (row 0), follow-up over its models (row 1),
    # model over estimate and P (row 2); a thin rule under each
    levels = [lambda col: col[0], lambda col: col[:2]] + ([lambda col: col] if multi else [])
    names = [lambda col: col[0], lambda col: col[1], lambda col: MODEL_NAMES.get(col[2], col[2])]
    for row, key in enumerate(levels):
        j = 0
        while j < len(jt.columns):
            k = j
            while k + 1 < len(jt.columns) and key(jt.columns[k + 1]) == key(jt.columns[j]):
                k += 1
            first, last = 1 + 2 * j, 2 + 2 * k
            merged = table.cell(row, first).merge(table.cell(row, last))
            merged.text = printable(names[row](jt.columns[j]))
            merged.paragraphs[0].alignment = _centre()
            rule_below(merged)
            j = k + 1
    stub = table.cell(0, 0).merge(table.cell(n_head, 0))
    stub.text = "Moderator"
    stub.vertical_alignment = _bottom()
    rule_under_row(table.rows[n_head])
    _finish(table, texts, landscape=_wide(jt), head_rows=n_head + 1)


def _bottom():
    from docx.enum.table import WD_ALIGN_VERTICAL
    return WD_ALIGN_VERTICAL.BOTTOM


def _centre():
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    return WD_ALIGN_PARAGRAPH.CENTER


def _finish(table, texts: list[list[tuple[str, bool]]], landscape: bool, head_rows: int) -> None:
    """Rules only, widths fitted to the text, compact paragraphs, header rows repeated on each page."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    rules_only(table)
    set_widths(table, fit_widths(texts, text_area(landscape)))
    for row in table.rows:
        for cell in row.cells:
            compact(cell)
    for row in table.rows[:head_rows]:
        header = OxmlElement("w:tblHeader")
        row._tr.get_or_add_trPr().append(header)
        header.set(qn("w:val"), "true")


def _frame_table(doc, df: pd.DataFrame) -> None:
    table = doc.add_table(rows=len(df) + 1, cols=len(df.columns))
    texts: list[list[tuple[str, bool]]] = [[] for _ in df.columns]
    for j, c in enumerate(df.columns):
        cell = table.cell(0, j)
        cell.text = printable("" if c == "Level" else str(c))
        texts[j].append((cell.text, False))
    for i, row in enumerate(df.itertuples(index=False), start=1):
        for j, v in enumerate(row):
            table.cell(i, j).text = printable(str(v))
            texts[j].append((table.cell(i, j).text, False))
    rule_under_row(table.rows[0])
    _finish(table, texts, landscape=len(df.columns) - 1 > LANDSCAPE_COLUMNS, head_rows=1)


def read_docx_tables(path: Path) -> list[list[list[str]]]:
    """Every table of a .docx as rows of cell texts (used by the round-trip test and by users)."""
    from docx import Document
    return [[[c.text for c in row.cells] for row in t.rows] for t in Document(str(path)).tables]


# what each model's interaction is, said only for the models the table holds
_SCALE_NOTES = (
    (("linear", "mixed"), "β: difference in the treatment effect per unit of the moderator (per k units where the row says so). "),
    (("logistic", "ordinal"), "Ratio of ORs: ratio of odds ratios (binary and ordinal outcomes). "),
    (("poisson", "negative_binomial"), "Ratio of RRs: ratio of rate ratios (count outcomes). "),
    (("cox",), "Ratio of HRs: ratio of hazard ratios (time-to-event outcomes). "),
    (("rmst",), "Difference in RMST differences: the treated-minus-control difference in restricted mean survival time to "
                "the horizon in a moderator level minus that in the reference level (per unit of a continuous moderator), "
                "in the time column's units. "),
)


def _scale_note(models: set) -> str:
    ratios = bool(models & RATIO_MODELS)
    return "".join(text for kinds, text in _SCALE_NOTES if models & set(kinds)) + (
        "Ratios are exponentiated from the model's log scale; the interactions on the log scale are in results.csv "
        "and interaction_table.csv. " if ratios else "")
