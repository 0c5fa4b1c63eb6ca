"""formguide: honest, calibrated sports probabilities."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("formguide")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.2.0"
