"""Files of the output folder beyond results and report: figures/, table1.csv,
interaction_table.csv (Table 2), etable<k>.csv (eTables) and tables.docx."""
from __future__ import annotations

from pathlib import Path

from ..writing import write_csv
from . import figures as figs
from .comparisons import flattened
from .docx import write_docx
from .etables import etables
from .html import RenderedFigure
from .ratio_display import ph_view
from .tables import jama_table, table1


def write_extra_outputs(results, folder) -> list:
    """Write figures (SVG + 300-dpi PNG), the two journal tables as CSV, and tables.docx.

    Returns the rendered figures so that the report can embed the very same SVG bytes.
    """
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
    results = flattened(results)    # multi-arm: each comparison's rows as their own moderators
    jt = jama_table(results)
    write_csv(t1, folder / "table1.csv", full_precision=False)
    write_csv(jt.to_frame(), folder / "interaction_table.csv", full_precision=False)
    extra = etables(results)
    for e in extra:
        write_csv(e.table.to_frame(), folder / f"etable{e.number}.csv", full_precision=False)
    # the printed tables: the Cox models' proportional-hazards test once under Table 2, not in each cell
    # (the CSV files above do not hold the notes, so they are the same either way)
    shown = ph_view(results)
    write_docx(results, folder / "tables.docx", t1, jama_table(shown), etables(shown))
    return rendered
