"""report.pdf holds every number of report.html's tables: collapsed sections print open and wide
tables wrap instead of running off the page (checked by text extraction with poppler's pdftotext).
Skipped when Chromium or pdftotext is missing."""
from __future__ import annotations

import re
import shutil
import subprocess
from collections import Counter
from html.parser import HTMLParser

import pytest

from effectmod.report.pdf import find_chromium, html_to_pdf, open_details
from report_cases import written

pytestmark = [pytest.mark.skipif(find_chromium() is None, reason="no chromium binary on PATH (apt-get install chromium)"),
              pytest.mark.skipif(shutil.which("pdftotext") is None,
                                 reason="no pdftotext on PATH (apt-get install poppler-utils)")]

# numbers as the report prints them: -1.31, .06, 276, 0.07 (a '<' or '>' of a P value is dropped, and
# the 36 of a range 0-36 is a number of its own)
NUMBER = re.compile(r"(?<![\w.-])-?(?:\d+(?:\.\d+)?|\.\d+)")


def normal(text: str) -> str:
    return " ".join(text.replace("\u2212", "-").replace("\u2013", "-").replace("\u00a0", " ").split())


class TableCells(HTMLParser):
    """(section id, column header, cell text) for every body cell of every table."""

    def __init__(self):
        super().__init__()
        self.section, self.cells, self.heads = "", [], []
        self._buf: list[str] | None = None
        self._in_head, self._col = False, 0

    def handle_starttag(self, tag, attrs):
        if tag == "section":
            self.section = dict(attrs).get("id") or ""
        elif tag == "thead":
            self._in_head, self.heads = True, []
        elif tag == "tr":
            self._col = 0
        elif tag in ("td", "th"):
            self._buf = []

    def handle_endtag(self, tag):
        if tag == "thead":
            self._in_head = False
        elif tag in ("td", "th") and self._buf is not None:
            text = normal("".join(self._buf))
            if self._in_head:
                self.heads.append(text)
            elif tag == "td":
                head = self.heads[self._col] if self._col < len(self.heads) else ""
                self.cells.append((self.section, head, text))
            self._col += 1
            self._buf = None

    def handle_data(self, data):
        if self._buf is not None:
            self._buf.append(data)


def pdf_text(pdf, *mode: str) -> str:
    out = subprocess.run(["pdftotext", *mode, "-enc", "UTF-8", str(pdf), "-"], capture_output=True, text=True,
                         check=True)
    return normal(out.stdout)


def pdf_texts(pdf) -> tuple[str, str]:
    """Reading order, and the physical layout: the first joins a label that wraps after a hyphen
    ('BBQ 9-' + '45') into '945', the second keeps the hyphen."""
    return pdf_text(pdf), pdf_text(pdf, "-layout")


def missing_from_pdf(html: str, *texts: str) -> dict[str, list[str]]:
    """Per section, the numbers (counted with multiplicity) and credibility ratings of the tables
    in ``html`` that the PDF's ``texts`` (extractions of one PDF) lack."""
    parser = TableCells()
    parser.feed(html)
    have: Counter = Counter()
    for t in texts:
        have |= Counter(NUMBER.findall(t))
    text = texts[0]
    need: dict[str, Counter] = {}
    out: dict[str, list[str]] = {}
    for section, head, cell in parser.cells:
        need.setdefault(section, Counter()).update(NUMBER.findall(cell))
        if head == "rating" and cell and cell not in text:
            out.setdefault(section, []).append(f"rating {cell!r}")
    total = sum(need.values(), Counter())
    for section, counts in need.items():
        short = [n for n in counts if total[n] > have[n]]
        if short:
            out.setdefault(section, []).extend(f"{n} ({total[n]} in tables, {have[n]} in the PDF)" for n in short)
    return out


@pytest.fixture(scope="module")
def demo_pdf(tmp_path_factory):
    folder = written("demo")
    pdf = html_to_pdf(folder / "report.html", tmp_path_factory.mktemp("pdf") / "report.pdf")
    return (folder / "report.html").read_text(encoding="utf-8"), pdf_texts(pdf)


def test_every_table_number_and_rating_of_the_report_is_in_the_pdf(demo_pdf):
    html, (text, layout) = demo_pdf
    # the demo has the sections that used to print empty or cut off
    for section in ("section-conditional_effects", "section-johnson_neyman", "section-credibility"):
        assert f'id="{section}"' in html
    assert "<details>" in html, "the demo's long sections are collapsed on screen"
    assert missing_from_pdf(html, text, layout) == {}
    assert "Credibility of the effect modification claims" in text
    for rating in ("very low", "low", "moderate", "high"):
        if f"<td>{rating}</td>" in html:
            assert rating in text


def test_the_check_finds_numbers_that_are_not_printed(demo_pdf):
    """Not vacuous: the tables' numbers checked against a PDF text without the collapsed sections fail."""
    html, (text, _) = demo_pdf
    cut = text[:text.index("Treatment effect at chosen moderator values")]
    found = missing_from_pdf(html, cut)
    assert "section-conditional_effects" in found


def test_collapsed_sections_are_opened_for_printing():
    page = '<details><summary>3 rows: show</summary><table></table></details><p>&lt;details&gt;</p>'
    assert open_details(page) == '<details open><summary>3 rows: show</summary><table></table></details><p>&lt;details&gt;</p>'
