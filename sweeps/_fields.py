"""The vocabulary of sweep specs, read from what the family, the task, the regulariser and
``TrainConfig`` declare (``toymodels.fields``): which fields exist, where each is written,
which can be axes, their types, and the checks of a single value."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from toymodels.errors import ConfigError, did_you_mean, unknown_name
from toymodels.fields import FieldSpec
from toymodels.train_config import TrainConfig

# Models per chunk (at most).  A chunk is the unit of work, of checkpointing and of
# progress: ~250 n=2 models keep the vectorised step as cheap per model as larger
# batches (measured 15-20 us per model-step from 256 to 1000 models on this machine),
# while a 20x20x10 grid still splits into 16 chunks to balance over workers and to lose
# little when a run is killed.
DEFAULT_CHUNK_SIZE = 256

# Top-level keys every spec has (the family's and task's sizes join them).
SPEC_KEYS = ("name", "description", "family", "task", "seeds", "root_seed", "chunk_size")
TABLES = ("model", "train", "axes")
TRAIN_SPECS = TrainConfig.field_specs()
TRAIN_FIELDS = tuple(TRAIN_SPECS)
RULES = ("logspace", "linspace")


@dataclass(frozen=True)
class Vocabulary:
    """The fields of a sweep whose models are ``family`` learning ``task``."""

    family: str
    task: str
    fields: Mapping[str, FieldSpec]  # every model field (regulariser, family, task)

    @property
    def top(self) -> tuple[str, ...]:
        """Model fields written at the top level of a spec (sizes that fix shapes)."""
        return tuple(n for n, f in self.fields.items() if f.top)

    @property
    def table(self) -> tuple[str, ...]:
        """Model fields written in the ``[model]`` table."""
        return tuple(n for n, f in self.fields.items() if not f.top)

    @property
    def per_model(self) -> tuple[str, ...]:
        """Fields that may differ between models trained together (one batched program)."""
        return tuple(n for n, f in self.fields.items() if f.per_model)

    @property
    def axes(self) -> tuple[str, ...]:
        """Fields that can be grid axes."""
        model = tuple(n for n, f in self.fields.items() if f.axis)
        train = tuple(n for n, f in TRAIN_SPECS.items() if f.axis)
        return ("family", "task", *model, *train)

    @property
    def not_axes(self) -> tuple[str, ...]:
        # A coordinate must be a scalar, so list-valued fields are fixed per sweep.
        fields = {**self.fields, **TRAIN_SPECS}
        return tuple(n for n, f in fields.items() if not f.axis)

    def kind(self, name: str) -> type:
        """The scalar type of a field: int, float or str."""
        if name in ("family", "task"):
            return str
        if name in self.fields:
            return self.fields[name].kind
        return TRAIN_SPECS[name].kind

    def check_value(self, name: str, value: Any) -> Any:
        """The checks of one field that do not depend on any other field."""
        from toymodels.families import FAMILIES
        from toymodels.tasks import TASKS

        if name in self.fields:
            return self.fields[name].check.apply(name, value)
        if name in TRAIN_SPECS:
            return TRAIN_SPECS[name].check.apply(name, value)
        registry = {"family": FAMILIES, "task": TASKS}[name]
        if value not in registry:
            raise unknown_name(name, value, registry)
        return value


@cache
def vocabulary(family: str, task: str | None = None) -> Vocabulary:
    """The vocabulary of ``family`` learning ``task`` (its default task when None)."""
    from toymodels.model_config import field_specs, resolve_task

    task = resolve_task(family, task)
    return Vocabulary(family, task, field_specs(family, task))


def check_keys(prefix: str, table: Mapping, allowed: Iterable[str], what: str = "") -> None:
    allowed = tuple(allowed)
    for key in table:
        if key not in allowed:
            full = [prefix + a for a in allowed]
            where = f" for {what}" if what else ""
            raise ConfigError(
                f'unknown key "{prefix}{key}"{where}{did_you_mean(prefix + key, full)}; '
                f"allowed: {', '.join(full)}"
            )
