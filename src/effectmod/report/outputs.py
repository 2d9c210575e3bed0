"""Files of the output folder beyond results and report: figures/, table1.csv,
interaction_table.csv and tables.docx."""
from __future__ import annotations

from pathlib import Path

from . import figures as figs
from .tables import jama_table, table1
from .text import utf8_frame


def write_extra_outputs(results, folder) -> list:
    """Write figures (SVG + 300-dpi PNG), the two journal tables as CSV, and tables.docx.

    Returns the rendered figures so that the report can embed the very same SVG bytes.
    """
    from .html import RenderedFigure
    folder = Path(folder)
    fig_dir = folder / "figures"
    fig_dir.mkdir(parents=True, exist_ok=True)
    rendered = []
    collected = figs.report_figures(results)
    try:
        for name, caption, fig in collected:
            svg, png = figs.svg_and_png(fig, dpi=300)
            (fig_dir / f"{name}.svg").write_bytes(svg)
            (fig_dir / f"{name}.png").write_bytes(png)
            rendered.append(RenderedFigure(name, caption, svg))
    finally:
        figs.close(collected)
    t1 = table1(results)
    jt = jama_table(results)
    utf8_frame(t1).to_csv(folder / "table1.csv", index=False)
    utf8_frame(jt.to_frame()).to_csv(folder / "interaction_table.csv", index=False)
    from .docx import write_docx
    write_docx(results, folder / "tables.docx", t1, jt)
    return rendered
