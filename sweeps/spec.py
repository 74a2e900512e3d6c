"""Sweep specs: what a sweep trains, as a frozen, validated dataclass read from TOML.

A spec names a model family and the task it learns, the sizes they declare as top-level
fields (``n_features``, ``n_hidden``, ...), the other model fields (``[model]``: any field
the family, the task or the regulariser declares), training settings (``[train]``, any
``TrainConfig`` field), replicates per cell (``seeds``) and grid axes (``[axes]``, in
order; any scalar field).  Every cell of the grid trains ``seeds`` models, model
``(cell, replicate)`` from ``SeedSequence(root_seed, spawn_key=(cell, replicate))``.  How a
sweep is *executed* (jobs, backend, output folder) is not part of the spec and never
changes the numbers; ``chunk_size`` is, because it fixes which models are trained together.
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

from toymodels import strict_json
from toymodels.errors import ConfigError, check_int, unknown_name
from toymodels.limits import ROOT_SEED
from toymodels.model_config import ModelConfig
from toymodels.train_config import TrainConfig

from ._fields import (
    DEFAULT_CHUNK_SIZE,
    SPEC_KEYS,
    TABLES,
    TRAIN_FIELDS,
    Vocabulary,
    check_keys,
    vocabulary,
)
from ._grid_axes import Axis
from ._overrides import apply_override, parse_overrides

__all__ = ["Axis", "SweepSpec", "parse_overrides", "read_spec_file"]

# Cells a spec may have: every cell is validated, planned and stored, and beyond this a
# grid is weeks of training and gigabytes of bookkeeping before a model is trained.
MAX_CELLS = 10_000_000


@dataclass(frozen=True)
class SweepSpec:
    """A sweep: fixed values, training settings, grid axes and replicates (see module doc).

    Build from a TOML file with :func:`sweeps.load_spec`, a preset with
    :func:`sweeps.load_preset`, a dict with :meth:`from_dict`; vary with
    :meth:`with_overrides` (dotted keys, as ``--set``) or :func:`dataclasses.replace`.
    ``model`` holds every model field's value (sizes included), defaults filled in.
    """

    name: str = "sweep"
    description: str = ""
    family: str = "relu"
    task: str | None = None  # the family's default task when None
    seeds: int = 1
    root_seed: int = 0
    chunk_size: int = DEFAULT_CHUNK_SIZE
    model: Mapping[str, Any] = field(default_factory=dict)
    train: TrainConfig = field(default_factory=TrainConfig)
    axes: tuple[Axis, ...] = ()

    def __post_init__(self) -> None:
        for key in ("name", "description"):
            if not isinstance(getattr(self, key), str):
                raise ConfigError(f"{key}={getattr(self, key)!r} must be text")
        if not self.name:
            raise ConfigError("name is empty; give the sweep a name")
        vocab = _vocabulary(self.family, self.task)
        object.__setattr__(self, "task", vocab.task)
        for key in ("seeds", "chunk_size"):
            object.__setattr__(self, key, check_int(key, getattr(self, key), minimum=1))
        object.__setattr__(self, "root_seed", ROOT_SEED.apply("root_seed", self.root_seed))
        object.__setattr__(self, "model", _model_values(self.model, vocab))
        if not isinstance(self.train, TrainConfig):
            raise ConfigError(f"train={self.train!r} must be a TrainConfig")
        axes = tuple(self.axes)
        for axis in axes:
            if not isinstance(axis, Axis):
                raise ConfigError(f"axes entry {axis!r} must be an Axis")
            if axis.name not in vocab.axes:
                raise unknown_name("axis", axis.name, vocab.axes)
        names = [a.name for a in axes]
        if len(set(names)) != len(names):
            raise ConfigError(f"axes {names} repeat a name; each field can be one axis")
        object.__setattr__(self, "axes", axes)
        if self.n_cells > MAX_CELLS:
            shape = " x ".join(str(n) for n in self.shape)
            raise ConfigError(
                f"the axes make {self.n_cells:,} cells ({shape}), above the limit of "
                f"{MAX_CELLS:,}; use fewer axis values"
            )
        _check_axes_share_vocabulary(self, vocab)
        _check_cells(self)

    # -- vocabulary -------------------------------------------------------------------------
    @property
    def vocabulary(self) -> Vocabulary:
        return vocabulary(self.family, self.task)

    @property
    def per_model_fields(self) -> tuple[str, ...]:
        """Axes along which models can still be trained together (one batched program)."""
        return self.vocabulary.per_model

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
        values = {"family": self.family, "task": self.task, **self.model}
        values.update({a.name: a.values[i] for a, i in zip(self.axes, index, strict=True)})
        return values

    def cell_point(self, cell: int) -> dict[str, Any]:
        """Every field's value at flat (C-order) cell index ``cell``."""
        return self.point(np.unravel_index(cell, self.shape) if self.axes else ())

    def model_config(self, point: Mapping[str, Any]) -> ModelConfig:
        """The model at ``point``."""
        fields = self.vocabulary.fields
        return ModelConfig.build(point["family"], point["task"], **{k: point[k] for k in fields})

    def train_config(self, point: Mapping[str, Any]) -> TrainConfig:
        changes = {k: point[k] for k in TRAIN_FIELDS if k in point}
        return dataclasses.replace(self.train, **changes) if changes else self.train

    # -- dict / TOML / JSON form ------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SweepSpec:
        """A spec from the TOML layout (see README and ``sweeps/presets/*.toml``)."""
        if not isinstance(data, Mapping):
            raise ConfigError(f"a sweep spec must be a table, got {type(data).__name__}")
        vocab = _vocabulary(data.get("family", "relu"), data.get("task"))
        what = f'the {vocab.family} family learning "{vocab.task}"'
        for key in data:
            if key in vocab.table:
                raise ConfigError(f"{key} belongs in the [model] table (model.{key})")
        check_keys("", data, (*SPEC_KEYS, *vocab.top, *TABLES), what)
        model = data.get("model", {})
        train = data.get("train", {})
        axes = data.get("axes", {})
        for key, table in (("model", model), ("train", train), ("axes", axes)):
            if not isinstance(table, Mapping):
                raise ConfigError(f"[{key}] must be a table of key = value lines")
        for key in model:
            if key in vocab.top:
                raise ConfigError(
                    f"model.{key}: {key} is a top-level key (above [model]; --set {key}=...)"
                )
        check_keys("model.", model, vocab.table, what)
        check_keys("train.", train, TRAIN_FIELDS)
        train = dict(train)
        if "betas" in train and isinstance(train["betas"], list):
            train["betas"] = tuple(train["betas"])
        try:
            train_cfg = TrainConfig(**train)
        except ConfigError as exc:
            raise ConfigError(f"[train] {exc}") from None
        top = {k: data[k] for k in SPEC_KEYS if k in data}
        sizes = {k: data[k] for k in vocab.top if k in data}
        return cls(
            **top,
            model={**sizes, **model},
            train=train_cfg,
            axes=tuple(Axis.parse(name, raw, vocab) for name, raw in axes.items()),
        )

    def to_dict(self) -> dict[str, Any]:
        """The TOML layout, every field resolved (``from_dict`` inverts it)."""
        vocab = self.vocabulary
        train = dataclasses.asdict(self.train)
        train["betas"] = list(train["betas"])
        return {
            "name": self.name,
            "description": self.description,
            "family": self.family,
            "task": self.task,
            **{k: self.model[k] for k in vocab.top},
            "seeds": self.seeds,
            "root_seed": self.root_seed,
            "chunk_size": self.chunk_size,
            "model": {k: self.model[k] for k in vocab.table},
            "train": train,
            "axes": {a.name: a.to_toml() for a in self.axes},
        }

    def to_json(self) -> str:
        return strict_json.dumps(self.to_dict(), indent=1)

    def identity(self) -> dict[str, Any]:
        """What determines the numbers: everything but name and description, axes by
        their values in order.  Two specs with equal identity give identical results."""
        data = self.to_dict()
        del data["name"], data["description"]
        data["axes"] = [[a.name, list(a.values)] for a in self.axes]
        return data

    def with_overrides(self, overrides: Mapping[str, Any]) -> SweepSpec:
        """A new spec with dotted keys replaced, e.g. ``{"train.steps": 200, "seeds": 3,
        "axes.density.num": 12, "axes.lr": [1e-3, 1e-2]}``; ``None`` removes an axis.

        When the overrides change what is trained and give no ``description``, the
        description gains the changes (``...; changed by --set: seeds=3``), so that a
        stored sweep never describes settings it was not trained with."""
        data = self.to_dict()
        for key, value in overrides.items():
            apply_override(data, key, value)
        spec = SweepSpec.from_dict(data)
        _refuse_varied(spec, overrides)
        if "description" in overrides or spec.identity() == self.identity():
            return spec
        before, after = self.to_dict(), spec.to_dict()
        changed = [
            f"{key} removed" if value is None else f"{key}={_override_text(value)}"
            for key, value in overrides.items()
            if key != "name" and _lookup(before, key) != _lookup(after, key)
        ]
        if not changed:
            return spec
        note = f"changed by --set: {', '.join(changed)}"
        text = f"{spec.description}; {note}" if spec.description else note
        return dataclasses.replace(spec, description=text)


