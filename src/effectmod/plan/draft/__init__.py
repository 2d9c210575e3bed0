"""``effectmod init``: a commented draft plan guessed from a data file.

``columns`` recognises what each column is (its name and values), ``kinds`` guesses outcome types
and directions, ``guess`` puts the guesses together into a ``records.Draft``, and ``render``
writes it as commented YAML.
"""
from .guess import draft_plan, draft_with_notes, guess_plan, variable_labels
from .render import render_draft

__all__ = ["draft_plan", "draft_with_notes", "guess_plan", "render_draft", "variable_labels"]
