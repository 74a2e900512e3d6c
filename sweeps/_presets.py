"""Where specs come from: presets (the sweep specs of the paper's figures and the worked
examples, one TOML file each in ``sweeps/presets/``), spec files, and sweep folders.

A preset's name is its file name without ``.toml``; adding a figure is adding a file.
"""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path

from toymodels.errors import ConfigError, did_you_mean, unknown_name

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


def load_spec(source: str | Path) -> SweepSpec:
    """A spec from a TOML file, a ``spec.json`` (or the sweep folder holding one), or a
    preset name (see :func:`sweeps.presets`)."""
    path = Path(source)
    if path.is_dir() and (path / "spec.json").is_file():
        path = path / "spec.json"
    if path.is_file():
        return SweepSpec.from_dict(read_spec_file(path))
    text = str(source)
    if path.is_dir():
        raise ConfigError(f"{text} is a folder without a spec.json; give a spec file or preset")
    if path.suffix in (".toml", ".json") or "/" in text:
        raise ConfigError(f"spec file {text} does not exist")
    if text in preset_names():
        return load_preset(text)
    raise ConfigError(
        f'"{text}" is neither a spec file nor a preset{did_you_mean(text, preset_names())}; '
        f"presets: {', '.join(preset_names())}"
    )
