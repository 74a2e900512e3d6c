"""Random words: every model's own stream of 32-bit words, and how tasks turn them into
examples (sparse features, uniforms, normals, indices).

Words come straight from each model's PCG64 bit generator (``random_raw``, two words per
64-bit output), which is about twice as fast as asking numpy for float32 uniforms, and a
step always consumes whole 64-bit outputs, so a model's examples never depend on the
models it is batched with (:class:`UniformBlocks`).

Sparse features (Elhage et al. 2022, "Experiment Setup"): each feature of each example of
each model is non-zero with probability ``p`` (its density) and then Uniform[0, 1].  One
word per entry decides both: read as a uniform ``u = i 2^-32 + 1/2`` in [0, 1) (``i`` the
word as a signed integer), the entry is active when ``u > 1 - p`` and its value is
``(u - (1 - p)) / p``, which given activity is uniform on [0, 1).  That is
``relu(α i + β)`` with ``α = 2^-32 / p`` and ``β = 1 - 1/(2p)``: one conversion and three
in-place passes, half the random numbers of drawing mask and value separately, and
exactly the same distribution up to float32 rounding (values on a lattice of spacing
about ``2^-24 / p``).

Layout is ``[model, feature, batch]``: the batch is the long, contiguous axis, which
keeps the per-model matrix products of the families efficient.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from .seeds import generator

# Each per-model generator call should produce at least this many words so that the
# Python loop over models (about a microsecond per call) costs little next to the
# generation itself (about 1.5 ns per word).
MIN_WORDS_PER_CALL = 32_768
# Memory one ``UniformBlocks`` may hold: big groups get shorter blocks (never less than a step).
MAX_BLOCK_BYTES = 64 * 2**20

_TWO_POW_MINUS_32 = 2.0**-32


class UniformBlocks:
    """Fresh random 32-bit words (``int32``), ``shape`` per model per step, each model from
    its own stream (see ``toymodels.seeds``).

    Words are drawn for several steps at a time (one generator call per model per block).
    Every step consumes a whole number of 64-bit outputs, so a model's stream is the same
    whatever the block length: its data never depends on the models it is batched with.
    Blocks start at one step and double up to ``MIN_WORDS_PER_CALL`` words per model (and
    ``MAX_BLOCK_BYTES`` in all), so a caller needing only a few steps draws only those.
    """

    def __init__(
        self, seeds: Sequence[np.random.SeedSequence], stream: int, shape: tuple[int, ...]
    ):
        self.bits = [generator(s, stream).bit_generator for s in seeds]
        self.shape = tuple(shape)
        self.words = int(np.prod(shape))
        self.outputs = (self.words + 1) // 2  # 64-bit outputs per step
        most = max(1, MAX_BLOCK_BYTES // (8 * self.outputs * len(self.bits)))
        self.max_block = min(_block_steps(self.outputs), most)
        self.block = 0
        self._buf: np.ndarray | None = None
        self._next = 0

    @staticmethod
    def block_bytes(shape: tuple[int, ...]) -> int:
        """Bytes of buffer held per model at most (what a group of models costs)."""
        outputs = (int(np.prod(shape)) + 1) // 2
        return 8 * outputs * _block_steps(outputs)

    def next(self) -> torch.Tensor:
        """Words for the next step: an ``int32`` tensor ``[model, *shape]`` (a view into the
        block buffer, valid until the following call; callers may modify it in place)."""
        if self._next == self.block:
            self.block = min(max(1, 2 * self.block), self.max_block)
            size = self.block * self.outputs
            if self._buf is None or self._buf.shape[1] != size:
                self._buf = np.empty((len(self.bits), size), np.uint64)
            for bits, out in zip(self.bits, self._buf, strict=True):
                out[:] = bits.random_raw(size)
            self._next = 0
        words = self._buf.view(np.int32).reshape(len(self.bits), self.block, 2 * self.outputs)
        step = torch.from_numpy(words[:, self._next, : self.words])
        self._next += 1
        return step.view(len(self.bits), *self.shape)


def _block_steps(outputs: int) -> int:
    return max(1, MIN_WORDS_PER_CALL // (2 * outputs))


def sparse_coefficients(density: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(α, β)`` with ``x = relu(α i + β)`` for words ``i`` (``density [..., feature]`` ->
    two ``[..., feature, 1]`` tensors)."""
    p = density.unsqueeze(-1)
    return _TWO_POW_MINUS_32 / p, 1.0 - 0.5 / p


def sparse_from_bits(
    words: torch.Tensor, alpha: torch.Tensor, beta: torch.Tensor, out: torch.Tensor | None = None
) -> torch.Tensor:
    """Sparse features ``[model, feature, batch]`` from words of the same shape, with
    coefficients from :func:`sparse_coefficients`; written into ``out`` when given."""
    out = torch.empty(words.shape, dtype=alpha.dtype) if out is None else out
    return out.copy_(words).mul_(alpha).add_(beta).clamp_min_(0.0)


def uniform_from_bits(words: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    """Uniform [0, 1) values (float32) from words: ``i 2^-32 + 1/2``."""
    out = torch.empty(words.shape) if out is None else out
    return out.copy_(words).mul_(_TWO_POW_MINUS_32).add_(0.5)


def normal_from_bits(words: torch.Tensor) -> torch.Tensor:
    """Standard normal values (float32) from words, by Box–Muller on consecutive pairs of
    the second-to-last axis (its length must be even): rows ``2j`` and ``2j + 1`` give
    ``r cos θ`` and ``r sin θ`` with ``r = √(−2 ln u)``, ``θ = 2π v``.  Uniforms are taken
    at the centres of the 2^32 cells, so ``u`` is never 0 (|z| ≤ 6.8)."""
    u = (words.to(torch.float64) + 0.5).mul_(_TWO_POW_MINUS_32).add_(0.5)
    first, second = u[..., 0::2, :], u[..., 1::2, :]
    radius = first.log_().mul_(-2.0).sqrt_()
    angle = second.mul(2.0 * math.pi)
    out = torch.empty(words.shape, dtype=torch.float32)
    out[..., 0::2, :] = radius * angle.cos()
    out[..., 1::2, :] = radius * angle.sin_()
    return out


def index_from_bits(words: torch.Tensor, count: int) -> torch.Tensor:
    """Indices uniform on ``0 … count − 1`` (int64) from words: ``⌊w · count / 2^32⌋`` with
    ``w`` the word read as unsigned (bias at most count / 2^32)."""
    unsigned = words.to(torch.int64).bitwise_and_(0xFFFFFFFF)
    return unsigned.mul_(count).bitwise_right_shift_(32)
