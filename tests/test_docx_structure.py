"""tables.docx in journal style, checked in its XML: merged header cells over each outcome,
horizontal rules only, follow-up headers with units, a landscape section for a wide table,
italic exactly in the hypothesis-generating cells and bold exactly in the evidence cells, and a
true minus sign for negative numbers (the CSV files keep the hyphen-minus)."""
from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from docx import Document
from docx.enum.section import WD_ORIENT
from docx.oxml.ns import qn

from effectmod.report.docx import write_docx
from effectmod.report.docx_layout import fit_widths, text_width
from effectmod.report.etables import etables
from effectmod.report.html import render_report
from effectmod.report.tables import jama_table, table1
from effectmod.report.typography import MINUS, minus
from report_cases import demo_results

SIDES = ("left", "right", "start", "end", "insideV")


@pytest.fixture(scope="module")
def demo_docx(tmp_path_factory):
    res = demo_results()
    path = tmp_path_factory.mktemp("docx") / "tables.docx"
    write_docx(res, path, table1(res), jama_table(res), etables(res))
    return res, path, Document(str(path))


def _sections_of_tables(doc) -> list[int]:
    """The section index each table sits in (a paragraph holding a w:sectPr ends a section)."""
    out, k = [], 0
    for el in doc.element.body.iterchildren():
        if el.tag == qn("w:tbl"):
            out.append(k)
        elif el.tag == qn("w:p") and el.find(f"{qn('w:pPr')}/{qn('w:sectPr')}") is not None:
            k += 1
    return out


def test_outcomes_and_followups_are_merged_header_cells_with_units(demo_docx):
    res, _, doc = demo_docx
    jt = jama_table(res)
    t2 = doc.tables[1]._tbl
    rows = t2.findall(qn("w:tr"))
    spans = [[(tc.grid_span, "".join(t.text for t in tc.iter(qn("w:t")))) for tc in tr.findall(qn("w:tc"))] for tr in rows[:3]]
    # row 0: the stub, then each outcome over its two follow-ups' estimate and P columns
    assert spans[0][1:] == [(4, "Pain intensity (NRS 0-10)"), (4, "Disability (RMDQ 0-24)")]
    # row 1: each follow-up, with the plan's time unit, over its estimate and P
    assert [s for s in spans[1][1:]] == [(2, "18 weeks"), (2, "52 weeks")] * 2
    assert all(tp.endswith(" weeks") for _, tp, _ in jt.columns)
    # the stub head is one cell merged down the header rows
    assert rows[0].findall(qn("w:tc"))[0].tcPr.find(qn("w:vMerge")).get(qn("w:val")) == "restart"


def test_horizontal_rules_only(demo_docx):
    _, _, doc = demo_docx
    assert len(doc.tables) == 3          # Table 1, Table 2, eTable 1
    for table in doc.tables:
        tbl = table._tbl
        assert table.style is None or table.style.name != "Table Grid"
        for el in tbl.iter():
            name = el.tag.split("}")[1]
            if name in SIDES and el.getparent().tag in (qn("w:tblBorders"), qn("w:tcBorders")):
                assert el.get(qn("w:val")) in ("nil", "none"), f"vertical border {name}={el.get(qn('w:val'))}"
        borders = tbl.tblPr.find(qn("w:tblBorders"))
        for side in ("top", "bottom"):
            assert borders.find(qn(f"w:{side}")).get(qn("w:val")) == "single"
        assert borders.find(qn("w:insideH")).get(qn("w:val")) == "nil"
        # the rule below the header: every cell of the last header row
        header_rows = [tr for tr in tbl.findall(qn("w:tr")) if tr.trPr is not None and tr.trPr.find(qn("w:tblHeader")) is not None]
        last = header_rows[-1]
        for tc in last.findall(qn("w:tc")):
            assert tc.tcPr.find(f"{qn('w:tcBorders')}/{qn('w:bottom')}").get(qn("w:val")) == "single"


def test_the_wide_table_gets_a_landscape_section(demo_docx):
    _, _, doc = demo_docx
    where = _sections_of_tables(doc)
    orient = [s.orientation for s in doc.sections]
    assert orient[where[0]] == WD_ORIENT.PORTRAIT                     # Table 1: two arms
    assert orient[where[1]] == WD_ORIENT.LANDSCAPE                    # Table 2: 8 data columns
    assert orient[where[2]] == WD_ORIENT.LANDSCAPE
    for s in doc.sections:
        assert (s.page_width > s.page_height) == (s.orientation == WD_ORIENT.LANDSCAPE)


def _fonts(cell) -> set[tuple[bool, bool]]:
    return {(bool(r.bold), bool(r.italic)) for p in cell.paragraphs for r in p.runs if r.text}


@pytest.mark.parametrize("which", [1, 2])
def test_italic_exactly_in_hypothesis_generating_cells_and_bold_in_evidence(demo_docx, which):
    res, _, doc = demo_docx
    jt = jama_table(res) if which == 1 else etables(res)[0].table
    table = doc.tables[which]
    head = 3 if jt.multi_model else 2
    tiers = {t: 0 for t in ("evidence", "hypothesis-generating", "none")}
    for i, line in enumerate(jt.cells):
        cells = table.rows[head + 1 + i].cells
        assert _fonts(cells[0]) == {(False, False)}
        for j, c in enumerate(line):
            want = {"evidence": (True, False), "hypothesis-generating": (False, True)}.get(c.tier, (False, False))
            tiers[c.tier] = tiers.get(c.tier, 0) + 1
            for cell in (cells[1 + 2 * j], cells[2 + 2 * j]):
                assert _fonts(cell) == {want}, (i, j, c.tier, cell.text)
    assert tiers["evidence"] and tiers["hypothesis-generating"] and tiers["none"]
    # the footnote promises what the cells show
    notes = [p.text for p in doc.paragraphs if "italic" in p.text]
    assert len(notes) == 2 and all("Bold: evidence (P < .05); italic: hypothesis-generating (P < .20)" in n for n in notes)
    # the header rows are plain
    for row in table.rows[:head + 1]:
        assert all(_fonts(c) <= {(False, False)} for c in row.cells)


