"""``effectmod init``: a commented draft plan guessed from a data file."""
from .guess import draft_plan, draft_with_notes, guess_plan, render_draft, variable_labels

__all__ = ["draft_plan", "draft_with_notes", "guess_plan", "render_draft", "variable_labels"]
