"""The SHA-256 of a caller's DataFrame (its values and index, as pandas hashes them) that the
results record as the data's provenance, computed beside the data preparation.

Hashing a million-row frame takes a tenth of a second of numpy work, which releases the GIL: a
second thread does it while the plan and data are checked, and the analysis waits for it only
when it writes the digest down.
"""
from __future__ import annotations

import hashlib
import threading
from typing import Callable

import pandas as pd


def frame_hash(frame: pd.DataFrame) -> str:
    return hashlib.sha256(pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes()).hexdigest()


def frame_hash_later(frame: pd.DataFrame) -> Callable[[], str]:
    """Start hashing ``frame`` (only read) in a background thread; the returned function waits for the
    digest, or raises what hashing raised (an unhashable cell) where ``frame_hash`` would have."""
    digests: list[str] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            digests.append(frame_hash(frame))
        except BaseException as exc:    # handed to the caller, in its own thread
            errors.append(exc)

    worker = threading.Thread(target=run, name="effectmod-frame-hash", daemon=True)
    worker.start()

    def digest() -> str:
        worker.join()
        if errors:
            raise errors[0]
        return digests[0]
    return digest
