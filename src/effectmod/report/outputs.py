"""Files of the output folder beyond results and report: figures/, tables."""
from __future__ import annotations


def write_extra_outputs(results, folder) -> None:
    return None
