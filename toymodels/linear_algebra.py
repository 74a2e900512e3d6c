"""Linear algebra whose numbers do not depend on the batch it runs in, and that survives a
diverged model."""

from __future__ import annotations

import torch


def singular_values(matrices: torch.Tensor) -> torch.Tensor:
    """``torch.linalg.svdvals`` over the last two dims, NaN for a matrix with a non-finite
    entry: LAPACK refuses such input for the whole batch, and one diverged model must
    not stop the metrics of the others (it is labelled diverged from its NaNs)."""
    finite = torch.isfinite(matrices).flatten(-2).all(-1)
    safe = torch.where(finite[..., None, None], matrices, torch.zeros((), dtype=matrices.dtype))
    values = torch.linalg.svdvals(safe)
    return torch.where(finite[..., None], values, torch.full((), torch.nan, dtype=values.dtype))


def baddbmm(bias: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``bias + a @ b`` over a leading model axis, with the same rounding for a batch of
    one model as for a larger batch.

    For a batch of one, torch hands ``baddbmm`` to the BLAS's unbatched kernel, which on
    some CPUs (MKL with AVX-512 measured here) rounds ``bias + a·b`` differently from the
    batched kernel in the last bit; a model evaluated alone would then differ from the
    same model evaluated beside others.  A batch of one is run as the same model twice
    (a stride-0 view, no copy), which takes the batched kernel."""
    if a.shape[0] != 1:
        return torch.baddbmm(bias, a, b)
    two = (2, -1, -1)
    return torch.baddbmm(bias.expand(two), a.expand(two), b.expand(two))[:1]
