"""The true optimum: the exact expected loss minimised over free ``W`` and ``b``.

Paper, "Superposition as a Phase Change": the candidate solutions fix norms to 1 and
biases to 0 or ``p/2``; with them free the loss is lower near the boundaries, so the true
phase boundaries move.  Here every cell is optimised from many starts (the candidates,
slightly perturbed, plus random ones) with batched BFGS on the exact loss
(``analytics._bfgs``, loss and gradient from ``toymodels``), and the extra feature of the
best minimiser is classified with ``toymodels.phases.extra_feature``.

:func:`critical_density` locates where that phase switches along the density axis by
multisection: each round optimises a batch of densities inside the bracket, warm-started
from both bracket ends (the two competing branches), until the bracket is narrower than
``DENSITY_TOL``.  Maps and critical densities are cached on disk (``analytics._cache``).
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass

import numpy as np
import torch

from toymodels import ModelConfig
from toymodels.errors import ConfigError, check_density, check_positive
from toymodels.families import feature_metrics
from toymodels.phases import extra_feature

from . import _cache
from ._bfgs import minimise
from .candidate_solutions import candidates, check_n_features
from .symbols import p as P

LABELS = extra_feature.LABELS
FORMAT_VERSION = 1

# Random starts per cell on top of the candidates.  With 8, every n=2 cell checked against
# a brute-force grid came out right, and three seeds of the 16x16 n=3 map gave the same
# phases except one cell whose best basin is narrow (found by 1 seed of 3, and missed by
# 64 starts once); more starts cost time roughly in proportion.
DEFAULT_STARTS = 8
# Scale of random starts: weights ~ N(0, 1) and biases ~ N(0, 0.1^2) cover the norms
# (~1) and biases (|b| < 0.5) of every solution seen.
RANDOM_BIAS_STD = 0.1
# The candidates start from a slightly perturbed point so that symmetric saddles (an
# exactly zero column) can be left.
CANDIDATE_JITTER = 1e-3
# After this many BFGS iterations only the best start of each phase class per cell keeps
# going: the phase competition is between classes, and this bounds the cost.
PRUNE_AFTER = 15
# After this many, models more than PRUNE_LATE_RTOL (relative) above their cell's best stop:
# by then BFGS has mostly converged, and the slow tail (a few models creeping along a
# flat direction for hundreds of iterations) was never the best of its cell in our runs.
PRUNE_LATE = 50
PRUNE_LATE_RTOL = 1e-2
# Neighbour restarts (see ``_polish``): at most this many passes, and an improvement
# counts when it lowers a cell's loss by more than this (relative; BFGS stops at ~1e-12).
POLISH_PASSES = 4
POLISH_RTOL = 1e-9
# Models per optimisation batch (bounds memory; results do not depend on it).
CHUNK_MODELS = 6000
# Multisection: densities per round, coarse scan size and final bracket width.
SECTIONS = 8
SCAN_POINTS = 16
DENSITY_TOL = 1e-5
SCAN_RANGE = (0.01, 1.0)


@dataclass(frozen=True)
class CellOptima:
    W: np.ndarray  # [cell, hidden, feature]
    b: np.ndarray  # [cell, feature]
    loss: np.ndarray  # [cell]
    code: np.ndarray  # int8 [cell], index into LABELS
    norm: np.ndarray  # [cell], the extra feature's ‖W_i‖
    interference: np.ndarray  # [cell]


def _classify(W: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    metrics = feature_metrics(torch.as_tensor(W, dtype=torch.float64))
    norm = metrics["norm"][:, -1].numpy()
    interference = metrics["interference"][:, -1].numpy()
    return extra_feature.classify(norm, interference), norm, interference


def _starts(n: int, density: float, random_starts: int, rng: np.random.Generator):
    m = n - 1
    W, b = [], []
    for c in candidates(n):
        W.append(np.array(c.W.tolist(), dtype=np.float64))
        b.append([float(v.subs(P, density)) for v in c.b])
    W = np.stack(W) + CANDIDATE_JITTER * rng.standard_normal((len(W), m, n))
    b = np.array(b)
    if random_starts:
        W = np.concatenate([W, rng.standard_normal((random_starts, m, n))])
        b = np.concatenate([b, RANDOM_BIAS_STD * rng.standard_normal((random_starts, n))])
    return W, b


def optimise_cells(
    n_features: int,
    density,
    importance,
    random_starts: int = DEFAULT_STARTS,
    seed: int = 0,
    warm: list[tuple[np.ndarray, np.ndarray]] | None = None,
) -> CellOptima:
    """Best minimiser per cell ``(density[c], importance[c])`` over all starts.

    Starts per cell: the candidates (jittered), ``random_starts`` random points drawn from
    ``SeedSequence(seed, spawn_key=(cell,))`` and any ``warm`` ``(W [cell, m, n],
    b [cell, n])`` pairs.
    """
    n = check_n_features(n_features)
    density = np.asarray(density, dtype=np.float64).ravel()
    importance = np.broadcast_to(np.asarray(importance, dtype=np.float64), density.shape)
    starts = []
    for c, pv in enumerate(density):
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(c,)))
        W, b = _starts(n, float(pv), random_starts, rng)
        for Ww, bw in warm or []:
            W, b = np.concatenate([W, Ww[c : c + 1]]), np.concatenate([b, bw[c : c + 1]])
        starts.append((W, b))
    return _best_of(n, density, importance, starts)


def _best_of(n: int, density, importance, starts, prune: bool = True) -> CellOptima:
    """Optimise every start of every cell as one batch and keep each cell's best."""
    W0 = np.concatenate([W for W, _ in starts])
    b0 = np.concatenate([b for _, b in starts])
    owner = np.repeat(np.arange(len(starts)), [len(W) for W, _ in starts])
    cfgs = [
        ModelConfig.superposition("relu", n, n - 1, float(pv), float(rv))
        for pv, rv in zip(density, importance, strict=True)
    ]
    configs = [cfgs[c] for c in owner]

    def keep_best_per_phase(index, W, b, loss, all_loss):
        return _first_of_groups(owner[index] * len(LABELS) + _classify(W)[0], loss)

    def keep_near_best(index, W, b, loss, all_loss, lo):
        cell_best = np.full(len(starts), np.inf)
        np.minimum.at(cell_best, owner[lo : lo + len(all_loss)], all_loss)
        return loss <= cell_best[owner[index]] * (1.0 + PRUNE_LATE_RTOL)

    W_out, b_out, loss_out = np.empty_like(W0), np.empty_like(b0), np.empty(len(W0))
    for lo in range(0, len(W0), CHUNK_MODELS):
        sub = slice(lo, min(lo + CHUNK_MODELS, len(W0)))
        rules = {
            PRUNE_AFTER: lambda i, W, b, f, a, lo=lo: keep_best_per_phase(i + lo, W, b, f, a),
            PRUNE_LATE: lambda i, W, b, f, a, lo=lo: keep_near_best(i + lo, W, b, f, a, lo),
        }
        res = minimise(configs[sub], W0[sub], b0[sub], prune=rules if prune else None)
        W_out[sub], b_out[sub], loss_out[sub] = res.W, res.b, res.loss
    best = np.full(len(starts), -1)
    for k in np.argsort(loss_out, kind="stable")[::-1]:
        best[owner[k]] = k  # lowest loss written last
    code, norm, interference = _classify(W_out[best])
    return CellOptima(W_out[best], b_out[best], loss_out[best], code, norm, interference)


