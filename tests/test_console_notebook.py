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


# ---------------------------------------------------------------------------- Results' notebook views
@functools.lru_cache(maxsize=None)
def _rich():
    """The rich case (Holm-adjusted P, a binary outcome, a categorical moderator, a not-estimable
    moderator with a note) with units on the kinesiophobia moderator."""
    res = rich_results()
    mods = [m.model_copy(update={"units": "TSK points"}) if m.name == "kinesiophobia" else m for m in res.plan.moderators]
    return dataclasses.replace(res, plan=res.plan.model_copy(update={"moderators": mods}))


def test_summary_lists_models_n_rows_adjusted_p_tiers_and_notes():
    res = _rich()
    text = res.summary()
    assert isinstance(text, str)
    lines = text.splitlines()
    assert lines[0] == res.plan.title
    assert "Linear regression" in text and "Logistic regression" in text
    assert f"Participants: {res.trial.flow.randomised}" in text and "multiplicity: holm" in text
    header = next(line for line in lines if line.startswith("outcome"))
    assert all(h in header for h in ("follow-up", "moderator", "term", "estimate (95% CI)", "P adj", "tier"))
    # one line per results row, with estimate [CI], P, adjusted P and tier
    kin = [line for line in lines if "Kinesiophobia (TSK 17-68) (TSK points)" in line]
    assert len(kin) == int((res.table["moderator"] == "kinesiophobia").sum()) == 3
    assert any("β 0.19 (0.06-0.32)" in line and ".005" in line and ".04" in line and line.endswith("evidence")
               for line in kin)
    assert any(line.startswith("Severe pain") and "ratio of ORs 1.27 (1.08-1.50)" in line for line in kin)
    assert "joint test" in text and "not-estimable" in text
    notes = lines[lines.index("Notes:") + 1:]
    assert notes and notes[0].startswith("[1] moderator 'site' takes a single value")


def test_to_markdown_is_a_table_without_optional_packages(monkeypatch):
    import builtins
    real_import = builtins.__import__

    def no_tabulate(name, *args, **kwargs):
        if name == "tabulate":
            raise ImportError("no tabulate")
        return real_import(name, *args, **kwargs)
    monkeypatch.setattr(builtins, "__import__", no_tabulate)
    res = _rich()
    md = res.to_markdown()
    rows_ = [line for line in md.splitlines() if line.startswith("|")]
    assert rows_[0].startswith("| outcome | follow-up | moderator |") and "| P adj |" in rows_[0]
    assert set(rows_[1].replace("|", "").replace(":", "").replace("-", "")) == set()
    assert len(rows_) == 2 + len(res.table)
    assert all(r.count("|") - r.count("\\|") == rows_[0].count("|") for r in rows_)
    # labels are text, not markup
    assert "&lt;script&gt;" in md and "<script>" not in md
    assert "adjusted for multiplicity (holm)" in md


def test_notebook_html_has_tier_colours_adjusted_p_and_units():
    res = _rich()
    page = res._repr_html_()
    # the report's CSS colours for the tiers (templates/report.html.j2)
    from importlib import resources
    css = (resources.files("effectmod.report") / "templates" / "report.html.j2").read_text(encoding="utf-8")
    for var in ("evidence", "hypothesis", "none", "ne"):
        colour = re.search(rf"--{var}: (#[0-9A-Fa-f]+)", css).group(1)
        assert colour in page
    assert "padding:4px 8px" in page                        # the report's cell padding
    assert ">P adj</th>" in page and ">.009</td>" in page      # Holm-adjusted P of back perception at 52
    assert "(TSK points)" in page                            # the moderator's units
    assert "&lt;script&gt;" in page and "<script>" not in page


def _title_texts(fig) -> str:
    return " ".join(t.get_text() for ax in fig.axes for t in (ax.title, ax._left_title, ax._right_title))


def test_plot_forest_returns_a_figure():
    from matplotlib.figure import Figure
    fig = _rich().plot_forest()
    assert isinstance(fig, Figure) and fig.axes
    assert "Pain intensity" in _title_texts(fig)


def test_plot_subgroups_returns_a_figure():
    from matplotlib.figure import Figure
    fig = _rich().plot_subgroups("age_group")
    assert isinstance(fig, Figure) and fig.axes
    assert "Treatment effect by Age group" in _title_texts(fig)
    with pytest.raises(ValueError, match="binary or categorical moderator"):
        _rich().plot_subgroups("kinesiophobia")


def test_plot_effect_returns_a_figure():
    from matplotlib.figure import Figure
    res = _rich()
    fig = res.plot_effect("kinesiophobia", "pain", "18")
    assert isinstance(fig, Figure) and fig.axes
    assert "Kinesiophobia" in _title_texts(fig) or "Kinesiophobia" in fig.axes[0].get_xlabel()
    assert "(TSK points)" in fig.axes[0].get_xlabel()
    with pytest.raises(ValueError, match="timepoint must be one of '18', '52'"):
        res.plot_effect("kinesiophobia", "pain", "99")
    with pytest.raises(ValueError, match="moderator must be one of"):
        res.plot_effect("age_group", "pain", "18")


def test_views_do_not_import_matplotlib():
    import subprocess
    import sys
    code = ("import sys; sys.path.insert(0, 'tests'); from report_cases import demo_results; r = demo_results(); "
            "r.summary(); r.to_markdown(); r._repr_html_(); "
            "print('matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
