"""Tables for the terminal, the notebook and the report."""
from __future__ import annotations


def notebook_table(results) -> str:
    return results.table.to_html(index=False, na_rep="")
