"""How models are trained: ``TrainConfig``, a frozen dataclass validated on construction.

What a model *is* lives in ``toymodels.model_config``; how a run is executed (threads,
jobs, chunking, output folder) lives in ``sweeps`` and never changes the numbers.  Vary
configs with :func:`dataclasses.replace`; every constructor validates.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import (
    ConfigError,
    check_int,
    check_nonnegative,
    check_positive,
    check_real,
    unknown_name,
)
from .estimators import ESTIMATORS

OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULES = ("constant", "linear", "cosine")


@dataclass(frozen=True)
class TrainConfig:
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
    record_every: int | None = None

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
        if self.optimizer != "adamw" and self.weight_decay != 0.0:
            raise ConfigError(
                f"weight_decay={self.weight_decay:g} needs optimizer=adamw; "
                f"{self.optimizer} takes no decay (use a regulariser for an L2 penalty)"
            )
        betas = tuple(check_real("betas", b) for b in self.betas)
        if len(betas) != 2 or not all(0.0 <= b < 1.0 for b in betas):
            raise ConfigError(f"betas={self.betas!r} must be two numbers in [0, 1)")
        object.__setattr__(self, "betas", betas)
        if self.estimator not in ESTIMATORS:
            raise unknown_name("estimator", self.estimator, ESTIMATORS)
        if self.record_every is not None:
            every = check_int("record_every", self.record_every)
            if every < 1:
                raise ConfigError(
                    f"record_every={every} must be an integer >= 1 (leave it out to record nothing)"
                )
            object.__setattr__(self, "record_every", every)

    def record_steps(self) -> tuple[int, ...]:
        """Steps whose state is recorded: 0, k, 2k, … and the last step (none when off)."""
        if self.record_every is None:
            return ()
        steps = list(range(0, self.steps + 1, self.record_every))
        if steps[-1] != self.steps:
            steps.append(self.steps)
        return tuple(steps)
