"""The console table and Results.summary() name a moderator reported per k units as the report
does ('Age, per 10 years'), and show control characters in user text (C0, DEL, C1) as visible
escapes instead of raw codes."""
from __future__ import annotations

import dataclasses
import io

from rich.console import Console

from effectmod.cli.console import print_summary
from effectmod.report.text import visible
from test_per_units import _pair


def _console(res, width: int = 160) -> str:
    out = io.StringIO()
    print_summary(Console(file=out, width=width, color_system=None), res)
    return out.getvalue()


def test_console_and_summary_say_per_10_years():
    plain, per10 = _pair()
    assert "Age, per 10 years" in _console(per10)
    assert "Age, per 10 years" in per10.summary()
    # per unit: the plain label, with no 'per'
    assert "Age, per" not in _console(plain) and "Age, per" not in plain.summary()
    assert "Age" in _console(plain)


def test_summary_shows_del_and_c1_characters_as_escapes():
    _, res = _pair()
    mods = [m.model_copy(update={"label": "Age\x7f\x9b[31m red"}) if m.name == "age" else m for m in res.plan.moderators]
    odd = dataclasses.replace(res, plan=res.plan.model_copy(update={"moderators": mods, "title": "T\x85itle"}))
    text = odd.summary()
    assert "\x7f" not in text and "\x9b" not in text and "\x85" not in text
    assert "Age\\x7f\\x9b[31m red, per 10 years" in text and text.splitlines()[0] == "T\\x85itle"
    assert visible("plain (NRS 0-10)") == "plain (NRS 0-10)" and visible("a\udc80") == "a\\udc80"
