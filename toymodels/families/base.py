"""The contract every model family fulfils, declared rather than probed.

A family is a ``torch.nn.Module`` holding a *batch* of models along a leading ``model``
axis: the axis is part of the model, not a Python loop around it.  The class declares
what the family is (its config, the tasks it learns, the estimators it supports, whether
it has a closed form or a hand-derived gradient, the arrays it outputs with their dims and
dtypes, its metrics and its phase rule); the constructor stores the configs and builds the
task's data source, then :meth:`initialise` (the family's) creates every model's
parameters from its own seed; the one training engine (``toymodels.engine``) does the
rest.  A new family is a new file in this package plus one
line in ``FAMILIES``; the sweep spec, storage and results read the declarations.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import ClassVar

import numpy as np
import torch

from ..errors import ConfigError
from ..estimators import ESTIMATORS
from ..fields import Config
from ..outputs import Output
from ..phases import PhaseRule
from ..tasks import TASKS, Batch

# What :meth:`ToyModel.working_bytes` counts per entry: float32 values; the parameter, its
# gradient and Adam's two moments; a step's forward values, their gradients and a
# temporary or two; a metric as computed and as returned; a square matrix and its copies
# in a metric's arithmetic (abs, comparisons, the reachability products of n_distinct).
# An estimate to refuse what cannot fit, not a budget to plan by: a factor of two either
# way changes no verdict that matters.
FLOAT_BYTES = 4
PARAM_COPIES = 4
ACTIVATION_COPIES = 4
METRIC_COPIES = 2
SQUARE_COPIES = 6


class ToyModel(torch.nn.Module):
    """A batch of models of one family that share everything but per-model fields."""

    # -- declarations ---------------------------------------------------------------------
    #: the registry name (``family = "..."`` in a spec)
    name: ClassVar[str]
    #: the frozen config dataclass of the family's own fields
    Config: ClassVar[type[Config]]
    #: tasks the family learns; the first is the default
    tasks: ClassVar[tuple[str, ...]]
    #: estimators (``toymodels.estimators``) that can train it
    estimators: ClassVar[tuple[str, ...]] = ("sampled", "full")
    #: ``expected_loss()`` gives the exact expected loss (the ``exact`` estimator, and the
    #: stored ``loss_exact``)
    closed_form: ClassVar[bool] = False
    #: ``batch_loss_and_grad`` (and ``expected_loss_and_grad`` with a closed form) are
    #: derived by hand, for the configs :meth:`uses_hand_gradient` names; the common
    #: tests compare them with autograd
    hand_gradient: ClassVar[bool] = False
    #: ``batch_loss_and_grad`` is written by hand for every config as batched matrix
    #: products and element-wise operations only (no reduction torch could split over
    #: threads), so its numbers do not depend on the intra-op thread count: the engine may
    #: run it on several threads (``step_threads``); ``tests/test_step_threads.py`` checks
    #: each declaring family
    thread_exact_step: ClassVar[bool] = False
    #: :meth:`descend` exists, for the configs :meth:`uses_fused_descent` names: one plain
    #: gradient-descent step on a finite data set with the update written straight into
    #: the weights by the products that make the gradient (no gradient array, no separate
    #: update pass); the engine takes it for ``optimizer = "sgd"``, the full-batch
    #: estimator and no penalty.  It equals
    #: ``batch_loss_and_grad`` then ``θ −= lr·g`` up to float rounding (the product is
    #: added to the weight unrounded); ``tests/test_fused_descent.py`` checks each family.
    fused_descent: ClassVar[bool] = False
    #: ``loss_and_grad_rows`` exists: the sampled estimator steps cache-sized chunks of
    #: models through it (superposition models on fresh samples)
    chunked: ClassVar[bool] = False
    #: trained parameters, stored per model
    params: ClassVar[dict[str, Output]]
    #: the parameters a weight penalty (``toymodels.regularisers``) acts on
    weights: ClassVar[tuple[str, ...]]
    #: metrics measured after training (and along trajectories), stored per model
    metrics: ClassVar[dict[str, Output]] = {}
    #: whether the metrics need the model's activity on probe examples
    metrics_use_data: ClassVar[bool] = False
    #: how a trained model is put into a phase (None: the family has no phases)
    phase_rule: ClassVar[PhaseRule | None] = None
    #: definitions stored with the results as attributes (name -> one line)
    definitions: ClassVar[dict[str, str]] = {}
    #: dims of which a step or a metric builds a square matrix per model (pairs of units
    #: or features: cosines, a Gram matrix), never stored, which the size guard counts
    square_dims: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        configs: Sequence,
        seeds: Sequence[np.random.SeedSequence],
        init_scale: float = 1.0,
        dtype: torch.dtype = torch.float32,
    ):
        super().__init__()
        if not configs:
            raise ValueError("a batch needs at least one model")
        if len(configs) != len(seeds):
            raise ValueError(f"{len(configs)} configs but {len(seeds)} seeds")
        if len({c.batch_key() for c in configs}) != 1:
            raise ValueError("models trained together must agree on every non-per-model field")
        self.configs = tuple(configs)
        self.seeds = tuple(seeds)
        self.dtype = dtype
        self.task = TASKS[configs[0].task]([c.data for c in configs], seeds, dtype)
        self.initialise(init_scale)

    def initialise(self, init_scale: float) -> None:
        """Create the declared parameters (``[model, *dims]``, in the order of ``params``),
        each model's from its own seed (``toymodels.seeds.STREAM_INIT``), never from the
        batch it is in."""
        raise NotImplementedError

    # -- class-level facts ----------------------------------------------------------------
    @classmethod
    def dims(cls, config) -> dict[str, int]:
        """Sizes of the dims this config's outputs use (e.g. ``hidden``, ``feature``)."""
        raise NotImplementedError

    @classmethod
    def validate(cls, config) -> None:
        """Raise ``ConfigError`` when the family cannot build this model config (checks
        across the family's, the task's and the regulariser's fields)."""

    @classmethod
    def check_training(cls, train, config) -> None:
        """Raise ``ConfigError`` when training settings ``train`` (a ``TrainConfig``) cannot
        train this model config: the estimator (:meth:`check_estimator`), and whatever else
        a family's construction depends on."""
        cls.check_estimator(train.estimator, config)

    @classmethod
    def check_estimator(cls, estimator: str, config) -> None:
        """Raise ``ConfigError`` when ``estimator`` cannot train this model config."""
        if estimator not in cls.estimators:
            raise ConfigError(
                f'estimator "{estimator}" is not available for the {cls.name} family; '
                f"allowed: {', '.join(cls.estimators)}"
            )
        need = ESTIMATORS[estimator].data
        finite = TASKS[config.task].finite(config.data)
        if need == "finite" and not finite:
            raise ConfigError(
                f'estimator "{estimator}" trains on a finite data set; set n_samples > 0 '
                "or use estimator=sampled"
            )
        if need == "stream" and finite:
            raise ConfigError(
                f'estimator "{estimator}" works on the data distribution, not a finite data '
                "set (n_samples > 0); use estimator=full or sampled"
            )

    @classmethod
    def working_bytes(cls, config, examples: int) -> dict[str, int]:
        """Bytes one model of ``config`` holds while it trains on ``examples`` examples a
        step and is measured, by what holds them (the size guard reads it, so nothing that
        grows with a config's sizes is left for the first step to find).  This default
        counts the parameters with their gradient and optimiser state, a step's
        activations (every parameter's rows, and the inputs and outputs, per example),
        the metrics measured, and the square matrices of :attr:`square_dims`; a family
        that builds something larger says so here."""
        dims = cls.dims(config)
        entries = {name: math.prod(dims[d] for d in o.dims) for name, o in cls.params.items()}
        # A parameter [a, b] turns an example into a rows' worth of values: its largest
        # slice, so W [unit, input] gives K values an example whatever the input size.
        rows = sum(
            n // max(1, min((dims[d] for d in cls.params[k].dims), default=1))
            for k, n in entries.items()
        )
        task = TASKS[config.task].dims(config.data)
        per_example = rows + task["input"] + task["output"]
        metrics = sum(math.prod(dims.get(d, 1) for d in o.dims) for o in cls.metrics.values())
        return {
            "parameters": FLOAT_BYTES * PARAM_COPIES * sum(entries.values()),
            f"a step's activations on {examples:,} examples": FLOAT_BYTES
            * ACTIVATION_COPIES
            * examples
            * per_example,
            "metrics": FLOAT_BYTES * METRIC_COPIES * metrics,
            " and ".join(f"{d} x {d} matrices" for d in cls.square_dims): FLOAT_BYTES
            * SQUARE_COPIES
            * sum(dims[d] ** 2 for d in cls.square_dims),
        }

    @classmethod
    def uses_hand_gradient(cls, config) -> bool:
        """Whether ``batch_loss_and_grad`` takes the hand-derived path for this model
        config (a ``hand_gradient`` family may leave some configs to autograd)."""
        return cls.hand_gradient

    @classmethod
    def uses_fused_descent(cls, config) -> bool:
        """Whether :meth:`descend` steps this model config (a ``fused_descent`` family may
        leave some configs to the gradient and the optimiser)."""
        return cls.fused_descent

    @classmethod
    def exact_loss_available(cls, config) -> bool:
        """Whether the exact expected loss of this config can be computed (stored as
        ``loss_exact`` after training, whatever the estimator)."""
        return cls.closed_form

    @property
    def n_models(self) -> int:
        return len(self.configs)

    # -- the model ------------------------------------------------------------------------
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Outputs ``[model, output, example]`` for inputs ``[model, input, example]``."""
        raise NotImplementedError

    def batch_loss(self, batch: Batch, row_weight) -> torch.Tensor:
        """Per-model weighted task loss ``[model]`` on a batch: the differentiable definition."""
        return self.task.loss(self(batch.x), batch, row_weight)

    def objective(self, batch: Batch, row_weight) -> torch.Tensor:
        """Per-model training objective ``[model]``: the task loss, plus whatever terms the
        family adds in training only (a volume control's penalty); the stored loss is
        always :meth:`batch_loss`."""
        return self.batch_loss(batch, row_weight)

    def batch_loss_and_grad(self, batch: Batch, row_weight, need_loss: bool = True):
        """Per-model objective (or None) with gradients written to ``.grad``.  This default
        differentiates :meth:`objective` (a parameter it does not use gets a zero
        gradient); ``hand_gradient`` families override it."""
        params = list(self.parameters())
        with torch.enable_grad():
            loss = self.objective(batch, row_weight)
            grads = torch.autograd.grad(loss.sum(), params, allow_unused=True)
        for p, g in zip(params, grads, strict=True):
            p.grad = torch.zeros_like(p) if g is None else g
        return loss.detach() if need_loss else None

    def descend(self, batch: Batch, row_weight, lr: float) -> None:
        """One step of plain gradient descent on ``batch`` at learning rate ``lr``, in
        place (``fused_descent`` families)."""
        raise NotImplementedError(f"the {self.name} family has no fused descent")

    def begin_step(self, step: int, steps: int) -> None:
        """Called by the engine before step ``step`` (0-based) of ``steps``: schedules
        (temperature annealing) set themselves here."""

    def end_step(self) -> None:
        """Called by the engine after each optimiser step: interventions on the
        parameters (dead-unit revival) happen here."""

    def expected_loss(self) -> torch.Tensor:
        """Exact expected loss per model ``[model]`` (``closed_form`` families)."""
        raise NotImplementedError

    def expected_loss_and_grad(self) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        """The exact loss ``[model]`` and its gradients, one per parameter in the order of
        ``parameters()``; this default uses autograd."""
        params = list(self.parameters())
        with torch.enable_grad():
            loss = self.expected_loss()
            grads = torch.autograd.grad(loss.sum(), params)
        return loss.detach(), tuple(grads)

    def compute_metrics(self, probe: Batch | None) -> dict[str, torch.Tensor]:
        """The declared ``metrics``, each ``[model, *dims]``; ``probe`` holds examples when
        ``metrics_use_data`` (else None)."""
        return {}
