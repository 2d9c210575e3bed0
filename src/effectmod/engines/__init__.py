"""Estimation engines: pure functions on arrays that return frozen fit records.

Every fit record offers the same two questions, so that the inference layer never needs to
know which engine produced it: ``contrast(L)`` for one linear combination of coefficients and
``wald(L)`` for a joint test of several.

The numerical core every engine shares: ``linalg`` (standardising columns, the one rank rule,
the batched QR least-squares solve), ``variance`` (classical and HC3, one fit or a batch),
``newton`` (the damped Newton driver of every iterative fit) and ``errors`` (the typed errors
an engine raises when a model cannot be estimated).
"""