def _first_of_groups(groups: np.ndarray, loss: np.ndarray) -> np.ndarray:
    """Mask of the lowest-loss member of each group."""
    keep = np.zeros(len(groups), dtype=bool)
    order = np.lexsort((loss, groups))
    first = np.concatenate([[True], groups[order][1:] != groups[order][:-1]])
    keep[order[first]] = True
    return keep


def _polish(n: int, density, importance, cells: CellOptima, neighbours) -> CellOptima:
    """Restart cells from their neighbours' optima until no cell improves.

    Random starts miss a basin now and then (measured: 1 to 5 cells of a 16x16 n=3 map),
    which shows as a speckle next to a phase boundary.  A minimum found in one cell is
    nearly optimal next door, so each cell restarts from every neighbour in another phase
    (first pass) or whose optimum just improved (later passes): a few warm starts that
    converge fast, spent only where the map can change.
    """
    changed = np.zeros(len(cells.loss), dtype=bool)
    for step in range(POLISH_PASSES):
        idx, starts = [], []
        for c, nb in enumerate(neighbours):
            src = nb[cells.code[nb] != cells.code[c]] if step == 0 else nb[changed[nb]]
            if len(src):
                idx.append(c)
                starts.append((cells.W[src], cells.b[src]))
        if not idx:
            break
        idx = np.array(idx)
        trial = _best_of(n, density[idx], importance[idx], starts, prune=False)
        better = trial.loss < cells.loss[idx] * (1.0 - POLISH_RTOL)
        fields = ("W", "b", "loss", "code", "norm", "interference")
        cells = CellOptima(
            *(_replace(getattr(cells, f), getattr(trial, f), idx, better) for f in fields)
        )
        changed = np.zeros(len(cells.loss), dtype=bool)
        changed[idx[better]] = True
    return cells


