"""The command line: ``app`` (entry point, exit codes, Ctrl-C), ``parser`` (arguments), ``commands``
(one ``run_<command>`` each), ``power`` (``effectmod power``), ``progress`` and ``console`` (what is
printed). This package imports only the standard library: ``effectmod --help`` stays light."""
from .app import main

__all__ = ["main"]
