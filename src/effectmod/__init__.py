"""effectmod: treatment-effect-modifier analysis of randomized clinical trials."""
__version__ = "0.1.0"
