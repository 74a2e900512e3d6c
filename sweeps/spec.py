"""Sweep specs: what a sweep trains, as a frozen, validated dataclass read from TOML.

A spec names a model family and sizes, fixed model values (``[model]``), training
settings (``[train]``, any ``TrainConfig`` field), replicates per cell (``seeds``) and grid
axes (``[axes]``, in order; any structure, model or training field).  Every cell of the
grid trains ``seeds`` models, model ``(cell, replicate)`` from
``SeedSequence(root_seed, spawn_key=(cell, replicate))``.  How a sweep is *executed*
(jobs, backend, output folder) is not part of the spec and never changes the numbers;
``chunk_size`` is, because it fixes which models are trained together.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from toymodels.config import ModelConfig, TrainConfig
from toymodels.errors import ConfigError, check_int, did_you_mean, unknown_name

from ._axes import Axis
from ._fields import (
    AXIS_FIELDS,
    DEFAULT_CHUNK_SIZE,
    MODEL_CHECKS,
    MODEL_DEFAULTS,
    MODEL_FIELDS,
    PER_MODEL_FIELDS,
    SCALAR_KEYS,
    TOP_KEYS,
    TRAIN_FIELDS,
    check_keys,
    check_value,
    families,
)
from ._overrides import apply_override, parse_overrides

__all__ = ["Axis", "SweepSpec", "load_spec", "parse_overrides", "read_spec_file"]


@dataclass(frozen=True)
class SweepSpec:
    """A sweep: fixed values, training settings, grid axes and replicates (see module doc).

    Build from a TOML file with :func:`load_spec`, a preset with
    :func:`sweeps.load_preset`, a dict with :meth:`from_dict`; vary with
    :meth:`with_overrides` (dotted keys, as ``--set``) or :func:`dataclasses.replace`.
    """

    name: str = "sweep"
    description: str = ""
    family: str = "relu"
    n_features: int = 2
    n_hidden: int = 1
    seeds: int = 1
    root_seed: int = 0
    chunk_size: int = DEFAULT_CHUNK_SIZE
    model: Mapping[str, float] = field(default_factory=lambda: dict(MODEL_DEFAULTS))
    train: TrainConfig = field(default_factory=TrainConfig)
    axes: tuple[Axis, ...] = ()

    def __post_init__(self) -> None:
        for key in ("name", "description"):
            if not isinstance(getattr(self, key), str):
                raise ConfigError(f"{key}={getattr(self, key)!r} must be text")
        if not self.name:
            raise ConfigError("name is empty; give the sweep a name")
        if self.family not in families():
            raise unknown_name("model family", self.family, families())
        for key in ("n_features", "n_hidden", "seeds", "chunk_size"):
            object.__setattr__(self, key, check_int(key, getattr(self, key), minimum=1))
        object.__setattr__(self, "root_seed", check_int("root_seed", self.root_seed, minimum=0))
        object.__setattr__(self, "model", _model_table(self.model))
        if not isinstance(self.train, TrainConfig):
            raise ConfigError(f"train={self.train!r} must be a TrainConfig")
        axes = tuple(self.axes)
        for axis in axes:
            if not isinstance(axis, Axis):
                raise ConfigError(f"axes entry {axis!r} must be an Axis")
            if axis.name not in AXIS_FIELDS:
                raise unknown_name("axis", axis.name, AXIS_FIELDS)
        names = [a.name for a in axes]
        if len(set(names)) != len(names):
            raise ConfigError(f"axes {names} repeat a name; each field can be one axis")
        object.__setattr__(self, "axes", axes)
        _check_cells(self)

    # -- the grid -------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(a.values) for a in self.axes)

    @property
    def n_cells(self) -> int:
        return math.prod(self.shape)

    @property
    def n_models(self) -> int:
        return self.n_cells * self.seeds

    def axis(self, name: str) -> Axis | None:
        return next((a for a in self.axes if a.name == name), None)

    def point(self, index: Iterable[int]) -> dict[str, Any]:
        """Every field's value at the grid point with per-axis ``index``."""
        values = {
            "family": self.family,
            "n_features": self.n_features,
            "n_hidden": self.n_hidden,
            **self.model,
        }
        values.update({a.name: a.values[i] for a, i in zip(self.axes, index, strict=True)})
        return values

    def cell_point(self, cell: int) -> dict[str, Any]:
        """Every field's value at flat (C-order) cell index ``cell``."""
        return self.point(np.unravel_index(cell, self.shape) if self.axes else ())

    def model_config(self, point: Mapping[str, Any]) -> ModelConfig:
        """The paper's parametrisation at ``point`` (``ModelConfig.superposition``)."""
        return ModelConfig.superposition(
            point["family"],
            point["n_features"],
            point["n_hidden"],
            density=point["density"],
            importance=point["importance"],
            importance_decay=point["importance_decay"],
        )

    def train_config(self, point: Mapping[str, Any]) -> TrainConfig:
        changes = {k: point[k] for k in TRAIN_FIELDS if k in point}
        return dataclasses.replace(self.train, **changes) if changes else self.train

    # -- dict / TOML / JSON form ------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SweepSpec:
        """A spec from the TOML layout (see README and ``sweeps/presets/*.toml``)."""
        if not isinstance(data, Mapping):
            raise ConfigError(f"a sweep spec must be a table, got {type(data).__name__}")
        check_keys("", data, TOP_KEYS)
        model = data.get("model", {})
        train = data.get("train", {})
        axes = data.get("axes", {})
        for key, table in (("model", model), ("train", train), ("axes", axes)):
            if not isinstance(table, Mapping):
                raise ConfigError(f"[{key}] must be a table of key = value lines")
        check_keys("model.", model, MODEL_FIELDS)
        check_keys("train.", train, TRAIN_FIELDS)
        train = dict(train)
        if "betas" in train and isinstance(train["betas"], list):
            train["betas"] = tuple(train["betas"])
        try:
            train_cfg = TrainConfig(**train)
        except ConfigError as exc:
            raise ConfigError(f"[train] {exc}") from None
        top = {k: data[k] for k in SCALAR_KEYS if k in data}
        return cls(
            **top,
            model=model,
            train=train_cfg,
            axes=tuple(Axis.parse(name, raw) for name, raw in axes.items()),
        )

    def to_dict(self) -> dict[str, Any]:
        """The TOML layout, every training field resolved (``from_dict`` inverts it)."""
        train = dataclasses.asdict(self.train)
        train["betas"] = list(train["betas"])
        return {
            "name": self.name,
            "description": self.description,
            "family": self.family,
            "n_features": self.n_features,
            "n_hidden": self.n_hidden,
            "seeds": self.seeds,
            "root_seed": self.root_seed,
            "chunk_size": self.chunk_size,
            "model": dict(self.model),
            "train": train,
            "axes": {a.name: a.to_toml() for a in self.axes},
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1)

    def identity(self) -> dict[str, Any]:
        """What determines the numbers: everything but name and description, axes by
        their values in order.  Two specs with equal identity give identical results."""
        data = self.to_dict()
        del data["name"], data["description"]
        data["axes"] = [[a.name, list(a.values)] for a in self.axes]
        return data

    def with_overrides(self, overrides: Mapping[str, Any]) -> SweepSpec:
        """A new spec with dotted keys replaced, e.g. ``{"train.steps": 200, "seeds": 3,
        "axes.density.num": 12, "axes.lr": [1e-3, 1e-2]}``; ``None`` removes an axis."""
        data = self.to_dict()
        for key, value in overrides.items():
            apply_override(data, key, value)
        return SweepSpec.from_dict(data)


