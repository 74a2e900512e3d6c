"""Presets: the sweep specs of the paper's figures, one TOML file each in ``sweeps/presets/``.

A preset's name is its file name without ``.toml``; adding a figure is adding a file.
"""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path

from toymodels.errors import unknown_name

from .spec import SweepSpec, read_spec_file


def _folder() -> Path:
    return Path(str(resources.files("sweeps") / "presets"))


def preset_names() -> list[str]:
    return sorted(p.stem for p in _folder().glob("*.toml"))


def presets() -> dict[str, str]:
    """Preset name -> one-line description, sorted by name."""
    out = {}
    for name in preset_names():
        try:
            data = tomllib.loads((_folder() / f"{name}.toml").read_text(encoding="utf-8"))
            out[name] = str(data.get("description", ""))
        except (OSError, tomllib.TOMLDecodeError) as exc:  # list it, say why it is broken
            out[name] = f"(unreadable: {exc})"
    return out


def load_preset(name: str) -> SweepSpec:
    """The validated spec of preset ``name``."""
    names = preset_names()
    if name not in names:
        raise unknown_name("preset", name, names)
    return SweepSpec.from_dict(read_spec_file(_folder() / f"{name}.toml"))
