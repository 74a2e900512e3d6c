"""The vocabulary of sweep specs, read from what the family, the task and the regulariser
declare (``toymodels.fields``) and from ``TrainConfig``: which fields exist, where each is
written, which can be axes, their types, and the checks of a single value."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from toymodels.errors import (
    ConfigError,
    check_int,
    check_nonnegative,
    check_positive,
    did_you_mean,
    unknown_name,
)
from toymodels.fields import FieldSpec
from toymodels.train_config import OPTIMIZERS, SCHEDULES, TrainConfig

# Models per chunk (at most).  A chunk is the unit of work, of checkpointing and of
# progress: ~250 n=2 models keep the vectorised step as cheap per model as larger
# batches (measured 15-20 us per model-step from 256 to 1000 models on this machine),
# while a 20x20x10 grid still splits into 16 chunks to balance over workers and to lose
# little when a run is killed.
DEFAULT_CHUNK_SIZE = 256

# Top-level keys every spec has (the family's and task's sizes join them).
SPEC_KEYS = ("name", "description", "family", "task", "seeds", "root_seed", "chunk_size")
TABLES = ("model", "train", "axes")
TRAIN_FIELDS = tuple(f.name for f in dataclasses.fields(TrainConfig))
# A coordinate must be a scalar, so tuple-valued settings are fixed per sweep.
TRAIN_NOT_AXES = ("betas",)
RULES = ("logspace", "linspace")


def _train_kind(name: str) -> type:
    if name == "record_every":
        return int
    return type(getattr(TrainConfig(), name))


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
        train = tuple(f for f in TRAIN_FIELDS if f not in TRAIN_NOT_AXES)
        return ("family", "task", *model, *train)

    @property
    def not_axes(self) -> tuple[str, ...]:
        model = tuple(n for n, f in self.fields.items() if not f.axis)
        return (*model, *TRAIN_NOT_AXES)

    def kind(self, name: str) -> type:
        """The scalar type of a field: int, float or str."""
        if name in ("family", "task"):
            return str
        if name in self.fields:
            return self.fields[name].kind
        return _train_kind(name)

    def check_value(self, name: str, value: Any) -> Any:
        """The checks of one field that do not depend on any other field."""
        from toymodels.estimators import ESTIMATORS
        from toymodels.families import FAMILIES
        from toymodels.tasks import TASKS

        if name in self.fields:
            return self.fields[name].check.apply(name, value)
        choices = {
            "family": FAMILIES,
            "task": TASKS,
            "optimizer": OPTIMIZERS,
            "schedule": SCHEDULES,
            "estimator": ESTIMATORS,
        }
        if name in choices:
            if value not in choices[name]:
                raise unknown_name(name, value, choices[name])
        elif self.kind(name) is int:
            check_int(name, value, minimum=1)
        elif name == "weight_decay":
            check_nonnegative(name, value)
        else:  # lr, init_scale, eps and any future positive setting
            check_positive(name, value)
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
