"""Linear algebra for metrics that must survive a diverged model."""

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
