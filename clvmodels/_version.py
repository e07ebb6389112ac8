"""The package version, as a leaf module (lower layers read it without importing the package face)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("clvmodels")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
