"""The credibility, conditional-effect and Johnson-Neyman tables of the report read as prose
tables: human labels, formatted numbers with a true minus sign, whole df, no empty column, and one
row per credibility claim with its item answers beneath (the CSV files keep their columns)."""
from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from effectmod.report.html import render_report
from effectmod.report.section_tables import df_text, minus, section_table
from report_cases import demo_results

SNAKE = re.compile(r"\b[a-z]+_[a-z_]+\b")


@pytest.fixture(scope="module")
def demo():
    return demo_results()


class _Cells(HTMLParser):
    def __init__(self):
        super().__init__()
        self.cells: list[str] = []
        self.heads: list[str] = []
        self._in: str | None = None

    def handle_starttag(self, tag, attrs):
        if tag in ("td", "th"):
            self._in = tag
            (self.cells if tag == "td" else self.heads).append("")

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self._in = None

    def handle_data(self, data):
        if self._in == "td":
            self.cells[-1] += data
        elif self._in == "th":
            self.heads[-1] += data


def _section_html(html: str, name: str) -> _Cells:
    start = html.index(f'id="section-{name}"')
    end = html.index("</section>", start)
    c = _Cells()
    c.feed(html[start:end])
    return c


@pytest.mark.parametrize("name", ["credibility", "conditional_effects", "johnson_neyman"])
def test_section_tables_show_words_and_formatted_numbers(demo, name):
    html = render_report(demo, [])
    c = _section_html(html, name)
    text = " ".join(c.cells)
    assert c.cells and not SNAKE.search(text), SNAKE.search(text)
    assert "nan" not in text.split() and "NaN" not in text
    assert not re.search(r"(?<![\d.])-\d", text)              # negative numbers carry U+2212
    assert "\u2212" in text
    assert not any("_" in h for h in c.heads)
    assert "weeks" in text                                    # follow-ups with the plan's time unit
    assert not re.search(r"\b\d+\.0{2,}\b", " ".join(c.cells[i] for i, h in enumerate(c.heads) if h == "df"))


def test_credibility_is_one_row_per_claim_with_its_items_beneath(demo):
    cred = demo.sections["credibility"]
    t = section_table("credibility", cred, demo)
    assert t["columns"] == ["Moderator", "Outcome, follow-up", "Estimate (CI)", "P", "Tier", "Credibility (ICEMAN)"]
    assert len(t["rows"]) == len(cred)
    first = t["rows"][0]
    assert "observed direction:" in first["detail"] and "Reasons:" in first["detail"]
    html = render_report(demo, [])
    start = html.index('id="section-credibility"')
    assert html.count('<tr class="detail">', start, html.index("</section>", start)) == len(cred)


def test_conditional_effects_drop_the_empty_term_column_and_print_df_whole(demo):
    t = section_table("conditional_effects", demo.sections["conditional_effects"], demo)
    assert not any(c.lower() == "term" for c in t["columns"])
    assert {r["cells"][t["columns"].index("Percentile")] for r in t["rows"]} >= {"10th", "50th", "90th"}
    j = t["columns"].index("df")
    assert all(re.fullmatch(r"\d+(\.\d)?", r["cells"][j]) for r in t["rows"])


def test_df_and_minus_helpers():
    assert df_text(51.0) == "51" and df_text(51.37) == "51.4" and df_text(float("nan")) == ""
    assert minus("-0.01 (-1.26 to 1.25); 0.01-0.16") == "\u22120.01 (\u22121.26 to 1.25); 0.01-0.16"