def _lookup(data: Mapping[str, Any], key: str) -> Any:
    """The value at dotted ``key`` of a ``to_dict`` layout (an axis as a whole: its
    ``num`` or rule alone changes the axis; None where there is none)."""
    parts = key.split(".")
    value: Any = data
    for part in parts[:2] if parts[0] == "axes" else parts:
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _refuse_varied(spec: SweepSpec, overrides: Mapping[str, Any]) -> None:
    """Refuse a value set for a field an axis of ``spec`` varies: the axis sets it in every
    cell, so the value would change nothing."""
    for key, value in overrides.items():
        parts = key.split(".")
        if parts[0] == "axes" or len(parts) > 2 or value is None:
            continue
        name = parts[-1]
        if spec.axis(name) is not None:
            raise ConfigError(
                f"{key}={_override_text(value)}: the sweep varies {name} (axes.{name}), "
                f"which sets it in every cell; set axes.{name} instead"
            )


def _override_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _vocabulary(family, task) -> Vocabulary:
    from toymodels.families import FAMILIES
    from toymodels.tasks import TASKS

    if not isinstance(family, str) or family not in FAMILIES:
        raise unknown_name("model family", str(family), FAMILIES)
    if task is not None and (not isinstance(task, str) or task not in TASKS):
        raise unknown_name("task", str(task), TASKS)
    return vocabulary(family, task)


