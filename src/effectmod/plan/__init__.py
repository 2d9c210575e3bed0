"""The analysis plan: schema and loader."""
from .load import load_plan, validate_plan
from .schema import Analysis, DataSpec, Derivation, Moderator, Outcome, Plan

__all__ = ["Analysis", "DataSpec", "Derivation", "Moderator", "Outcome", "Plan", "load_plan", "validate_plan"]
