"""Journal layout of the Word tables (tables.docx): horizontal rules only, merged header cells,
column widths fitted to the content, and landscape sections for wide tables.

JAMA tables have no vertical lines and no boxed grid: a rule above the header, one below it and
one at the foot of the table, with a thin rule under each spanning header (an outcome over its
follow-up columns). Word breaks a word in the middle only when it is wider than its cell, so
every column is at least as wide as its longest word or number; what the page has left is shared
out in proportion to how much each column's longest line still lacks.
"""
from __future__ import annotations

# twentieths of a point (dxa) per point; EMU per point
_EMU_PER_PT = 12700
# table text size (pt) and the cells' left + right padding (Word's default 0.08 inch each side)
FONT_PT = 8.0
PADDING_PT = 11.5
MARGIN_PT = 72.0          # one inch on every side
PAGE_PT = (612.0, 792.0)  # US Letter, portrait (width, height)
# a table with more data columns than this goes on a landscape page
LANDSCAPE_COLUMNS = 6
# the first column (the labels) is never narrower than this
FIRST_MIN_PT = 90.0

# the order of a w:tblPr's and a w:tcPr's children (ECMA-376): new children are put in place
_TBLPR = ("tblStyle", "tblpPr", "tblOverlap", "bidiVisual", "tblStyleRowBandSize", "tblStyleColBandSize", "tblW",
          "jc", "tblCellSpacing", "tblInd", "tblBorders", "shd", "tblLayout", "tblCellMar", "tblLook")
_TCPR = ("cnfStyle", "tcW", "gridSpan", "hMerge", "vMerge", "tcBorders", "shd", "noWrap", "tcMar",
         "textDirection", "tcFitText", "vAlign", "hideMark")
RULE = {"heavy": 8, "thin": 4}   # eighths of a point


def text_width(text: str, bold: bool = False, size: float = FONT_PT) -> float:
    """Approximate printed width (pt) of ``text`` in Arial: per-character advance widths in ems."""
    em = 0.0
    for ch in text:
        if ch in " .,:;'|!ilIjtf()[]":
            em += 0.3
        elif ch in "mwMW%@":
            em += 0.85
        elif ch.isupper() or ch in "−–—<>=+×β":
            em += 0.67
        else:
            em += 0.56
    return em * size * (1.08 if bold else 1.0)


def _longest_word(text: str, bold: bool) -> float:
    return max((text_width(w, bold) for line in text.split("\n") for w in line.split(" ") if w),
               default=0.0)


def _longest_line(text: str, bold: bool) -> float:
    return max((text_width(line, bold) for line in text.split("\n")), default=0.0)


def fit_widths(columns: list[list[tuple[str, bool]]], available: float) -> list[float]:
    """Column widths (pt) for cells given per column as (text, bold): each column at least its
    longest word (so no word is broken), at most its longest line, scaled to ``available``.
    When even the longest words do not fit, the columns keep their minimum widths."""
    low = [max((_longest_word(t, b) for t, b in col), default=0.0) + PADDING_PT for col in columns]
    high = [max((_longest_line(t, b) for t, b in col), default=0.0) + PADDING_PT for col in columns]
    if columns:
        low[0] = max(low[0], min(FIRST_MIN_PT, high[0]))
    high = [max(h, lo) for h, lo in zip(high, low)]
    if sum(high) <= available:
        return high
    if sum(low) >= available:
        return low
    share = (available - sum(low)) / (sum(high) - sum(low))
    return [lo + share * (h - lo) for lo, h in zip(low, high)]


def text_area(landscape: bool) -> float:
    width = PAGE_PT[1] if landscape else PAGE_PT[0]
    return width - 2 * MARGIN_PT


def set_orientation(section, landscape: bool) -> None:
    from docx.enum.section import WD_ORIENT
    from docx.shared import Pt
    w, h = (PAGE_PT[1], PAGE_PT[0]) if landscape else PAGE_PT
    section.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Pt(w), Pt(h)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Pt(MARGIN_PT))


def page_for(doc, landscape: bool) -> None:
    """Continue on a page of the given orientation: a new section when the current one differs."""
    from docx.enum.section import WD_ORIENT, WD_SECTION
    current = doc.sections[-1]
    if (current.orientation == WD_ORIENT.LANDSCAPE) == landscape:
        return
    set_orientation(doc.add_section(WD_SECTION.NEW_PAGE), landscape)


def _child(parent, tag: str, order: tuple[str, ...]):
    """``parent``'s w:<tag> child, created in its schema position when missing."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    found = parent.find(qn(f"w:{tag}"))
    if found is not None:
        return found
    el = OxmlElement(f"w:{tag}")
    later = {qn(f"w:{t}") for t in order[order.index(tag) + 1:]}
    for i, existing in enumerate(parent):
        if existing.tag in later:
            parent.insert(i, el)
            return el
    parent.append(el)
    return el


def _border(parent, side: str, weight: str | None) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    el = parent.find(qn(f"w:{side}"))
    if el is None:
        el = OxmlElement(f"w:{side}")
        parent.append(el)
    if weight is None:
        el.set(qn("w:val"), "nil")
        return
    el.set(qn("w:val"), "single")
    el.set(qn("w:sz"), str(RULE[weight]))
    el.set(qn("w:space"), "0")
    el.set(qn("w:color"), "000000")


def rules_only(table) -> None:
    """A heavy rule above and below the table, no vertical lines and no inner grid."""
    tbl_pr = table._tbl.tblPr
    borders = _child(tbl_pr, "tblBorders", _TBLPR)
    for side, weight in (("top", "heavy"), ("left", None), ("bottom", "heavy"), ("right", None),
                         ("insideH", None), ("insideV", None)):
        _border(borders, side, weight)


def rule_below(cell, weight: str = "thin") -> None:
    """A horizontal rule under one cell (the header's last row, or a spanning header)."""
    tc_pr = cell._tc.get_or_add_tcPr()
    _border(_child(tc_pr, "tcBorders", _TCPR), "bottom", weight)


def rule_under_row(row, weight: str = "thin") -> None:
    """A horizontal rule under every cell of a row (the header's last row), merged or not."""
    for tc in row._tr.tc_lst:
        _border(_child(tc.get_or_add_tcPr(), "tcBorders", _TCPR), "bottom", weight)


def set_widths(table, widths: list[float]) -> None:
    """Fixed column widths (pt) on the grid and on every cell (a merged cell gets its span's sum)."""
    from docx.shared import Emu
    table.autofit = False
    for col, w in zip(table.columns, widths):
        col.width = Emu(int(w * _EMU_PER_PT))
    starts = [sum(widths[:i]) for i in range(len(widths) + 1)]
    for row in table.rows:
        j = 0
        for tc in row._tr.tc_lst:
            span = tc.grid_span
            tc.width = Emu(int((starts[min(j + span, len(widths))] - starts[j]) * _EMU_PER_PT))
            j += span


def compact(cell) -> None:
    """No space after a cell's paragraphs (the Normal style's gap would double the row height)."""
    from docx.shared import Pt
    for p in cell.paragraphs:
        p.paragraph_format.space_after = Pt(0)
        p.paragraph_format.space_before = Pt(0)
