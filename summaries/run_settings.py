"""What a finished run was trained with, read from its results dataset.

Every results dataset carries its sweep spec (the ``spec`` attribute, JSON); a summary
needs the spec's values (a model field, a training setting) or the spec itself.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import xarray as xr

    from sweeps import SweepSpec


def spec_table(ds: xr.Dataset) -> dict:
    """The spec table stored with ``ds`` (empty when it has none)."""
    try:
        return json.loads(ds.attrs.get("spec", "{}"))
    except (TypeError, ValueError):
        return {}


def spec_of(ds: xr.Dataset) -> SweepSpec:
    """The sweep spec ``ds`` was trained from."""
    from sweeps import SweepSpec

    return SweepSpec.from_dict(spec_table(ds))


def run_setting(ds: xr.Dataset, name: str, table: str = "model") -> Any:
    """A run's value of ``name``: its coordinate (a cell picked out of a sweep over it),
    else its spec (top level, then ``table``), else the default."""
    import toymodels

    if name in ds.coords and ds[name].ndim == 0:
        return ds[name].item()
    spec = spec_table(ds)
    for where in (spec, spec.get(table, {})):
        if name in where:
            return where[name]
    if table == "train":
        return getattr(toymodels.TrainConfig(), name)
    family = spec.get("family", ds.attrs.get("family"))
    return toymodels.field_specs(family, spec.get("task", ds.attrs.get("task")))[name].default
