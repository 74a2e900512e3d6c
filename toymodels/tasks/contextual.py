"""The contextual multi-task data set: 8 objects seen in K contexts, features to output.

Every sample is one object in one context: the input is the object's one-hot (8 entries)
followed by the context's one-hot (K entries), and the data set holds each of the 8K
pairs once, context-major (sample ``p = 8·c + o``).  The target stacks ``K + 1`` blocks of
15 rows: a context-independent block (the hierarchy ``H`` of the 8 objects, the same in
every context) and one block per context, non-zero only in its own context's samples.
``H``'s 15 rows are indicators of all objects, two halves, four pairs and eight
singletons.  ``structure = "same"`` puts ``H`` in every context block; ``"different"``
uses ``H`` for context 1, the published ring for context 2 (the all-objects row, then
the bump ``(0, 0.33, 0.66, 1, 1, 0.66, 0.33, 0)`` and its circular shifts to the left,
rows 9–14 repeating rows 1–6) and, for context 3, ``H`` with its pairs regrouped as
{0,2}, {1,3}, {4,6}, {5,7}; with 4 or 5 contexts, contexts 4 and 5 repeat the hierarchy
and the ring.  The context inputs are ``context_scale`` rather than 1 (the published 4-
and 5-context data sets use 1.1 and 1.35).

``inputs = "whitened"`` replaces the inputs ``X`` by ``Σ_xx^{+1/2} X`` (ZCA on the
input span), so the input correlation is the projector onto that span: every mode of the
closed-form learning dynamics then has input variance ``d = 1`` and the dynamics are
exact (Saxe et al. 2014); with one-hot inputs they are approximate (see :func:`modes`).

The loss is half the *sum* of squared errors over outputs and samples (not a mean), as
in the published experiments; the data set is the task (there is no distribution to draw
fresh examples from), so the stored final ``loss`` is the loss on it.  Each example's
context travels with it as its ``labels``.  The task measures each model's strength along
every mode of the closed form (``mode_strength``).
"""

from __future__ import annotations

from functools import cached_property

import numpy as np
import torch

from ..contextual_data import FEATURES, OBJECTS, ContextualConfig, config_modes, contextual_data
from ..correlation_modes import Modes
from ..outputs import Output
from .base import Batch
from .fixed_data import FixedDataSet


class Contextual(FixedDataSet):
    """8 objects in K contexts to map to a context-free hierarchy and one structure per
    context: a fixed data set, identical for every model, fitted by squared error."""

    name = "contextual"
    Config = ContextualConfig
    outputs = {
        "mode_strength": Output(
            ("mode",),
            "float32",
            "u_a'(Yhat X'/P)v_a / d_a: strength along theory mode a (u_a' W v_a for a "
            "linear map whose v_a is an input eigenvector)",
        )
    }

    def __init__(self, configs, seeds, dtype=torch.float32):
        super().__init__(configs, seeds, dtype)
        found = config_modes(configs[0])
        # Read-outs of the mode strengths: a_α = Σ_oi P_α[o, i] (Ŷ Xᵀ/P)[o, i].
        readout = np.einsum("oa,ia->aoi", found.U, found.V) / found.d[:, None, None]
        self.readout = torch.as_tensor(readout, dtype=dtype)

    @classmethod
    def dims(cls, config: ContextualConfig) -> dict[str, int]:
        k = config.n_contexts
        return {
            "input": OBJECTS + k,
            "output": FEATURES * (k + 1),
            "mode": len(config_modes(config).s),
            "sample": OBJECTS * k,
        }

    @classmethod
    def correlation_modes(cls, config: ContextualConfig) -> Modes:
        return config_modes(config)

    @classmethod
    def examples(cls, config: ContextualConfig) -> int:
        return OBJECTS * config.n_contexts

    @cached_property
    def data_set(self) -> Batch:
        x, y, context = contextual_data(self.configs[0])
        m = len(self.configs)
        return Batch(
            torch.tensor(x, dtype=self.dtype).expand(m, -1, -1),
            torch.tensor(y, dtype=self.dtype).expand(m, -1, -1),
            torch.tensor(context).expand(m, -1),
        )

    def metrics(self, output: torch.Tensor, batch: Batch) -> dict[str, torch.Tensor]:
        corr = torch.bmm(output, batch.x.mT) / batch.x.shape[-1]  # [model, output, input]
        strength = torch.einsum("aoi,moi->ma", self.readout.to(corr.dtype), corr)
        return {"mode_strength": strength}