def _model_table(model: Mapping[str, Any]) -> dict[str, float]:
    if not isinstance(model, Mapping):
        raise ConfigError(f"model={model!r} must be a table")
    check_keys("model.", model, MODEL_FIELDS)
    table = dict(MODEL_DEFAULTS)
    for key, value in model.items():
        table[key] = MODEL_CHECKS[key](f"model.{key}", value)
    return table


def _check_cells(spec: SweepSpec) -> None:
    """Validate every model and training config the sweep will build, before any work.

    Each axis value is first checked on its own (so errors name the axis entry), then
    every combination of the axes that change a model's structure or training (they
    interact, e.g. ``n_hidden < n_features``), each with every value of the per-model
    axes.  Per-model values never interact with one another (density and importance meet
    per-feature checks only), so their product is not needed.
    """
    for axis in spec.axes:
        for i, value in enumerate(axis.values):
            try:
                check_value(axis.name, value)
            except ConfigError as exc:
                raise ConfigError(f"axes.{axis.name}[{i}]: {exc}") from None
    first = spec.point([0] * len(spec.axes))
    group_axes = [a for a in spec.axes if a.name not in PER_MODEL_FIELDS]
    per_model = [(a.name, v) for a in spec.axes if a.name in PER_MODEL_FIELDS for v in a.values]
    for combo in itertools.product(*(a.values for a in group_axes)):
        changes = {a.name: v for a, v in zip(group_axes, combo, strict=True)}
        where = ", ".join(f"{k}={v}" for k, v in changes.items())
        where = f"cells with {where}" if where else "the spec"
        _build(spec, {**first, **changes}, where)
        for name, value in per_model:
            _build(spec, {**first, **changes, name: value}, where)


def _build(spec: SweepSpec, point: Mapping[str, Any], where: str) -> None:
    try:
        config = spec.model_config(point)
        train = spec.train_config(point)
        families()[config.family].check_estimator(train.estimator, config)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def load_spec(source: str | Path) -> SweepSpec:
    """A spec from a TOML file, a ``spec.json`` (or the sweep folder holding one), or a
    preset name (see :func:`sweeps.presets`)."""
    from ._presets import load_preset, preset_names

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


def read_spec_file(path: Path) -> dict[str, Any]:
    """The raw table of a ``.toml`` or ``.json`` spec file (malformed files: ConfigError)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read spec file {path}: {exc}") from None
    try:
        if path.suffix == ".json":
            return json.loads(text)
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: malformed TOML: {exc}") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: malformed JSON: {exc}") from None
