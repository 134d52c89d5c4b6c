"""The version of circuitlearn (read by pyproject.toml as well)."""

__version__ = "0.1.0"
