"""Full-batch gradient descent on a finite data set: every step sees every example."""

from __future__ import annotations

from ..tasks import TASKS
from .base import Estimator

# Bytes of data set one group of models may hold (inputs and targets, float32).
FULL_GROUP_BYTES = 64 * 2**20


class Full(Estimator):
    """The exact gradient of the loss over the whole data set (deterministic steps)."""

    data = "finite"

    def __init__(self, model, train):
        super().__init__(model, train)
        self.batch = model.task.data_set
        self.row_weight = model.task.row_weight(model.task.n_samples)

    def step(self, need_loss: bool = False):
        return self.model.batch_loss_and_grad(self.batch, self.row_weight, need_loss)

    def descend(self, lr: float) -> None:
        """A plain gradient-descent step on the data set, in place (``fused_descent``)."""
        self.model.descend(self.batch, self.row_weight, lr)

    @classmethod
    def step_examples(cls, config, train) -> int:
        return TASKS[config.task].examples(config.data)

    @classmethod
    def words_bytes(cls, config, train) -> int:
        return 0  # every step sees the data set: nothing is drawn

    @classmethod
    def group_models(cls, config, train) -> int:
        dims = TASKS[config.task].dims(config.data)
        per_model = 4 * TASKS[config.task].examples(config.data) * (dims["input"] + dims["output"])
        return max(1, FULL_GROUP_BYTES // per_model)
