"""Running a pass of the streamed analysis here or on a Dask cluster, a file per task.

Without a client a pass reads the whole dataset in this process. With a ``dask.distributed``
client each Parquet file is one task: the worker opens that file (the workers must see the same
path: a shared file system) and returns the pass's mergeable result; the results come back in
the files' order and are merged here, so the numbers do not depend on which worker read what.
"""
from __future__ import annotations

from typing import Callable


def _on_file(path: str, fn: Callable, kwargs: dict):
    """One task: ``fn`` over the dataset of one file (runs on a worker)."""
    import pyarrow.dataset as ds
    return fn(ds.dataset(path, format="parquet"), **kwargs)


class PartRunner:
    """Runs each pass over ``dataset``: in this process, or a file per task on ``client``'s cluster."""

    def __init__(self, dataset, client=None):
        self.dataset = dataset
        self.client = client

    def each(self, fn: Callable, **kwargs) -> list:
        """``fn(dataset, **kwargs)`` per part, in the files' order (one part without a client)."""
        if self.client is None:
            return [fn(self.dataset, **kwargs)]
        files = list(self.dataset.files)
        futures = [self.client.submit(_on_file, path, fn, kwargs, pure=False) for path in files]
        return self.client.gather(futures)

    def merged(self, fn: Callable, **kwargs):
        """``each``, its parts merged into the first (each part has ``merge``)."""
        parts = self.each(fn, **kwargs)
        first = parts[0]
        for other in parts[1:]:
            first.merge(other)
        return first
