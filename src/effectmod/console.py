"""Terminal output (rich): the compact summary table and progress bars."""
from __future__ import annotations

import time

TIER_STYLE = {"evidence": "bold green", "hypothesis-generating": "yellow", "none": "dim", "not-estimable": "red"}


def print_summary(console, results) -> None:
    from rich.table import Table

    from .report.sentences import interval, number, p_text
    a = results.plan.analysis
    table = Table(title=results.plan.title or "Interaction tests", title_justify="left", show_lines=False)
    for col in ("outcome", "follow-up", "moderator", "model", f"β ({a.ci_level:.0%} CI)", "P", "n", "tier"):
        table.add_column(col, justify="right" if col in ("P", "n") else "left", no_wrap=col != "moderator")
    for r in results.table.itertuples(index=False):
        mod = r.moderator + (f" [{r.term}]" if r.term else "")
        if r.tier == "not-estimable":
            est = "—"
        elif r.term == "joint":
            est = "joint test"
        else:
            est = f"{number(r.estimate)} ({interval(r.ci_low, r.ci_high)})"
        p = "" if r.tier == "not-estimable" else p_text(r.p_value, a.evidence_threshold)[4:].lstrip("= ")
        style = TIER_STYLE.get(r.tier, "")
        table.add_row(r.outcome, str(r.timepoint), mod, r.model, est, p, str(r.n), f"[{style}]{r.tier}[/{style}]" if style else r.tier)
    console.print(table)
    flow = results.trial.flow
    excluded = sum(n for _, n in flow.excluded)
    console.print(f"{flow.randomised} participants in the two analysed arms" + (f"; {excluded} excluded (see report)" if excluded else "")
                  + ". Tiers: evidence P < " + f"{a.evidence_threshold:g}, hypothesis-generating P < {a.exploratory_threshold:g}.")


class LazyProgress:
    """A progress bar that shows itself only once work has run for more than a second."""

    def __init__(self, console, delay: float = 1.0):
        self.console = console
        self.delay = delay
        self._bar = None
        self._tasks = {}
        self._start = None

    def __enter__(self):
        self._start = time.monotonic()
        return self

    def __exit__(self, *exc):
        if self._bar is not None:
            self._bar.stop()
        return False

    def update(self, done: int, total: int, what: str) -> None:
        if self.console.quiet:
            return
        if self._bar is None:
            if time.monotonic() - self._start < self.delay:
                return
            from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
            self._bar = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                                 TimeRemainingColumn(), console=self.console, transient=True)
            self._bar.start()
        if what not in self._tasks:
            self._tasks[what] = self._bar.add_task(what, total=total)
        self._bar.update(self._tasks[what], completed=done, total=total)