def _replace(old: np.ndarray, new: np.ndarray, idx: np.ndarray, better: np.ndarray):
    out = old.copy()
    out[idx[better]] = new[better]
    return out


def _grid_neighbours(D: int, R: int) -> list[np.ndarray]:
    """Flat indices of the 4-neighbours of each cell of a ``D × R`` grid (row-major)."""
    out = []
    for i in range(D):
        for j in range(R):
            nb = [(i + di, j + dj) for di, dj in ((-1, 0), (1, 0), (0, -1), (0, 1))]
            out.append(np.array([a * R + b for a, b in nb if 0 <= a < D and 0 <= b < R], int))
    return out


@dataclass(frozen=True)
class OptimumMap:
    density: np.ndarray  # [density]
    importance: np.ndarray  # [importance]
    phase: np.ndarray  # str [density, importance]
    W: np.ndarray  # [density, importance, hidden, feature]
    b: np.ndarray  # [density, importance, feature]
    loss: np.ndarray  # [density, importance]
    norm: np.ndarray  # [density, importance], extra feature
    interference: np.ndarray  # [density, importance], extra feature


def optimum_map(
    n_features: int,
    density,
    importance,
    starts: int = DEFAULT_STARTS,
    seed: int = 0,
    cache: bool = True,
) -> OptimumMap:
    """The exact optimum's phase per cell of ``density × importance`` (cached on disk)."""
    n = check_n_features(n_features)
    density = np.atleast_1d(np.asarray(density, dtype=np.float64))
    importance = np.atleast_1d(np.asarray(importance, dtype=np.float64))
    for v in density:
        check_density("density", float(v))
    for v in importance:
        check_positive("importance", float(v))
    key = json.dumps(
        {
            "version": FORMAT_VERSION,
            "n": n,
            "density": [repr(float(v)) for v in density],
            "importance": [repr(float(v)) for v in importance],
            "starts": starts,
            "seed": seed,
        }
    )
    D, R, m = len(density), len(importance), n - 1
    stored = _cache.read_entry("optimum_map", key) if cache else None
    try:
        if not isinstance(stored, dict):
            raise _Malformed("no entry")
        W = _stored_array(stored.get("W"), (D, R, m, n))
        b = _stored_array(stored.get("b"), (D, R, n))
        loss = _stored_array(stored.get("loss"), (D, R))
    except _Malformed:
        grid_p, grid_r = np.meshgrid(density, importance, indexing="ij")
        cells = optimise_cells(n, grid_p.ravel(), grid_r.ravel(), starts, seed)
        cells = _polish(n, grid_p.ravel(), grid_r.ravel(), cells, _grid_neighbours(D, R))
        W, b, loss = cells.W.reshape(D, R, m, n), cells.b.reshape(D, R, n), cells.loss.reshape(D, R)
        if cache:
            _cache.write_entry(
                "optimum_map", key, {"W": W.tolist(), "b": b.tolist(), "loss": loss.tolist()}
            )
    code, norm, interference = _classify(W.reshape(D * R, m, n))
    return OptimumMap(
        density=density,
        importance=importance,
        phase=np.array(LABELS)[code].reshape(D, R),
        W=W,
        b=b,
        loss=loss,
        norm=norm.reshape(D, R),
        interference=interference.reshape(D, R),
    )


