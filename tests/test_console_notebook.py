"""The terminal summary, the power tables at narrow widths, and Results' notebook views."""
from __future__ import annotations

import dataclasses
import functools
import io
import re

import pytest
from rich.console import Console

from effectmod.cli.console import print_summary
from report_cases import rich_results

LONG_LABEL = "Kinesiophobia questionnaire total (17-68"[:39] + ")"   # 40 characters


@functools.lru_cache(maxsize=None)
def long_label_results():
    res = rich_results()
    mods = [m.model_copy(update={"label": LONG_LABEL}) if m.name == "kinesiophobia" else m for m in res.plan.moderators]
    return dataclasses.replace(res, plan=res.plan.model_copy(update={"moderators": mods}))


def _printed(width: int) -> list[str]:
    buf = io.StringIO()
    print_summary(Console(file=buf, width=width, color_system=None), long_label_results())
    return buf.getvalue().splitlines()


@pytest.mark.parametrize("width", [80, 120])
def test_console_p_digits_align_and_long_labels_are_whole(width):
    assert len(LONG_LABEL) == 40
    lines = _printed(width)
    assert max(len(line) for line in lines) <= width
    # each table: the header's 'P' and every row's P digits end in the same column, marks or not
    tables, current = [], None
    for line in lines:
        if line.startswith("Moderator"):
            current = [line]
            tables.append(current)
        elif current is not None and line.strip():
            current.append(line)
        else:
            current = None
    assert tables
    for table in tables:
        head = table[0]
        # where the 'P' and 'P adj' headers end: every P value's last digit must sit there
        ends = {m.end() for m in re.finditer(r"\bP(?: adj)?(?= |$)", head)}
        assert ends
        for row in table[1:]:
            for m in re.finditer(r"(?<![\w.\-(])[<>]?\.\d+", row):     # P values ('.005', '<.001', '>.99')
                assert m.end() in ends, (head, row)
                assert row[m.end():m.end() + 2] in ("**", "* ", "  ", "") or len(row) == m.end() + 1, row
    assert any("**" in line for table in tables for line in table)
    # the 40-character label is printed whole on one line: never cut at 24 characters with '…'
    assert any(LONG_LABEL in line for line in lines)
    assert not any("…" in line for line in lines)
    # adjusted P shown: the plan sets a multiplicity correction
    assert any("P adj" in line for line in lines)


def test_console_wraps_a_label_wider_than_the_room_left():
    res = long_label_results()
    label = "A very long moderator label " * 4
    mods = [m.model_copy(update={"label": label.strip()}) if m.name == "kinesiophobia" else m for m in res.plan.moderators]
    res = dataclasses.replace(res, plan=res.plan.model_copy(update={"moderators": mods}))
    buf = io.StringIO()
    print_summary(Console(file=buf, width=80, color_system=None), res)
    lines = buf.getvalue().splitlines()
    assert max(len(line) for line in lines) <= 80
    words = " ".join(line[:40] for line in lines)
    assert words.count("moderator") >= 4 and "…" not in buf.getvalue()
