"""formguide: honest, calibrated sports probabilities."""

__version__ = "0.1.0"
