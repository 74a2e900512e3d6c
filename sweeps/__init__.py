"""Sweeps of toy models: TOML specs and presets, chunked parallel runs that resume after
a crash, and one labelled results dataset per sweep folder.

Names are imported on first use, so ``import sweeps`` (and ``toymodels --help``) stays
fast; torch and xarray load only when a sweep is built or read.
"""

import importlib

__all__ = ["SweepSpec", "load", "load_preset", "load_spec", "presets", "run", "status"]

_HOME = {
    "SweepSpec": "sweeps.spec",
    "load_spec": "sweeps._presets",
    "load_preset": "sweeps._presets",
    "presets": "sweeps._presets",
    "run": "sweeps.runner",
    "load": "sweeps.storage",
    "status": "sweeps.storage",
}


def __getattr__(name: str):
    if name in _HOME:
        return getattr(importlib.import_module(_HOME[name]), name)
    raise AttributeError(f"module 'sweeps' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
