"""Estimation engines: pure functions on arrays that return frozen fit records.

Every fit record offers the same two questions, so that the inference layer never needs to
know which engine produced it: ``contrast(L)`` for one linear combination of coefficients and
``wald(L)`` for a joint test of several.
"""
