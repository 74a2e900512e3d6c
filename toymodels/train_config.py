"""How models are trained: ``TrainConfig``, a frozen dataclass whose fields are declared
with their checks (``toymodels.fields``), like a family's or a task's.

What a model *is* lives in ``toymodels.model_config``; how a run is executed (threads,
jobs, chunking, output folder) lives in ``sweeps`` and never changes the numbers.  Vary
configs with :func:`dataclasses.replace`; every constructor validates.  Sweep specs
(``[train]``, ``--set train.X``, axes) read the same declarations.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import ConfigError, check_real
from .estimators import ESTIMATORS
from .fields import NONNEGATIVE, POSITIVE, Check, Config, choice, integer, optional_integer, param
from .limits import FLOAT32_MAX, LEARNING_RATE

OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULES = ("constant", "linear", "cosine")


def _betas(name: str, value) -> tuple[float, float]:
    betas = tuple(check_real(name, b) for b in value) if isinstance(value, list | tuple) else ()
    if len(betas) != 2 or not all(0.0 <= b < 1.0 for b in betas):
        raise ConfigError(f"{name}={value!r} must be two numbers in [0, 1)")
    return betas


# Adam's two decay rates; a pair, so never a grid axis.
BETAS = Check(tuple, _betas, "two numbers in [0, 1)", ((0.9,), (0.9, 1.0), "x"))


@dataclass(frozen=True)
class TrainConfig(Config):
    """How models are trained.  Defaults are the paper's: Adam, lr 1e-3, batch 1024,
    10,000 steps, constant learning rate, fresh samples every step.

    ``optimizer``: ``adam``; ``adamw``, which applies decoupled weight decay
    ``weight_decay`` (the published notebook uses AdamW with torch's default 0.01, which
    pulls rare features' norms down); or ``sgd``, plain gradient descent ``θ ← θ − lr·g``
    (no momentum: the closed-form learning dynamics assume it).  Only ``adamw`` takes a
    weight decay.  ``estimator`` picks how each step estimates the expected loss
    (``toymodels.estimators``).  ``record_every = k`` records the loss and the family's
    metrics every k steps (and at step 0 and the last step); None records nothing.
    """

    owner = "training"

    steps: int = param(10_000, integer(1), help="optimiser steps (epochs on a finite data set)")
    batch_size: int = param(1024, integer(1), help="examples per step")
    lr: float = param(1e-3, LEARNING_RATE, help="learning rate")
    optimizer: str = param("adam", choice("optimizer", lambda: OPTIMIZERS), help="adam, adamw, sgd")
    weight_decay: float = param(0.0, NONNEGATIVE, help="decoupled weight decay (adamw only)")
    schedule: str = param(
        "constant", choice("schedule", lambda: SCHEDULES), help="constant, linear, cosine"
    )
    estimator: str = param(
        "sampled", choice("estimator", lambda: ESTIMATORS), help="how a step estimates the loss"
    )
    eval_batch: int = param(16_384, integer(1), help="fresh examples of the final loss")
    init_scale: float = param(1.0, POSITIVE, help="multiplies the initial weights")
    betas: tuple[float, float] = param((0.9, 0.999), BETAS, help="Adam's decay rates")
    eps: float = param(1e-8, POSITIVE, help="Adam's epsilon")
    record_every: int | None = param(
        None,
        optional_integer(1, "leave it out to record nothing"),
        help="record loss and metrics every k steps",
    )

    def validate(self) -> None:
        if self.optimizer != "adamw" and self.weight_decay != 0.0:
            raise ConfigError(
                f"weight_decay={self.weight_decay:g} needs optimizer=adamw; "
                f"{self.optimizer} takes no decay (use a regulariser for an L2 penalty)"
            )
        # Adam's first step is lr / (1 - beta1) (its bias correction), applied in float32
        # like the rate itself (``limits.LEARNING_RATE``).
        if self.optimizer != "sgd" and self.lr / (1.0 - self.betas[0]) > FLOAT32_MAX:
            most = FLOAT32_MAX * (1.0 - self.betas[0])
            raise ConfigError(
                f"lr={self.lr:g} with betas[0]={self.betas[0]:g} gives Adam's first step "
                f"lr/(1 - beta1) = {self.lr / (1.0 - self.betas[0]):g}, beyond float32's "
                f"largest number {FLOAT32_MAX:g}; lr must be at most {most:g}"
            )

    def recorded_count(self) -> int:
        """How many steps :meth:`record_steps` lists, counted without listing them (the
        size guard asks before a run of 10¹² steps could build its list)."""
        if self.record_every is None:
            return 0
        return self.steps // self.record_every + 1 + (self.steps % self.record_every != 0)

    def is_recorded(self, step: int) -> bool:
        """Whether :meth:`record_steps` holds ``step``."""
        every = self.record_every
        return (
            every is not None
            and 0 <= step <= self.steps
            and (step % every == 0 or step == self.steps)
        )

    def record_steps(self) -> tuple[int, ...]:
        """Steps whose state is recorded: 0, k, 2k, … and the last step (none when off)."""
        if self.record_every is None:
            return ()
        steps = list(range(0, self.steps + 1, self.record_every))
        if steps[-1] != self.steps:
            steps.append(self.steps)
        return tuple(steps)
