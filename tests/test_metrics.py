"""Per-feature geometry against polytopes whose values are known in closed form."""

import math

import numpy as np
import pytest
import torch

from toymodels import feature_metrics


def _regular_polygon(k: int) -> torch.Tensor:
    angles = torch.arange(k, dtype=torch.float64) * 2 * math.pi / k
    return torch.stack([angles.cos(), angles.sin()])[None]  # [1, 2, k]


def test_antipodal_pair():
    m = feature_metrics(torch.tensor([[[1.0, -1.0]]], dtype=torch.float64))
    np.testing.assert_allclose(m["norm"], [[1.0, 1.0]])
    np.testing.assert_allclose(m["interference"], [[1.0, 1.0]])
    np.testing.assert_allclose(m["dimensionality"], [[0.5, 0.5]])


@pytest.mark.parametrize(("k", "dim"), [(3, 2 / 3), (5, 2 / 5)])
def test_polygons_have_the_sticky_dimensionalities(k, dim):
    m = feature_metrics(_regular_polygon(k))
    np.testing.assert_allclose(m["dimensionality"], dim, rtol=1e-12)


def test_tetrahedron_is_three_quarters():
    v = torch.tensor([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]], dtype=torch.float64)
    m = feature_metrics(v.T[None] / math.sqrt(3))
    np.testing.assert_allclose(m["dimensionality"], 0.75, rtol=1e-12)
    np.testing.assert_allclose(m["interference"], 1 / 3, rtol=1e-12)


def test_dedicated_and_unrepresented_features():
    w = torch.tensor([[[2.0, 0.0, 0.0], [0.0, 0.5, 0.0]]], dtype=torch.float64)
    m = feature_metrics(w)
    np.testing.assert_allclose(m["norm"], [[2.0, 0.5, 0.0]])
    np.testing.assert_allclose(m["interference"], [[0.0, 0.0, 0.0]])
    np.testing.assert_allclose(m["dimensionality"], [[1.0, 1.0, 0.0]])


def test_interference_uses_the_other_features_norms():
    # Ŵ_1·W_2 with ‖W_2‖ = 2 at 60°: (2 cos 60°)² = 1; seen from W_2: (1 · cos 60°)² = 1/4.
    w = torch.tensor([[[1.0, 1.0], [0.0, math.sqrt(3)]]], dtype=torch.float64)
    m = feature_metrics(w)
    np.testing.assert_allclose(m["interference"], [[1.0, 0.25]], rtol=1e-12)
