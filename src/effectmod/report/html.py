"""report.html: one self-contained page."""
from __future__ import annotations

import html


def render_report(results) -> str:
    rows = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in r) + "</tr>"
        for r in results.table.itertuples(index=False))
    head = "".join(f"<th>{html.escape(c)}</th>" for c in results.table.columns)
    title = html.escape(results.plan.title or "effectmod report")
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title></head>"
            f"<body><h1>{title}</h1><table><tr>{head}</tr>{rows}</table></body></html>")
