"""Kaplan-Meier figures of time-to-event outcomes: survival by arm within each level of a binary or
categorical moderator (one panel per level), with the numbers at risk beneath each panel and the
horizon marked when the plan sets one. Continuous moderators get the hazard ratio across their
range from the conditional-effect figures (``report/effect_figures.py``)."""
from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from ..engines.survival_km import kaplan_meier
from .display import arm_name, bare_number, level_name, short_label
from .drawing import ARM_COLOURS, literal
from .labels import label_of

MAX_LEVELS = 6
AT_RISK_TICKS = 5


def _step(km, end: float):
    x = np.concatenate([[0.0], km.time, [end]])
    y = np.concatenate([[1.0], km.surv, [km.surv[-1] if km.surv.size else 1.0]])
    return x, y


def km_figures(results) -> list[tuple[str, str, Figure]]:
    out = []
    trial = results.trial
    arms = trial.flow.arm_values
    for fm in results.fitted:
        if fm.spec.kind != "cox" or fm.design.event is None:
            continue
        m = trial.moderators[fm.spec.moderator]
        if m.type == "continuous" or len(m.levels) > MAX_LEVELS or "treat" not in fm.design.names:
            continue
        o = trial.outcomes[fm.spec.outcome]
        d = fm.design
        codes = m.values[d.rows]
        treat = d.X[:, d.index("treat")]
        end = float(np.nanmax(d.y)) if d.y.size else 1.0
        from matplotlib.ticker import MaxNLocator
        ticks = np.array([t for t in MaxNLocator(AT_RISK_TICKS).tick_values(0.0, end) if 0 <= t <= end])
        k = len(m.levels)
        fig = Figure(figsize=(3.4 * k, 3.9))
        grid = fig.add_gridspec(2, k, height_ratios=(4, 1), hspace=0.35)
        for j, level in enumerate(m.levels):
            ax = fig.add_subplot(grid[0, j])
            table = fig.add_subplot(grid[1, j])
            table.axis("off")
            rows = []
            for a, arm in ((1, "treated"), (0, "control")):
                sel = (codes == j) & (treat == a)
                name = arm_name(results.plan, arms.get(arm, arm))
                if sel.any():
                    km = kaplan_meier(d.y[sel], d.event[sel])
                    x, y = _step(km, end)
                    ax.step(x, y, where="post", color=ARM_COLOURS[arm], lw=1.4, label=literal(name))
                    rows.append((name, [int((d.y[sel] >= t).sum()) for t in ticks]))
            if o.horizon is not None:
                ax.axvline(float(o.horizon), color="#999999", lw=0.8, ls="--")
            ax.set_ylim(0, 1.02)
            ax.set_xlim(0, end)
            ax.set_xticks(ticks)
            ax.set_xticklabels([f"{t:.0f}" for t in ticks], fontsize=7)
            ax.set_title(literal(_panel_title(m, level_name(results.plan, m.name, level))), fontsize=9)
            ax.set_xlabel(literal(f"Time ({o.time_unit})" if o.time_unit else "Time"), fontsize=8)
            if j == 0:
                ax.set_ylabel("Survival (event-free)", fontsize=8)
                ax.legend(fontsize=7, frameon=False, loc="lower left")
            table.text(0.0, 1.15, "At risk", fontsize=7, transform=table.transAxes, va="top", ha="left")
            for r, (name, counts) in enumerate(rows):
                yy = 0.7 - 0.3 * r
                for t, c in zip(ticks, counts):
                    table.text(t / end if end else 0, yy, str(c), fontsize=7, transform=table.transAxes, ha="center",
                               color=ARM_COLOURS["treated" if r == 0 else "control"])
        fig.suptitle(literal(label_of(m)), fontsize=10)
        horizon = f"; dashed line: the horizon ({o.horizon:g} {o.time_unit or ''})".rstrip() if o.horizon is not None else ""
        caption = (f"Kaplan-Meier curves of {label_of(o)} by arm within each level of {label_of(m)}, with the numbers "
                   f"at risk beneath{horizon}.")
        out.append((f"km_{fm.spec.outcome}_{fm.spec.moderator}", caption, fig))
    return out


def _panel_title(m, shown: str) -> str:
    """A level's panel title: its label, or 'Sex = 1' for a bare number (a panel titled '1' says nothing)."""
    return f"{short_label(m)} = {shown}" if bare_number(shown) else shown