def _model_values(model: Mapping[str, Any], vocab: Vocabulary) -> dict[str, Any]:
    """Every model field's value: the given ones checked, the rest at their defaults."""
    if not isinstance(model, Mapping):
        raise ConfigError(f"model={model!r} must be a table")
    check_keys("", model, vocab.fields, f'the {vocab.family} family learning "{vocab.task}"')
    values = {}
    for name, spec in vocab.fields.items():
        where = name if spec.top else f"model.{name}"
        values[name] = spec.check.apply(where, model[name]) if name in model else spec.default
    return values


def _check_axes_share_vocabulary(spec: SweepSpec, vocab: Vocabulary) -> None:
    """A family or task axis may only mix families and tasks with the same fields: a
    field must mean one thing in every cell of one results dataset."""
    for axis in spec.axes:
        if axis.name not in ("family", "task"):
            continue
        for value in axis.values:
            family = value if axis.name == "family" else spec.family
            task = value if axis.name == "task" else spec.task
            other = _vocabulary(family, task)
            if dict(other.fields) != dict(vocab.fields):
                raise ConfigError(
                    f"axes.{axis.name}: {family} learning {other.task} has other fields than "
                    f"{vocab.family} learning {vocab.task}; sweep them separately"
                )


def _check_cells(spec: SweepSpec) -> None:
    """Validate every model and training config the sweep will build, before any work.

    Each axis value is first checked on its own (so errors name the axis entry), then
    every combination of the axes that change a model's structure or training (they
    interact, e.g. ``n_hidden < n_features``), each with every value of the per-model
    axes.  Per-model values meet only in checks that grow with each value (a volume
    strength against a temperature), so of their product the corners are checked: every
    combination of each per-model axis's least and largest value.
    """
    vocab = spec.vocabulary
    for axis in spec.axes:
        # A spaced axis's ends first, so that an error quotes what was typed rather than
        # a value computed between them (integer fields round, so their ends may not be).
        ends = []
        if axis.bounds is not None and vocab.kind(axis.name) is float:
            ends = [(f"{axis.rule}[{i}]", v) for i, v in enumerate(axis.bounds)]
        for where, value in [*ends, *((f"[{i}]", v) for i, v in enumerate(axis.values))]:
            try:
                vocab.check_value(axis.name, value)
            except ConfigError as exc:
                sep = "." if where[0] != "[" else ""
                raise ConfigError(f"axes.{axis.name}{sep}{where}: {exc}") from None
    first = spec.point([0] * len(spec.axes))
    group_axes = [a for a in spec.axes if a.name not in vocab.per_model]
    model_axes = [a for a in spec.axes if a.name in vocab.per_model]
    per_model = [(a.name, v) for a in model_axes for v in a.values]
    ends = [sorted({min(a.values), max(a.values)}) for a in model_axes]
    corners = [
        dict(zip([a.name for a in model_axes], c, strict=True)) for c in itertools.product(*ends)
    ]
    for combo in itertools.product(*(a.values for a in group_axes)):
        changes = {a.name: v for a, v in zip(group_axes, combo, strict=True)}
        where = ", ".join(f"{k}={v}" for k, v in changes.items())
        where = f"cells with {where}" if where else "the spec"
        _build(spec, {**first, **changes}, where)
        for name, value in per_model:
            _build(spec, {**first, **changes, name: value}, where)
        for corner in corners if len(model_axes) > 1 else ():
            where_corner = ", ".join(f"{k}={v:g}" for k, v in corner.items())
            _build(spec, {**first, **changes, **corner}, f"{where}, cells with {where_corner}")


def _build(spec: SweepSpec, point: Mapping[str, Any], where: str) -> None:
    from toymodels.families import FAMILIES

    try:
        config = spec.model_config(point)
        train = spec.train_config(point)
        FAMILIES[config.family].check_training(train, config)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def read_spec_file(path: Path) -> dict[str, Any]:
    """The raw table of a ``.toml`` or ``.json`` spec file (malformed files: ConfigError)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read spec file {path}: {exc}") from None
    kind = "JSON" if path.suffix == ".json" else "TOML"
    if not text.strip():  # every key has a default, but an empty file is a mistake
        raise ConfigError(
            f"spec file {path} is empty; a spec names at least its family (see sweeps/presets)"
        )
    try:
        return json.loads(text) if kind == "JSON" else tomllib.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: malformed {kind}: {exc}") from None
    except RecursionError:  # both parsers recurse per level of nesting
        raise ConfigError(f"{path}: malformed {kind}: nested too deeply") from None
