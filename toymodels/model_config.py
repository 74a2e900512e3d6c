"""What one model is: a family and a task, each with its declared fields, and a penalty.

``ModelConfig`` joins three frozen configs: the family's own fields (``arch``: sizes,
activation), the task's (``data``: the data and its loss), and the regulariser's
(``penalty``: which penalty and its per-model strength λ).  Their fields share one flat
namespace (the ``[model]`` table of a sweep spec, ``--set model.X``, grid axes), so a
field name means one thing for a given family and task.  Build one with
:meth:`ModelConfig.build` from flat values, or :meth:`ModelConfig.superposition` for the
paper's parametrisation; vary it with :meth:`ModelConfig.replace`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .errors import ConfigError, did_you_mean, unknown_name
from .families import FAMILIES
from .fields import NONNEGATIVE, Config, FieldSpec, choice, param
from .regularisers import REGULARISERS
from .tasks import TASKS


@dataclass(frozen=True)
class PenaltyConfig(Config):
    owner = "regulariser"

    regulariser: str = param(
        "none",
        choice("regulariser", lambda: REGULARISERS),
        help="penalty added to the loss: " + ", ".join(REGULARISERS),
    )
    strength: float = param(
        0.0, NONNEGATIVE, per_model=True, help="λ, the penalty's weight in the loss"
    )

    def validate(self) -> None:
        if self.regulariser == "none" and self.strength != 0.0:
            raise ConfigError(
                f"strength={self.strength:g} has no effect without a regulariser; "
                f"set regulariser to one of {', '.join(r for r in REGULARISERS if r != 'none')}"
            )


def family_class(name: str):
    if name not in FAMILIES:
        raise unknown_name("model family", str(name), FAMILIES)
    return FAMILIES[name]


def resolve_task(family: str, task: str | None) -> str:
    """The task a model of ``family`` learns: ``task``, or the family's default."""
    cls = family_class(family)
    if task is None:
        return cls.tasks[0]
    if task not in TASKS:
        raise unknown_name("task", str(task), TASKS)
    if task not in cls.tasks:
        raise ConfigError(
            f'the {family} family does not learn task "{task}"; its tasks: {", ".join(cls.tasks)}'
        )
    return task


def field_specs(family: str, task: str | None = None) -> dict[str, FieldSpec]:
    """Every field a model of ``family`` learning ``task`` has, by name: the regulariser's,
    the family's and the task's (the three never share a name)."""
    cls = family_class(family)
    task = resolve_task(family, task)
    out: dict[str, FieldSpec] = {}
    for part in (PenaltyConfig, cls.Config, TASKS[task].Config):
        for name, spec in part.field_specs().items():
            if name in out and out[name].owner != spec.owner:
                raise TypeError(f"field {name} is declared by {out[name].owner} and {spec.owner}")
            out.setdefault(name, spec)
    return out


@dataclass(frozen=True)
class ModelConfig:
    """One model (see module docstring)."""

    family: str
    task: str
    arch: Config
    data: Config
    penalty: PenaltyConfig = field(default_factory=PenaltyConfig)

    def __post_init__(self) -> None:
        cls = family_class(self.family)
        task = resolve_task(self.family, self.task)
        object.__setattr__(self, "task", task)
        for part, kind in ((self.arch, cls.Config), (self.data, TASKS[task].Config)):
            if type(part) is not kind:
                raise TypeError(f"{type(part).__name__} given where {kind.__name__} belongs")
        cls.validate(self)

    @classmethod
    def build(cls, family: str = "relu", task: str | None = None, **values: Any) -> ModelConfig:
        """A model from flat field values; fields not given keep their defaults."""
        task = resolve_task(family, task)
        specs = field_specs(family, task)
        for name in values:
            if name not in specs:
                raise ConfigError(
                    f'the {family} family learning "{task}" has no field "{name}"'
                    f"{did_you_mean(name, specs)}; its fields: {', '.join(specs)}"
                )
        return cls(
            family,
            task,
            family_class(family).Config.from_values(values),
            TASKS[task].Config.from_values(values),
            PenaltyConfig.from_values(values),
        )

    @classmethod
    def superposition(
        cls,
        family: str = "relu",
        n_features: int = 2,
        n_hidden: int = 1,
        density=1.0,
        importance=1.0,
        importance_decay: float = 1.0,
        **values: Any,
    ) -> ModelConfig:
        """The paper's parametrisation (Elhage et al. 2022): one shared density,
        ``I_i = decay**i``, and the last ("extra") feature's importance multiplied by
        ``importance``, the relative importance ``r`` of the phase diagrams.  Lists give
        every feature's density or importance instead."""
        return cls.build(
            family,
            "features",
            n_features=n_features,
            n_hidden=n_hidden,
            density=density,
            importance=importance,
            importance_decay=importance_decay,
            **values,
        )

    def values(self) -> dict[str, Any]:
        """Every field's value, flat (the ``[model]`` namespace)."""
        return {**self.penalty.values(), **self.arch.values(), **self.data.values()}

    def replace(self, **changes: Any) -> ModelConfig:
        """A copy with some fields changed (``family`` and ``task`` too), re-validated."""
        family = changes.pop("family", self.family)
        task = changes.pop("task", self.task if family == self.family else None)
        values = self.values() | changes
        keep = field_specs(family, task)
        return ModelConfig.build(family, task, **{k: v for k, v in values.items() if k in keep})

    def batch_key(self) -> tuple:
        """Models with equal keys can be trained as one batched program: everything but
        the per-model fields agrees."""
        parts = (self.penalty, self.arch, self.data)
        return (self.family, self.task, *(p.batch_values() for p in parts))
