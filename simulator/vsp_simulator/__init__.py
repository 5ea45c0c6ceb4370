"""vsp_simulator: a stateful stand-in for the Hitachi VSP block REST API."""

__version__ = "0.1.0"
