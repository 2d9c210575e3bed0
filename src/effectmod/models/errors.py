"""The models' one error: a model that cannot be fitted, said in words for its rows' note."""
from __future__ import annotations


class NotEstimable(Exception):
    """This one model cannot be fitted; the message is the row's `note`."""
