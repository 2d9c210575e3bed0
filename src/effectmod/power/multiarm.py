"""Power from a multi-arm pilot: every arm simulated jointly. The plan's models are fitted to the
pilot with all arms (``treat[<arm>]`` and ``treat[<arm>]:<moderator>`` columns, as `analyze` fits
them); a simulated trial of n participants allocates them equally to the control and every
treated arm (the remainder to the first arms), and each comparison's interaction (or average
effect) is tested in that one model with every arm. One ``PilotModel`` per comparison: the same
fit, ``treat_col``/``inter_cols`` naming that comparison's columns, ``arm_cols``/``arm_inter_cols``
every arm's, so that ``power.trials`` redraws all of them."""
from __future__ import annotations

from dataclasses import replace
from typing import Any

from .sources import PilotModel


def multiarm_models(plan_obj, trial, single, skipped: list[str], pilot_model, ate_model) -> list[PilotModel]:
    from ..models.fit import fit_model
    from ..models.spec import model_specs
    arms = tuple(plan_obj.data.treated_arms)
    control = plan_obj.data.control
    out: list[PilotModel] = []
    seen_ate: set = set()
    for spec in model_specs(single, trial):
        if spec.moderator in skipped and (spec.outcome, spec.timepoint) in seen_ate:
            continue
        fm = fit_model(spec, trial, single)
        fit: Any = fm.fit
        if fit is None:
            continue
        d = fm.design
        binary = spec.kind == "logistic"
        treat = [d.names.index(d.treat_name(a)) for a in arms]
        models = []
        if spec.moderator not in skipped:
            mods = [k for k, nm in enumerate(d.names) if nm.startswith("mod")]
            inter = tuple(tuple(d.names.index(f"{d.treat_name(a)}:{d.names[k]}") for k in mods) for a in arms)
            base = pilot_model(spec.outcome, spec.timepoint, spec.moderator, binary, d.X, d.y, fit.coef,
                               _two_arm_names(d.names, d.treat_name(arms[0])))
            models += [replace(base, treat_col=treat[i], inter_cols=inter[i], arm_cols=tuple(treat), arm_inter_cols=inter,
                               outcome=f"{spec.outcome} [{a} vs {control}]") for i, a in enumerate(arms)]
        if (spec.outcome, spec.timepoint) not in seen_ate:
            seen_ate.add((spec.outcome, spec.timepoint))
            keep = [k for k, nm in enumerate(d.names) if not any(part.startswith("mod") for part in nm.split(":"))]
            names = tuple(d.names[k] for k in keep)
            base = ate_model(spec.outcome, spec.timepoint, binary, d.X[:, keep], d.y, _two_arm_names(names, d.treat_name(arms[0])))
            cols = tuple(names.index(d.treat_name(a)) for a in arms)
            models += [replace(base, treat_col=cols[i], arm_cols=cols, outcome=f"{spec.outcome} [{a} vs {control}]")
                       for i, a in enumerate(arms)]
        out += models
    return out


def _two_arm_names(names, first: str) -> list[str]:
    """The names with the first arm's indicator called ``treat`` (``pilot_model`` looks it up;
    ``treat_col`` and ``inter_cols`` are then set per comparison)."""
    return [":".join("treat" if part == first else part for part in nm.split(":")) for nm in names]
