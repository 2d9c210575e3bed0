"""tables.docx: Table 1 and the interaction table as Word tables (python-docx).

Only plain paragraphs and the built-in 'Table Grid' style are used, so the file opens the same
in Word and LibreOffice; dates in the core properties are fixed so reruns differ only in zip times.
"""
from __future__ import annotations

import datetime as _dt
from pathlib import Path

import pandas as pd

from .etables import ETable
from .tables import MODEL_NAMES, JamaTable
from .text import printable

_FIXED = _dt.datetime(2000, 1, 1, tzinfo=_dt.timezone.utc)


def write_docx(results, path: Path, t1: pd.DataFrame, jt: JamaTable, extra: list[ETable] | None = None) -> None:
    from docx import Document
    from docx.enum.section import WD_ORIENT
    from docx.shared import Pt

    doc = Document()
    props = doc.core_properties
    # python-docx refuses text XML cannot hold (control characters, lone surrogates)
    props.title = printable(results.plan.title or "effectmod tables")
    props.author = "effectmod"
    props.created = props.modified = _FIXED
    props.last_modified_by = "effectmod"
    props.revision = 1
    section = doc.sections[0]
    if len(jt.columns) > 3:
        # wide interaction tables need landscape pages
        section.orientation = WD_ORIENT.LANDSCAPE
        section.page_width, section.page_height = section.page_height, section.page_width
    style = doc.styles["Normal"]
    style.font.name = "Arial"
    style.font.size = Pt(8)

    from .key_findings import key_findings
    doc.add_heading("Key findings", level=2)
    for finding in key_findings(results):
        doc.add_paragraph(printable(finding), style="List Bullet")

    doc.add_heading("Table 1. Baseline characteristics by arm", level=2)
    _frame_table(doc, t1)
    doc.add_paragraph("Mean (SD), or median (IQR) for skewed distributions; n (%) for categories.")

    doc.add_heading("Table 2. Treatment × moderator interactions", level=2)
    _jama_table(doc, jt)
    doc.add_paragraph("β: difference in the treatment effect per unit of the moderator (per k units where the row says so); "
                      "ratio of ORs: ratio of odds ratios (binary outcomes), with the interaction on the log scale beneath. "
                      + ("Ratio of HRs: ratio of hazard ratios (time-to-event outcomes), likewise. "
                         if "cox" in set(results.table["model"]) else "")
                      + "Bold: evidence tier. NE: not estimable.")
    for e in extra or []:
        doc.add_heading(printable(e.heading), level=2)
        _jama_table(doc, e.table)
        doc.add_paragraph(printable(e.footnote))
    doc.save(str(path))


def _jama_table(doc, jt: JamaTable) -> None:
    multi = jt.multi_model
    n_head = 3 if multi else 2
    table = doc.add_table(rows=n_head + 1 + len(jt.rows), cols=1 + 2 * len(jt.columns))
    table.style = "Table Grid"
    table.cell(0, 0).text = "Moderator"
    for j, (out, tp, model) in enumerate(jt.columns):
        c = 1 + 2 * j
        table.cell(0, c).text = printable(out)
        table.cell(1, c).text = printable(tp)
        if multi:
            table.cell(2, c).text = printable(MODEL_NAMES.get(model, model))
        table.cell(n_head, c).text = printable(jt.estimate_head(j))
        table.cell(n_head, c + 1).text = "P"
    for i, ((label, term), line) in enumerate(zip(jt.rows, jt.cells)):
        r = n_head + 1 + i
        table.cell(r, 0).text = printable(f"{label}: {term}" if term else label)
        for j, cell in enumerate(line):
            if cell is None:
                continue
            text = (cell.text + (f"\nlog scale {cell.log_odds}" if cell.log_odds else "")
                    # an estimable row's note (e.g. separation) says why its numbers must not be read
                    + (f"\n{cell.note}" if cell.note and cell.tier != "not-estimable" else ""))
            table.cell(r, 1 + 2 * j).text = printable(text)
            table.cell(r, 2 + 2 * j).text = printable(cell.p)
            if cell.tier == "evidence":
                for c in (1 + 2 * j, 2 + 2 * j):
                    for run in table.cell(r, c).paragraphs[0].runs:
                        run.bold = True


def _frame_table(doc, df: pd.DataFrame) -> None:
    table = doc.add_table(rows=len(df) + 1, cols=len(df.columns))
    table.style = "Table Grid"
    for j, c in enumerate(df.columns):
        table.cell(0, j).text = printable("" if c == "Level" else str(c))
    for i, row in enumerate(df.itertuples(index=False), start=1):
        for j, v in enumerate(row):
            table.cell(i, j).text = printable(str(v))


def read_docx_tables(path: Path) -> list[list[list[str]]]:
    """Every table of a .docx as rows of cell texts (used by the round-trip test and by users)."""
    from docx import Document
    return [[[c.text for c in row.cells] for row in t.rows] for t in Document(str(path)).tables]
