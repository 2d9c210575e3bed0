import sys
from pathlib import Path

import pytest

# the shared comparison helper (tests/compare.py) is imported by several test modules
sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture
def no_figures(monkeypatch):
    """Write output folders without drawing figures.

    Drawing the figures (SVG + 300-dpi PNG) is most of the time of a full write (about 13 s of
    14 s for the btheb_effects plan); every other file - results, sections, tables, tables.docx,
    report.html (without figures), manifest - is still written by the real code. Use it in any
    test that writes an output folder (Results.write, `effectmod analyze`) but is not about the
    figures; the figure tests (tests/test_report.py, tests/test_effects.py, tests/test_power.py)
    draw them.
    """
    import effectmod.report.figures

    monkeypatch.setattr(effectmod.report.figures, "report_figures", lambda results: [])


@pytest.fixture
def results_only(monkeypatch, no_figures):
    """Write output folders with the results files only (results.csv/json, sections, manifest):
    no figures, tables, tables.docx, and a stub report.html. For tests that run many inputs through
    the command line to check their handling (tests/test_bad_inputs.py, tests/test_safety.py); the
    tables and the report have their own tests."""
    import effectmod.report.html
    import effectmod.report.outputs

    monkeypatch.setattr(effectmod.report.outputs, "write_extra_outputs", lambda results, folder: [])
    monkeypatch.setattr(effectmod.report.html, "render_report", lambda results, *figures: "<!doctype html>")