@dataclass(frozen=True)
class PhaseSwitch:
    """Where the optimum's extra feature changes phase along density, at importance r."""

    density: float  # midpoint of the final bracket (width <= DENSITY_TOL)
    below: str  # phase just below
    above: str  # phase just above
    density_below: float
    density_above: float
    W_below: np.ndarray  # [hidden, feature], optimum at density_below
    b_below: np.ndarray
    W_above: np.ndarray  # optimum at density_above
    b_above: np.ndarray
    loss_below: float
    loss_above: float


def phase_switches(
    n_features: int,
    importance: float,
    starts: int = DEFAULT_STARTS,
    seed: int = 0,
    cache: bool = True,
) -> list[PhaseSwitch]:
    """Every density in ``SCAN_RANGE`` where the optimal extra feature changes phase.

    A log-spaced scan of ``SCAN_POINTS`` densities finds brackets; each is narrowed by
    multisection (``SECTIONS`` densities per round, warm-started from the optima at
    both ends) to ``DENSITY_TOL``.
    """
    n = check_n_features(n_features)
    r = check_positive("importance", importance)
    key = json.dumps(
        {
            "version": FORMAT_VERSION,
            "n": n,
            "r": repr(float(r)),
            "starts": starts,
            "seed": seed,
            "scan": [SCAN_RANGE, SCAN_POINTS, SECTIONS, DENSITY_TOL],
        }
    )
    stored = _cache.read_entry("phase_switches", key) if cache else None
    if stored is not None:
        try:
            return _switches_from_json(stored.get("switches"), n)
        except _Malformed:
            pass  # derive again (and overwrite the entry)
    scan = np.geomspace(*SCAN_RANGE, SCAN_POINTS)
    cells = optimise_cells(n, scan, r, starts, seed)
    cells = _polish(n, scan, np.full(SCAN_POINTS, r), cells, _grid_neighbours(SCAN_POINTS, 1))
    out = []
    for j in np.flatnonzero(cells.code[1:] != cells.code[:-1]):
        lo = _Point.of(scan[j], cells, j)
        hi = _Point.of(scan[j + 1], cells, j + 1)
        round_ = 0
        while hi.density - lo.density > DENSITY_TOL:
            round_ += 1
            grid = np.linspace(lo.density, hi.density, SECTIONS + 2)[1:-1]
            warm = [
                (np.repeat(pt.W[None], SECTIONS, 0), np.repeat(pt.b[None], SECTIONS, 0))
                for pt in (lo, hi)
            ]
            inner = optimise_cells(n, grid, r, starts // 2, seed + 1000 * round_, warm)
            points = [lo, *(_Point.of(d, inner, i) for i, d in enumerate(grid)), hi]
            # the first density whose phase differs from the lower end's closes the bracket
            k = next(i for i, pt in enumerate(points) if pt.code != lo.code)
            lo, hi = points[k - 1], points[k]
        out.append(
            PhaseSwitch(
                density=(lo.density + hi.density) / 2,
                below=LABELS[lo.code],
                above=LABELS[hi.code],
                density_below=lo.density,
                density_above=hi.density,
                W_below=lo.W,
                b_below=lo.b,
                W_above=hi.W,
                b_above=hi.b,
                loss_below=lo.loss,
                loss_above=hi.loss,
            )
        )
    if cache:
        _cache.write_entry("phase_switches", key, {"switches": [_switch_to_json(s) for s in out]})
    return out


def critical_density(n_features: int, importance: float, **kwargs) -> float:
    """The density where the optimal extra feature switches phase at importance ``r``
    (the highest one if there are several; see :func:`phase_switches`)."""
    switches = phase_switches(n_features, importance, **kwargs)
    if not switches:
        raise ConfigError(
            f"the optimal extra feature does not change phase for densities in "
            f"[{SCAN_RANGE[0]}, {SCAN_RANGE[1]}] at importance {importance}"
        )
    return switches[-1].density


@dataclass(frozen=True)
class _Point:
    """The optimum at one density of a multisection."""

    density: float
    W: np.ndarray
    b: np.ndarray
    loss: float
    code: int

    @classmethod
    def of(cls, density: float, cells: CellOptima, i: int) -> _Point:
        return cls(float(density), cells.W[i], cells.b[i], float(cells.loss[i]), int(cells.code[i]))


def _switch_to_json(s: PhaseSwitch) -> dict:
    return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in s.__dict__.items()}


