"""Predictive heterogeneity of the treatment effect as the PATH Statement describes it (Kent et al.,
Ann Intern Med 2020): risk modelling (``risk``), penalised effect modelling (``effect``), the
c-for-benefit and calibration for benefit (``benefit``), Harrell's optimism bootstrap
(``validation``) and shrunken subgroup effects (``shrinkage``); ``run`` builds the output frames.

An outcome family is added by giving it a prognostic fit in ``risk.fit_prognostic``, a per-group
effect in ``risk.group_effects`` and a benefit prediction in ``effect``; ``SUPPORTED`` lists the
families handled (the plan refuses the others, ``plan.schema.PREDICTIVE_OUTCOME_TYPES``).
Time-to-event and count outcomes have risk modelling only (``risk_survival``, ``risk_count``,
run by ``run_families``): no effect model is defined for them.
"""
SUPPORTED = ("continuous", "binary", "time_to_event", "count")
