"""Which models a plan asks for: one ModelSpec per model type x outcome x (follow-up) x moderator."""
from __future__ import annotations

from dataclasses import dataclass

from ..data.trial import TrialData
from ..plan.schema import Plan


@dataclass(frozen=True)
class ModelSpec:
    kind: str                 # linear | logistic | mixed | poisson | negative_binomial | ordinal | cox | rmst (the `model` column)
    outcome: str
    moderator: str
    timepoint: str | None     # None: a mixed model over all follow-ups

    @property
    def key(self) -> tuple:
        return (self.kind, self.outcome, self.timepoint or "*", self.moderator)


def model_specs(plan: Plan, trial: TrialData) -> list[ModelSpec]:
    """Specs in report order: model type, then outcome, then moderator, then follow-up."""
    specs: list[ModelSpec] = []
    for model in plan.analysis.model_types:
        for o in plan.outcomes:
            data = trial.outcomes[o.name]
            if data.type == "time_to_event":
                if model == plan.analysis.model_types[0]:   # one Cox (and RMST) model per moderator
                    specs.extend(ModelSpec("cox", o.name, m.name, "") for m in plan.moderators)
                    # rmst rows are not produced with data.cluster (CONTRACT 6.3)
                    if data.horizon is not None and getattr(plan.data, "cluster", None) is None:
                        specs.extend(ModelSpec("rmst", o.name, m.name, horizon_text(data.horizon)) for m in plan.moderators)
                continue
            for m in plan.moderators:
                if model == "mixed":
                    specs.append(ModelSpec("mixed", o.name, m.name, None))
                else:
                    kind = "logistic" if data.type == "binary" else "linear"
                    if data.type == "count":
                        kind = plan.analysis.count_model
                    elif data.type == "ordinal":
                        kind = "ordinal"
                    specs.extend(ModelSpec(kind, o.name, m.name, t) for t in data.followups)
    return specs


def horizon_text(horizon: float) -> str:
    """The `timepoint` of rmst rows: the horizon as text (365, 182.5)."""
    return f"{horizon:g}"
