"""The installed package version, stored with every sweep (a sweep is finished with the
version that started it)."""

from __future__ import annotations

from importlib import metadata


def package_version() -> str:
    try:
        return metadata.version("toymodels")
    except metadata.PackageNotFoundError:  # running from a source tree that is not installed
        return "0+unknown"
