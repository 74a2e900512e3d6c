"""The vocabulary of sweep specs: which fields exist, which can be axes, their types,
and the checks of a single value (those that need no other field)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from toymodels.config import OPTIMIZERS, SCHEDULES, TrainConfig
from toymodels.errors import (
    ConfigError,
    check_density,
    check_int,
    check_nonnegative,
    check_positive,
    did_you_mean,
    unknown_name,
)

# Models per chunk (at most).  A chunk is the unit of work, of checkpointing and of
# progress: ~250 n=2 models keep the vectorised step as cheap per model as larger
# batches (measured 15-20 us per model-step from 256 to 1000 models on this machine),
# while a 20x20x10 grid still splits into 16 chunks to balance over workers and to lose
# little when a run is killed.
DEFAULT_CHUNK_SIZE = 256

STRUCTURE_FIELDS = ("family", "n_features", "n_hidden")
MODEL_FIELDS = ("density", "importance", "importance_decay")
TRAIN_FIELDS = tuple(f.name for f in dataclasses.fields(TrainConfig))
# A coordinate must be a scalar, so tuple-valued settings are fixed per sweep.
NOT_AXES = ("betas",)
AXIS_FIELDS = STRUCTURE_FIELDS + MODEL_FIELDS + tuple(f for f in TRAIN_FIELDS if f not in NOT_AXES)
# Axes that may differ between models trained in one chunk (one batched program).
PER_MODEL_FIELDS = MODEL_FIELDS

TOP_KEYS = (
    "name",
    "description",
    "family",
    "n_features",
    "n_hidden",
    "seeds",
    "root_seed",
    "chunk_size",
    "model",
    "train",
    "axes",
)
# Top-level keys holding one value (the others are the [model], [train], [axes] tables).
SCALAR_KEYS = TOP_KEYS[:8]
RULES = ("logspace", "linspace")

MODEL_DEFAULTS = {"density": 1.0, "importance": 1.0, "importance_decay": 1.0}
MODEL_CHECKS = {
    "density": check_density,
    "importance": check_nonnegative,
    "importance_decay": check_positive,
}


def kind(name: str) -> type:
    """The scalar type of a field: int, float or str."""
    if name == "family":
        return str
    if name in ("n_features", "n_hidden"):
        return int
    if name in MODEL_FIELDS:
        return float
    return type(getattr(TrainConfig(), name))


def families():
    from toymodels.families import FAMILIES

    return FAMILIES


def check_keys(prefix: str, table: Mapping, allowed: Iterable[str]) -> None:
    allowed = tuple(allowed)
    for key in table:
        if key not in allowed:
            full = [prefix + a for a in allowed]
            raise ConfigError(
                f'unknown key "{prefix}{key}"{did_you_mean(prefix + key, full)}; '
                f"allowed: {', '.join(full)}"
            )


def check_value(name: str, value: Any) -> None:
    """The checks of one field that do not depend on any other field."""
    from toymodels.estimators import ESTIMATORS

    choices = {"family": families(), "optimizer": OPTIMIZERS, "schedule": SCHEDULES}
    choices["estimator"] = ESTIMATORS
    if name in choices:
        if value not in choices[name]:
            raise unknown_name(name, value, choices[name])
    elif kind(name) is int:
        check_int(name, value, minimum=1)
    elif name in MODEL_CHECKS:
        MODEL_CHECKS[name](name, value)
    elif name == "weight_decay":
        check_nonnegative(name, value)
    else:  # lr, init_scale, eps and any future positive setting
        check_positive(name, value)