def test_negative_numbers_carry_a_true_minus_sign_in_print_only(demo_docx, tmp_path):
    res, _, doc = demo_docx
    cells = [c.text for row in doc.tables[1].rows[3:] for c in row.cells[1:]]
    assert any(MINUS in c for c in cells)
    assert not any(re.search(r"(^|[\s(])-\d", c) for c in cells)     # every sign is U+2212 here
    # the CSV form of Table 2 keeps the hyphen-minus
    frame = jama_table(res).to_frame()
    assert "-1.31 (-2.66 to 0.05)" in frame.values and MINUS not in frame.to_csv()
    html = render_report(res, [])
    table2 = html[html.index('id="interactions"'):html.index('id="results"')]
    assert f"{MINUS}1.31</span> <span class=\"est\">({MINUS}2.66 to 0.05)</span>" in table2
    # ranges, exponents and P values are untouched
    assert minus("0.08-0.26") == "0.08-0.26" and minus("1.00e-05") == "1.00e-05"
    assert minus("-0.03 (-1.25 to 1.20)") == f"{MINUS}0.03 ({MINUS}1.25 to 1.20)" and minus("-∞") == f"{MINUS}∞"


def test_columns_are_no_narrower_than_their_longest_word(demo_docx):
    _, _, doc = demo_docx
    for table in doc.tables:
        widths = [c.width.pt for c in table.columns]
        for row in table.rows:
            for j, cell in enumerate(row.cells):
                if cell._tc.grid_span > 1:
                    continue
                bold = any(r.bold for p in cell.paragraphs for r in p.runs)
                words = [w for line in cell.text.split("\n") for w in line.split(" ") if w]
                assert all(text_width(w, bold) < widths[j] for w in words), (cell.text, widths[j])
    # the labels column is the widest
    t2 = [c.width.pt for c in doc.tables[1].columns]
    assert t2[0] == max(t2)


def test_fit_widths_shares_the_page_and_never_goes_below_the_longest_word():
    cols = [[("a label with several words", False)], [("-0.03 (-1.25 to 1.20)", False)], [(".97", False)]]
    roomy = fit_widths(cols, 1000.0)
    tight = fit_widths(cols, 150.0)
    assert sum(tight) == pytest.approx(150.0) and sum(roomy) < 1000.0
    assert all(t <= r for t, r in zip(tight, roomy))
    squeezed = fit_widths(cols, 10.0)          # even the longest words do not fit: minimum widths
    assert squeezed[1] > text_width("(-1.25", False)


@pytest.mark.skipif(shutil.which("soffice") is None or shutil.which("pdftotext") is None,
                    reason="LibreOffice (soffice) or poppler's pdftotext not installed")
def test_libreoffice_renders_the_tables(demo_docx, tmp_path):
    # Word's layout as another reader draws it: every table title and the merged outcome headers
    # reach the rendered pages, and no word of a header is broken across lines
    _, path, _ = demo_docx
    subprocess.run(["soffice", "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path), str(path)],
                   check=True, capture_output=True, timeout=180)
    pdf = tmp_path / "tables.pdf"
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    pages = text.count("\f") + (0 if text.endswith("\f") else 1)
    assert pages >= 2                          # Table 1 portrait, Table 2 and eTable 1 on a landscape page
    for title in ("Table 1", "Table 2", "eTable 1"):
        assert title in text
    for header in ("Pain intensity (NRS 0-10)", "Disability (RMDQ 0-24)", "18 weeks", "52 weeks"):
        assert header in text, header
    assert MINUS in text                      # the true minus sign survives rendering


def test_a_table_with_two_models_per_follow_up_gets_a_merged_model_row(tmp_path):
    from effectmod.report.etables import ETable
    res = demo_results()
    both = jama_table(res, models={"linear", "mixed"})
    assert both.multi_model
    path = tmp_path / "tables.docx"
    write_docx(res, path, table1(res), jama_table(res), [ETable(1, "Both models", "Footnote.", both)])
    tbl = Document(str(path)).tables[2]._tbl
    rows = tbl.findall(qn("w:tr"))
    spans = [[(tc.grid_span, "".join(t.text for t in tc.iter(qn("w:t")))) for tc in tr.findall(qn("w:tc"))][1:] for tr in rows[:4]]
    assert spans[0] == [(8, "Pain intensity (NRS 0-10)"), (8, "Disability (RMDQ 0-24)")]
    assert spans[1] == [(4, "18 weeks"), (4, "52 weeks")] * 2
    assert spans[2] == [(2, "Linear regression"), (2, "Linear mixed model")] * 4
    assert [t for _, t in spans[3][:2]] == ["β (95% CI)", "P"]


def test_table2_note_explains_only_the_scales_the_table_holds(demo_docx):
    # a linear-only analysis has no odds ratios to explain; each family's note appears with its rows
    from effectmod.report.docx import _scale_note
    _, _, doc = demo_docx
    note = next(p.text for p in doc.paragraphs if p.text.startswith("Main analysis."))
    assert "β: difference in the treatment effect" in note and "ratio of odds ratios" not in note
    both = _scale_note({"logistic", "cox"})
    assert "Ratio of ORs" in both and "Ratio of HRs" in both and "β:" not in both and "RRs" not in both
