"""Batched BFGS over many independent problems: :func:`bfgs` minimises any batched
function ``theta [K, P] -> (loss [K], grad [K, P])``; :func:`minimise` applies it to the
exact expected loss of many independent ReLU output models.

That loss and its exact gradient come from ``toymodels`` (float64
``ReLUOutput.expected_loss_and_grad``, hand-derived and tested against autograd); we never
re-derive them.  Problems are independent, so each keeps its own dense inverse-Hessian
approximation (4 to 9 parameters per ReLU output model) and its own
backtracking (Armijo) line search: convergence does not slow down as the batch grows, as
it would for one joint L-BFGS over the summed loss.  Converged models are dropped from
the batch as it shrinks, so the cost follows the slowest models only while they run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from toymodels import ModelConfig
from toymodels.families import ReLUOutput
from toymodels.threads import torch_threads

# Stop a model when its largest gradient entry is below this (relative to its loss; the
# loss is O(p), and gradients scale the same way) ...
GTOL_RELATIVE = 1e-7
# ... or when an iteration lowers its loss by less than this (relative): near a kink of
# the piecewise-polynomial loss BFGS creeps; 1e-12 changed no phase and no loss beyond
# 4e-12 (relative) against 1e-14 and 2000 iterations on the 20x20 n=2 map.
FTOL_RELATIVE = 1e-12
# ... or when STALL_WINDOW iterations together lowered it by less than STALL_RTOL: a
# model creeping along a flat direction (a norm decaying to 0) has its phase and its
# loss (to ~1e-9) long before it converges.
STALL_WINDOW = 20
STALL_RTOL = 1e-9
# Armijo sufficient-decrease constant and the number of step halvings before giving up.
ARMIJO_C1 = 1e-4
MAX_HALVINGS = 30
# Largest step (max-norm in parameter space) a line search starts from.
MAX_STEP = 1.0
# A BFGS update needs positive curvature y·s; below this (relative) it is skipped.
CURVATURE_EPS = 1e-12
# Rebuild the batch (dropping converged models) when it shrinks below this fraction.
COMPACT_BELOW = 0.5


@dataclass
class Minimised:
    W: np.ndarray  # [model, hidden, feature]
    b: np.ndarray  # [model, feature]
    loss: np.ndarray  # [model]
    grad_norm: np.ndarray  # [model], largest gradient entry at the end
    iterations: np.ndarray  # [model]


class _Batch:
    """A ReLUOutput batch used as a function ``theta [K, P] -> (loss [K], grad [K, P])``.

    Building a batch draws an initialisation per model (which we overwrite), so a
    shrinking batch is mostly evaluated on a selection of the models it was built with.
    """

    def __init__(self, configs: list[ModelConfig], m: int, n: int):
        seeds = [np.random.SeedSequence(0)] * len(configs)  # parameters are overwritten
        self.model = ReLUOutput(configs, seeds, dtype=torch.float64)
        self.m, self.n = m, n
        self.size = len(configs)
        self.rows = torch.arange(self.size)

    def select(self, keep: torch.Tensor) -> None:
        self.rows = self.rows[keep]

    def __call__(self, theta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        k, mn = theta.shape[0], self.m * self.n
        with torch.no_grad():
            self.model.W[self.rows] = theta[:, :mn].reshape(k, self.m, self.n)
            self.model.b[self.rows] = theta[:, mn:]
        # hand-derived exact gradient (the family declares it): same numbers as autograd
        loss, (gw, gb) = self.model.expected_loss_and_grad()
        rows = self.rows
        return loss.detach()[rows], torch.cat([gw[rows].reshape(k, mn), gb[rows]], dim=1)


def minimise(
    configs: list[ModelConfig],
    W0: np.ndarray,
    b0: np.ndarray,
    max_iter: int = 200,
    prune: dict[int, Callable] | None = None,
) -> Minimised:
    """Minimise every model's exact expected loss from its own start ``(W0[k], b0[k])``.

    ``prune={after: fn, ...}``: after ``after`` iterations, ``fn(index, W, b, loss,
    all_loss) -> keep`` (arrays over the still-running models, ``index`` into ``configs``;
    ``all_loss`` the current or final loss of every model) says which models keep going;
    the others stop where they are.
    """
    K = len(configs)
    m, n = W0.shape[1:]
    theta = torch.as_tensor(np.concatenate([W0.reshape(K, -1), b0], axis=1), dtype=torch.float64)

    def make_batch(index: np.ndarray) -> _Batch:
        return _Batch([configs[i] for i in index], m, n)

    def unpacked(fn: Callable) -> Callable:
        return lambda index, theta, f, all_f: fn(index, *_unpack(theta, m, n), f, all_f)

    rules = {after: unpacked(fn) for after, fn in prune.items()} if prune else None
    out_theta, out_f, out_g, iters = bfgs(make_batch, theta, max_iter, rules)
    W, b = _unpack(out_theta, m, n)
    return Minimised(W, b, out_f.numpy(), out_g.numpy(), iters)


def bfgs(
    make_batch: Callable[[np.ndarray], Callable],
    theta: torch.Tensor,
    max_iter: int = 200,
    prune: dict[int, Callable] | None = None,
    loss_floor: float = 0.0,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, np.ndarray]:
    """Minimise K independent problems from their starts ``theta [K, P]`` (float64).

    ``make_batch(index)`` returns the problems ``index`` (into the K) as a function
    ``theta [k, P] -> (loss [k], grad [k, P])`` with ``size`` (how many it was built
    with) and ``select(keep)`` (from now on it receives only the rows ``keep`` of those it
    last received).  ``prune={after: fn(index, theta, loss, all_loss) -> keep}`` as in
    :func:`minimise`.  The stopping tolerances are relative to the loss, or to
    ``loss_floor`` where the loss is smaller (for problems whose minimum is 0, where
    relative tolerances would never be met).  Returns the final ``theta [K, P]``,
    ``loss [K]``, largest gradient entry ``[K]`` and iterations ``[K]``.
    """
    # The work is many small tensor ops: intra-op threads only add synchronisation (20x
    # slower on a loaded 2-core machine, measured), so run single-threaded.
    with torch_threads(1):
        return _bfgs(make_batch, theta, max_iter, prune, loss_floor)


def _bfgs(make_batch, theta, max_iter, prune, loss_floor):
    K, P = theta.shape
    out_theta, out_f = theta.clone(), torch.zeros(K, dtype=torch.float64)
    out_g = torch.zeros(K, dtype=torch.float64)
    iters = np.zeros(K, dtype=np.int64)
    eye = torch.eye(P, dtype=torch.float64)

    active = np.arange(K)  # global index of each running model
    batch = make_batch(active)
    f, g = batch(theta)
    H = eye.expand(K, P, P).clone()
    done = torch.zeros(K, dtype=torch.bool)
    f_ref = f.clone()  # loss STALL_WINDOW iterations ago
    for it in range(max_iter + 1):
        if prune and it in prune:
            all_f = out_f.clone()
            all_f[active] = f
            keep = prune[it](active, theta, f.numpy(), all_f.numpy())
            keep = torch.as_tensor(np.asarray(keep, dtype=bool))
            done |= ~keep
        scale = f.abs().clamp_min(loss_floor)
        done |= g.abs().amax(1) <= GTOL_RELATIVE * scale
        if it and it % STALL_WINDOW == 0:
            done |= f_ref - f <= STALL_RTOL * scale
            f_ref = f.clone()
        if it == max_iter:
            break
        if bool(done.any()):
            # finished models leave the batch (their results are kept)
            fin = done.numpy()
            out_theta[active[fin]], out_f[active[fin]] = theta[done], f[done]
            out_g[active[fin]] = g[done].abs().amax(1)
            if bool(done.all()):
                active = active[:0]
                break
            live = ~done
            active = active[~fin]
            theta, f, g, H, f_ref = theta[live], f[live], g[live], H[live], f_ref[live]
            done = done[live]
            if len(active) < COMPACT_BELOW * batch.size:
                batch = make_batch(active)
            else:
                batch.select(live)
        d = -(H @ g.unsqueeze(-1)).squeeze(-1)
        slope = (g * d).sum(1)
        bad = slope >= 0  # not a descent direction: restart from steepest descent
        if bool(bad.any()):
            H[bad] = eye
            d[bad] = -g[bad]
            slope = (g * d).sum(1)
        # cap the step: parameters are O(1), and a wild first step only costs halvings
        d = d * (MAX_STEP / d.abs().amax(1).clamp_min(MAX_STEP)).unsqueeze(1)
        slope = (g * d).sum(1)
        accepted, theta_new, f_new, g_new = _line_search(
            batch, lambda rows, active=active: make_batch(active[rows]), theta, f, g, d, slope
        )
        # no decrease along d, or a negligible one: a minimum to working precision
        done |= ~accepted | (f - f_new <= FTOL_RELATIVE * f.abs().clamp_min(loss_floor))
        s, y = theta_new - theta, g_new - g
        sy = (s * y).sum(1)
        upd = accepted & (sy > CURVATURE_EPS * s.norm(dim=1) * y.norm(dim=1))
        if bool(upd.any()):
            Hu, su, yu, rho = H[upd], s[upd], y[upd], (1.0 / sy[upd]).view(-1, 1, 1)
            if it == 0:  # scale the initial identity to the observed curvature
                Hu = Hu * (sy[upd] / (yu * yu).sum(1)).view(-1, 1, 1)
            left = eye - rho * su.unsqueeze(2) * yu.unsqueeze(1)
            H[upd] = left @ Hu @ left.transpose(1, 2) + rho * su.unsqueeze(2) * su.unsqueeze(1)
        theta, f, g = theta_new, f_new, g_new
        iters[active] += 1
    if len(active):
        out_theta[active], out_f[active], out_g[active] = theta, f, g.abs().amax(1)
    return out_theta, out_f, out_g, iters


def _line_search(batch, make_sub, theta, f, g, d, slope):
    """Backtracking (Armijo) per model.  The first trial (``alpha = 1``) is evaluated on
    the whole batch; the few models that need halvings are re-evaluated on a small batch of
    their own, so one stubborn model does not cost a full-batch evaluation per halving."""
    theta_new, f_new, g_new = theta.clone(), f.clone(), g.clone()
    ft, gt = batch(theta + d)
    accepted = (ft <= f + ARMIJO_C1 * slope) & torch.isfinite(ft)
    theta_new[accepted], f_new[accepted], g_new[accepted] = (
        (theta + d)[accepted],
        ft[accepted],
        gt[accepted],
    )
    todo = torch.nonzero(~accepted).squeeze(1)
    if len(todo) == 0:
        return accepted, theta_new, f_new, g_new
    sub = make_sub(todo.numpy())
    alpha = torch.full((len(todo),), 0.5, dtype=torch.float64)
    ok_sub = torch.zeros(len(todo), dtype=torch.bool)
    for _ in range(MAX_HALVINGS - 1):
        trial = theta[todo] + alpha.unsqueeze(1) * d[todo]
        ft, gt = sub(trial)
        ok = ~ok_sub & (ft <= f[todo] + ARMIJO_C1 * alpha * slope[todo]) & torch.isfinite(ft)
        idx = todo[ok]
        theta_new[idx], f_new[idx], g_new[idx] = trial[ok], ft[ok], gt[ok]
        ok_sub |= ok
        if bool(ok_sub.all()):
            break
        alpha = torch.where(ok_sub, alpha, alpha * 0.5)
    accepted[todo] = ok_sub
    return accepted, theta_new, f_new, g_new


def _unpack(theta: torch.Tensor, m: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    k = theta.shape[0]
    return theta[:, : m * n].reshape(k, m, n).numpy().copy(), theta[:, m * n :].numpy().copy()
