"""Shot-chaining orchestrator for the Seedance video models of BytePlus ModelArk / Volcengine Ark."""

__version__ = "0.1.0"
