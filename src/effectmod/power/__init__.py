"""Simulation-based power of the interaction tests: the engine is ``power.engine``; the command
line (``effectmod power``) is ``cli.power``."""
from .engine import (
                     CHUNK,
                     POWER_COLUMNS,
                     TARGET_COLUMNS,
                     WILSON_Z,
                     PilotModel,
                     PilotSource,
                     PowerGrid,
                     ScenarioSource,
                     Size,
                     pilot_source,
                     run_chunk,
                     simulate_power,
                     stacked_t,
                     target_table,
                     wilson,
)

__all__ = ["CHUNK", "POWER_COLUMNS", "TARGET_COLUMNS", "WILSON_Z", "PilotModel", "PilotSource", "PowerGrid",
           "ScenarioSource", "Size", "pilot_source", "run_chunk", "simulate_power", "stacked_t", "target_table", "wilson"]