# -- reading the cache: only exactly what was written, else recompute ----------------------
class _Malformed(ValueError):
    """A cache entry that is not exactly what this module writes."""


def _stored_array(value, shape: tuple[int, ...]) -> np.ndarray:
    """Nested JSON lists of finite numbers (not bools, not strings such as "nan", which
    numpy would convert) of exactly ``shape``, as float64."""

    def check(v, dims):
        if not dims:
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                raise _Malformed(f"{v!r} is not a finite number")
            return
        if not isinstance(v, list) or len(v) != dims[0]:
            raise _Malformed(f"expected a list of {dims[0]}")
        for item in v:
            check(item, dims[1:])

    check(value, shape)
    return np.array(value, dtype=np.float64).reshape(shape)


def _stored_number(value, low: float = -math.inf, high: float = math.inf) -> float:
    number = float(_stored_array(value, ()))
    if not low <= number <= high:
        raise _Malformed(f"{number} is outside [{low}, {high}]")
    return number


def _switches_from_json(stored, n: int) -> list[PhaseSwitch]:
    fields = {f.name for f in dataclasses.fields(PhaseSwitch)}
    if not isinstance(stored, list) or len(stored) >= SCAN_POINTS:
        raise _Malformed("switches must be a list, one per bracket of the scan")
    out = []
    for d in stored:
        if not isinstance(d, dict) or set(d) != fields:
            raise _Malformed(f"a switch needs exactly the fields {sorted(fields)}")
        if d["below"] not in LABELS or d["above"] not in LABELS:
            raise _Malformed(f"phases must be among {LABELS}")
        lo = _stored_number(d["density_below"], 0.0, 1.0)
        hi = _stored_number(d["density_above"], lo, 1.0)
        out.append(
            PhaseSwitch(
                density=_stored_number(d["density"], lo, hi),
                below=d["below"],
                above=d["above"],
                density_below=lo,
                density_above=hi,
                W_below=_stored_array(d["W_below"], (n - 1, n)),
                b_below=_stored_array(d["b_below"], (n,)),
                W_above=_stored_array(d["W_above"], (n - 1, n)),
                b_above=_stored_array(d["b_above"], (n,)),
                loss_below=_stored_number(d["loss_below"]),
                loss_above=_stored_number(d["loss_above"]),
            )
        )
    return out
