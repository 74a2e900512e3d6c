"""The contextual data sets equal the published ones (``3_context_diff/gen_data.py`` and
``diff_context_num/gen_data.py`` of the paper's code), written here as literal data."""

import numpy as np
import pytest

from toymodels.contextual_data import ContextualConfig, contextual_data

# The published gen_hier_data(8): all objects, two halves, four pairs, eight singletons.
HIERARCHY = np.array(
    [[1, 1, 1, 1, 1, 1, 1, 1],
     [1, 1, 1, 1, 0, 0, 0, 0],
     [0, 0, 0, 0, 1, 1, 1, 1],
     [1, 1, 0, 0, 0, 0, 0, 0],
     [0, 0, 1, 1, 0, 0, 0, 0],
     [0, 0, 0, 0, 1, 1, 0, 0],
     [0, 0, 0, 0, 0, 0, 1, 1],
     *np.eye(8, dtype=int).tolist()],
    dtype=float,
)  # fmt: skip
# The published gen_ring() (written with max_val = 0.5 and scaled by 2.0 in gen_data3).
RING = np.array(
    [[1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
     [0.0, 0.33, 0.66, 1.0, 1.0, 0.66, 0.33, 0.0],
     [0.33, 0.66, 1.0, 1.0, 0.66, 0.33, 0.0, 0.0],
     [0.66, 1.0, 1.0, 0.66, 0.33, 0.0, 0.0, 0.33],
     [1.0, 1.0, 0.66, 0.33, 0.0, 0.0, 0.33, 0.66],
     [1.0, 0.66, 0.33, 0.0, 0.0, 0.33, 0.66, 1.0],
     [0.66, 0.33, 0.0, 0.0, 0.33, 0.66, 1.0, 1.0],
     [0.33, 0.0, 0.0, 0.33, 0.66, 1.0, 1.0, 0.66],
     [0.0, 0.0, 0.33, 0.66, 1.0, 1.0, 0.66, 0.33],
     [0.0, 0.33, 0.66, 1.0, 1.0, 0.66, 0.33, 0.0],
     [0.33, 0.66, 1.0, 1.0, 0.66, 0.33, 0.0, 0.0],
     [0.66, 1.0, 1.0, 0.66, 0.33, 0.0, 0.0, 0.33],
     [1.0, 1.0, 0.66, 0.33, 0.0, 0.0, 0.33, 0.66],
     [1.0, 0.66, 0.33, 0.0, 0.0, 0.33, 0.66, 1.0],
     [0.66, 0.33, 0.0, 0.0, 0.33, 0.66, 1.0, 1.0]]
) * 0.5 * 2.0  # fmt: skip
# The published cross_data: the hierarchy with rows 3-6 replaced.
CROSS = HIERARCHY.copy()
CROSS[3:7] = [
    [1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    [0.0, 1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0],
    [0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 1.0, 0.0],
    [0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 1.0],
]
# Context one-hot value of the published data sets: gen_data3, gen_data4, gen_data5.
PUBLISHED_SCALE = {3: 1.0, 4: 1.1, 5: 1.35}


def published(blocks: list[np.ndarray], scale: float) -> tuple[np.ndarray, np.ndarray]:
    """The published layout: ``Y = [common; context_1; …; context_K]`` with each context
    block non-zero in its own 8 columns, ``X = [I I … I; context one-hots · scale]``."""
    k = len(blocks)
    zeros = np.zeros((15, 8))
    rows = [np.hstack([HIERARCHY] * k)]
    rows += [np.hstack([b if j == c else zeros for j in range(k)]) for c, b in enumerate(blocks)]
    context = np.zeros((k, 8 * k))
    context[np.repeat(np.arange(k), 8), np.arange(8 * k)] = 1
    return np.vstack([np.hstack([np.eye(8)] * k), context * scale]), np.vstack(rows)


def test_the_published_ring_has_the_published_singular_values():
    x, y = published([HIERARCHY, RING, CROSS], 1.0)
    s = np.linalg.svd(y @ x.T / 24, compute_uv=False)
    np.testing.assert_allclose(s[:4], [1.1427, 0.6104, 0.4564, 0.3797], atol=5e-5)


@pytest.mark.parametrize(
    ("k", "structure", "blocks"),
    [
        (3, "different", [HIERARCHY, RING, CROSS]),
        (3, "same", [HIERARCHY] * 3),
        (4, "same", [HIERARCHY] * 4),
        (5, "same", [HIERARCHY] * 5),
    ],
)
def test_data_sets_equal_the_published_ones(k, structure, blocks):
    config = ContextualConfig(n_contexts=k, structure=structure, context_scale=PUBLISHED_SCALE[k])
    x, y, _ = contextual_data(config)
    want_x, want_y = published(blocks, PUBLISHED_SCALE[k])
    np.testing.assert_array_equal(x, want_x)  # to the bit
    np.testing.assert_array_equal(y, want_y)


def test_context_scale_scales_only_the_context_inputs():
    plain, y1, _ = contextual_data(ContextualConfig(n_contexts=4, structure="same"))
    scaled, y2, _ = contextual_data(
        ContextualConfig(n_contexts=4, structure="same", context_scale=1.1)
    )
    np.testing.assert_array_equal(scaled[:8], plain[:8])
    np.testing.assert_array_equal(scaled[8:], 1.1 * plain[8:])
    np.testing.assert_array_equal(y1, y2)


@pytest.mark.parametrize("bad", [0.0, -1.0, 1e4, float("nan"), "x"])
def test_context_scale_is_bounded(bad):
    from toymodels.errors import ConfigError

    with pytest.raises(ConfigError, match="context_scale"):
        ContextualConfig(context_scale=bad)
