"""Analyses larger than memory: a Parquet file or directory streamed by row groups (``effectmod analyze --stream``)."""
