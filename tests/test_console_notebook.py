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


def _power_frame():
    import math

    import pandas as pd

    from effectmod.power import POWER_COLUMNS
    rows = [dict(outcome=o, timepoint=tp, moderator="kinesiophobia", n=n, scale=1.0, generating_interaction=0.15,
                 analysis_estimand=0.1432, true_interaction=0.1432, power=p, mcse=0.0123, ate_power=0.999,
                 ate_mcse=0.001, replicates=400)
            for o in ("pain", "disability_index_of_the_back") for tp in ("18", "52") for n, p in ((100, 0.6123), (200, 0.8123))]
    frame = pd.DataFrame(rows)
    for c in POWER_COLUMNS:
        if c not in frame:
            frame[c] = math.nan
    return frame[list(POWER_COLUMNS)]


@pytest.mark.parametrize("width", [80, 120, 160])
def test_power_tables_are_readable_at_their_width(width):
    from effectmod.cli.power import print_power, print_target
    from effectmod.power import target_table
    table = _power_frame()
    buf = io.StringIO()
    console = Console(file=buf, width=width, color_system=None)
    print_power(console, table)
    print_target(console, target_table(table, 0.8), table)
    text = buf.getvalue()
    assert max(len(line) for line in text.splitlines()) <= width
    # every number whole on its line: no cell cut ('…') or wrapped inside a number
    assert "…" not in text
    for number in ("0.612 ± 0.012", "0.812 ± 0.012", "0.999 ± 0.001", "0.1432", "0.15"):
        assert number in text
    assert re.search(r"0\.812 \[0\.77\d, 0\.8\d\d\]", text) and "kinesiophobia" in text
    assert "200" in text and "100" in text
