"""Sweeps of toy models: TOML specs and presets, chunked parallel runs that resume after
a crash, and one labelled results dataset per sweep folder.

Names are imported on first use, so ``import sweeps`` (and ``toymodels --help``) stays
fast; torch and xarray load only when a sweep is built or read.
"""

from toymodels.lazy_exports import lazy_exports

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


__getattr__, __dir__ = lazy_exports(__name__, _HOME, __all__)
