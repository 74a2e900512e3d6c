"""A labelled Gaussian mixture: classify which of C clusters in d dimensions drew a point.

Example: a label ``c`` with probability ``weights[c]`` (equal by default), then
``x = centre_c + spread · z`` with ``z`` standard normal in d dimensions.  The centres are
given (``centers``, one row per cluster) or placed by ``layout``: ``"axes"`` puts them at
``separation · e_c``, the first C coordinate axes (so C ≤ d); ``"ring"`` spaces them evenly
on a circle of radius ``separation`` in the plane of the first two coordinates,
``separation · (cos 2πc/C, sin 2πc/C, 0, …)`` (any C, d ≥ 2), a task no single cut
solves (seen along one line, the ring's classes overlap).  The loss is the
cross-entropy of the model's C outputs (its logits) against the label, averaged over
examples; the task also reports the accuracy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ..errors import ConfigError
from ..fields import POSITIVE, Config, choice, integer, optional_matrix, optional_vector, param
from ..outputs import Output
from ..random_words import index_from_bits, normal_from_bits, uniform_from_bits
from .base import Batch, Task, n_samples_field

# Where the default centres go (explicit ``centers`` replace them).
LAYOUTS = ("axes", "ring")


@dataclass(frozen=True)
class ClustersConfig(Config):
    owner = "task clusters"

    n_features: int = param(2, integer(1), top=True, help="dimension d of the points")
    n_clusters: int = param(2, integer(2), top=True, help="clusters C (the classes)")
    spread: float = param(0.3, POSITIVE, per_model=True, help="standard deviation of each cluster")
    separation: float = param(
        1.0,
        POSITIVE,
        per_model=True,
        help="distance of the default centres from the origin (the ring's radius)",
    )
    layout: str = param(
        "axes",
        choice("layout", lambda: LAYOUTS),
        top=True,
        help="the default centres: axes (separation · e_c) or ring (C evenly on a circle)",
    )
    centers: tuple = param(
        (), optional_matrix("centres (C rows of d numbers)"), help="explicit centres, one per row"
    )
    weights: tuple = param(
        (), optional_vector("cluster probabilities"), help="cluster probabilities (default equal)"
    )
    n_samples: int = n_samples_field()

    def validate(self) -> None:
        d, c = self.n_features, self.n_clusters
        if self.centers and self.layout != "axes":
            raise ConfigError(
                f"layout={self.layout!r} places the default centres, which centers "
                "replaces: give one or the other"
            )
        if self.centers:
            if len(self.centers) != c or len(self.centers[0]) != d:
                raise ConfigError(
                    f"centers is {len(self.centers)}x{len(self.centers[0])}; "
                    f"n_clusters={c} by n_features={d} needs {c}x{d}"
                )
        elif self.layout == "ring" and d < 2:
            raise ConfigError(f"layout='ring' needs n_features >= 2 (a plane); got {d}")
        elif self.layout == "axes" and c > d:
            raise ConfigError(
                f"n_clusters={c} > n_features={d}: the default centres are coordinate axes; "
                "give centers explicitly"
            )
        if self.weights:
            if len(self.weights) != c:
                raise ConfigError(f"weights has {len(self.weights)} entries; n_clusters={c}")
            if sum(self.weights) <= 0:
                raise ConfigError("weights sum to 0; give positive cluster probabilities")

    def center_matrix(self) -> list[list[float]]:
        """The centres, ``[cluster][dimension]``."""
        if self.centers:
            return [list(row) for row in self.centers]
        d, k, r = self.n_features, self.n_clusters, self.separation
        if self.layout == "ring":
            angles = [2 * math.pi * c / k for c in range(k)]
            return [[r * math.cos(a), r * math.sin(a)] + [0.0] * (d - 2) for a in angles]
        return [[r * (j == c) for j in range(d)] for c in range(k)]

    def probabilities(self) -> list[float]:
        if not self.weights:
            return [1.0 / self.n_clusters] * self.n_clusters
        total = sum(self.weights)
        return [w / total for w in self.weights]


class Clusters(Task):
    """A labelled Gaussian mixture to classify, cross-entropy on the cluster label."""

    name = "clusters"
    Config = ClustersConfig
    per_model = ("centers", "spread", "cumulative")
    outputs = {"accuracy": Output((), "float32", "fraction of probe examples classified right")}

    def __init__(self, configs, seeds, dtype=torch.float32):
        super().__init__(configs, seeds, dtype)
        # [model, dimension, cluster]: column c is centre c
        self.centers = torch.tensor([c.center_matrix() for c in configs], dtype=dtype).mT
        self.spread = torch.tensor([c.spread for c in configs], dtype=dtype)
        self.cumulative = torch.tensor([c.probabilities() for c in configs]).cumsum(-1)
        self.equal = all(not c.weights for c in configs)

    @classmethod
    def dims(cls, config: ClustersConfig) -> dict[str, int]:
        return {"input": config.n_features, "output": config.n_clusters}

    @classmethod
    def sample_shape(cls, config: ClustersConfig, batch: int) -> tuple[int, ...]:
        # Box–Muller uses the normals' words in pairs; one more row picks the label.
        return (2 * (-(-config.n_features // 2)) + 1, batch)

    def draw(self, words: torch.Tensor) -> Batch:
        d = self.centers.shape[1]
        if self.equal:
            labels = index_from_bits(words[:, -1], self.centers.shape[2])
        else:
            u = uniform_from_bits(words[:, -1]).to(self.cumulative.dtype)
            labels = torch.searchsorted(self.cumulative, u, right=True)
            labels.clamp_(max=self.centers.shape[2] - 1)
        noise = normal_from_bits(words[:, :-1])[:, :d].to(self.dtype)
        centre = torch.gather(self.centers, 2, labels.unsqueeze(1).expand(-1, d, -1))
        return Batch(centre.add_(noise.mul_(self.spread.view(-1, 1, 1))), labels=labels)

    def loss(self, output: torch.Tensor, batch: Batch, row_weight) -> torch.Tensor:
        logp = torch.log_softmax(output, dim=1)
        nll = -torch.gather(logp, 1, batch.labels.unsqueeze(1)).squeeze(1)
        return (nll * row_weight).sum(-1)

    def loss_and_output_grad(self, output, batch, row_weight):
        # ∂(−log softmax(o)_y)/∂o = softmax(o) − onehot(y)
        logp = torch.log_softmax(output, dim=1)
        index = batch.labels.unsqueeze(1)
        loss = -(torch.gather(logp, 1, index).squeeze(1) * row_weight).sum(-1)
        grad = logp.exp_().scatter_add_(1, index, torch.full_like(logp[:, :1], -1.0))
        return loss, grad.mul_(
            row_weight if isinstance(row_weight, float) else row_weight.unsqueeze(1)
        )

    def metrics(self, output: torch.Tensor, batch: Batch) -> dict[str, torch.Tensor]:
        right = (output.argmax(1) == batch.labels).to(torch.float32)
        return {"accuracy": right.mean(-1)}
