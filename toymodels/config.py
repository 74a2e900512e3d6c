"""Frozen configuration dataclasses.

``ModelConfig`` says what a model *is* (family, sizes, per-feature density and
importance); ``TrainConfig`` says how it is trained.  How a run is executed (threads,
jobs, chunking, output folder) lives in ``sweeps`` and never changes the numbers.
Vary configs with :func:`dataclasses.replace`; every constructor validates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from .errors import (
    ConfigError,
    check_density,
    check_int,
    check_nonnegative,
    check_positive,
    check_real,
    unknown_name,
)

OPTIMIZERS = ("adam", "adamw")
SCHEDULES = ("constant", "linear", "cosine")


def _per_feature(name: str, value, n: int, check) -> tuple[float, ...]:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (check(name, value),) * n
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise ConfigError(f"{name}={value!r} must be a number or a list of {n} numbers")
    if len(value) != n:
        raise ConfigError(f"{name} has {len(value)} entries; n_features={n} needs {n}")
    return tuple(check(f"{name}[{i}]", v) for i, v in enumerate(value))


@dataclass(frozen=True)
class ModelConfig:
    """One toy model (Elhage et al. 2022, section "Demonstrating Superposition").

    ``density[i]`` is the probability ``p = 1 - S`` that feature ``i`` is non-zero;
    ``importance[i]`` weights its squared error.  A scalar is broadcast to every feature.
    """

    family: str = "relu"
    n_features: int = 2
    n_hidden: int = 1
    density: tuple[float, ...] | float = 1.0
    importance: tuple[float, ...] | float = 1.0

    def __post_init__(self) -> None:
        from .families import FAMILIES  # late import: families use this module

        if self.family not in FAMILIES:
            raise unknown_name("model family", self.family, FAMILIES)
        n = check_int("n_features", self.n_features, minimum=1)
        m = check_int("n_hidden", self.n_hidden, minimum=1)
        object.__setattr__(self, "n_features", n)
        object.__setattr__(self, "n_hidden", m)
        object.__setattr__(self, "density", _per_feature("density", self.density, n, check_density))
        object.__setattr__(
            self, "importance", _per_feature("importance", self.importance, n, check_nonnegative)
        )
        FAMILIES[self.family].validate(self)

    @classmethod
    def superposition(
        cls,
        family: str = "relu",
        n_features: int = 2,
        n_hidden: int = 1,
        density: float = 1.0,
        importance: float = 1.0,
        importance_decay: float = 1.0,
    ) -> ModelConfig:
        """The paper's parametrisation: one shared density, ``I_i = decay**i``, and the last
        ("extra") feature's importance multiplied by ``importance`` (the relative
        importance ``r`` of the phase diagrams)."""
        n = check_int("n_features", n_features, minimum=1)
        r = check_nonnegative("importance", importance)
        decay = check_positive("importance_decay", importance_decay)
        weights = [decay**i for i in range(n)]
        weights[-1] *= r
        return cls(family, n, n_hidden, check_density("density", density), tuple(weights))

    def structure(self) -> tuple[str, int, int]:
        """Models with the same structure can be trained as one batched program."""
        return (self.family, self.n_features, self.n_hidden)


@dataclass(frozen=True)
class TrainConfig:
    """How models are trained.  Defaults are the paper's: Adam, lr 1e-3, batch 1024,
    10,000 steps, constant learning rate, fresh samples every step.

    ``optimizer="adamw"`` applies decoupled weight decay ``weight_decay`` (the published
    notebook uses AdamW with torch's default 0.01, which pulls rare features' norms down);
    with ``"adam"`` the decay must be 0.  ``estimator`` picks how each step estimates the
    expected loss: ``sampled`` (paper-faithful fresh batches), ``patterns`` (sparsity
    patterns enumerated exactly, values sampled) or ``exact`` (closed-form expectation).
    """

    steps: int = 10_000
    batch_size: int = 1024
    lr: float = 1e-3
    optimizer: str = "adam"
    weight_decay: float = 0.0
    schedule: str = "constant"
    estimator: str = "sampled"
    eval_batch: int = 16_384
    init_scale: float = 1.0
    betas: tuple[float, float] = field(default=(0.9, 0.999))
    eps: float = 1e-8

    def __post_init__(self) -> None:
        object.__setattr__(self, "steps", check_int("steps", self.steps, minimum=1))
        object.__setattr__(self, "batch_size", check_int("batch_size", self.batch_size, minimum=1))
        object.__setattr__(self, "eval_batch", check_int("eval_batch", self.eval_batch, minimum=1))
        object.__setattr__(self, "lr", check_positive("lr", self.lr))
        object.__setattr__(
            self, "weight_decay", check_nonnegative("weight_decay", self.weight_decay)
        )
        object.__setattr__(self, "init_scale", check_positive("init_scale", self.init_scale))
        object.__setattr__(self, "eps", check_positive("eps", self.eps))
        if self.optimizer not in OPTIMIZERS:
            raise unknown_name("optimizer", self.optimizer, OPTIMIZERS)
        if self.schedule not in SCHEDULES:
            raise unknown_name("schedule", self.schedule, SCHEDULES)
        if self.optimizer == "adam" and self.weight_decay != 0.0:
            raise ConfigError(
                f"weight_decay={self.weight_decay:g} needs optimizer=adamw; adam takes no decay"
            )
        betas = tuple(check_real("betas", b) for b in self.betas)
        if len(betas) != 2 or not all(0.0 <= b < 1.0 for b in betas):
            raise ConfigError(f"betas={self.betas!r} must be two numbers in [0, 1)")
        object.__setattr__(self, "betas", betas)
        from .estimators import ESTIMATORS

        if self.estimator not in ESTIMATORS:
            raise unknown_name("estimator", self.estimator, ESTIMATORS)
