"""framing: label Korean news sentences with state-propaganda frames."""

__version__ = "0.1.0"
