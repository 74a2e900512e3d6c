"""Bounds and choices of model fields that come from the problem, each declared once with
its reason.

Families and tasks declare their fields with these checks, and the command line builds
its argument types from the same ones (``cli.arguments.declared``), so a bound is written
in one place.  This module imports no torch: parsing arguments and ``--help`` stay fast.
"""

from __future__ import annotations

import math

from .errors import ConfigError, check_int, check_real
from .fields import Check, integer_within, within

# Contexts of the contextual task: its data sets are laid out for 3 to 5 contexts (8
# objects each), as the published ones are.
N_CONTEXTS = integer_within(3, 5)
# The contextual task's context blocks: the same hierarchy in every context, or the
# published data set's different structures.
STRUCTURES = ("same", "different")
# Its object inputs: one-hot, or whitened so that the input correlation is the identity.
INPUTS = ("one_hot", "whitened")
# The context sets a gated deep linear network's gated pathways serve: each context alone,
# each pair, all but one, every proper subset, or the list of context masks given.
GATINGS = ("single", "pairs", "all_but_one", "subsets", "masks")
# The contextual task's context inputs are this number instead of 1 (the published 4- and
# 5-context data sets use 1.1 and 1.35).  Beyond a thousand to one either the objects or the
# contexts fall below float32's resolution in the network's first layer.
CONTEXT_SCALE = within(1e-3, 1e3, "objects and contexts must both stay visible in float32")
# Hidden layers of a contextual network: one (the closed form's two-layer pathway) or two
# (the published depth experiment, whose gated counterpart has two); deeper networks have
# neither a published experiment nor a gated counterpart to compare with.
N_LAYERS = integer_within(1, 2)


def _unit_interval(name: str, value) -> float:
    value = check_real(name, value)
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"{name}={value:g} must be in [0, 1]")
    return value


# Conflict κ between two tasks: 0 one shared task, 1 two conflicting tasks.
CONFLICT = Check(float, _unit_interval, "a number in [0, 1]", (-0.1, 1.5, math.nan, "x"))
# View strength ratio ρ: beyond a thousand to one, the weaker view's share of the input
# (ρ² or 1/ρ²) is below float32's resolution (and ρ² overflows long before ρ does).
VIEW_RATIO = within(1e-3, 1e3, "the weaker view must stay visible in float32")
# Temperature τ of a competitive layer: the units' inputs are divided by τ in float32,
# where beyond 1e-6 .. 1e6 they saturate (a hard argmax) or vanish (every unit alike).
TEMPERATURE = within(1e-6, 1e6, "float32 inputs / τ")
# Volume-control strength λ: a penalty 1e6 times the task's loss leaves the task below
# float32's resolution (1e-7), and far beyond it overflows.
VOLUME_STRENGTH = within(0.0, 1e6, "the task must outweigh it in float32")
# The Thomson problem of superposition (``toymodels analytic thomson``,
# ``analytics.thomson``): at least two features and one dimension; beyond 50 features,
# 10 dimensions or 4096 random starts a minimisation takes minutes, not seconds (the
# minimiser also bounds features x (dims + 1), the parameters of one start).
THOMSON_FEATURES = integer_within(2, 50)
THOMSON_DIMS = integer_within(1, 10)
THOMSON_STARTS = integer_within(1, 4096)
# Its default starts: with 64 every minimum measured (N <= 12, M <= 3) was reached by at
# least 3 starts; twice that costs well under a second for the figure's sizes.
THOMSON_DEFAULT_STARTS = 128

# float32's largest number and its smallest normal one (``torch.finfo(torch.float32)``;
# written out so that this module imports no torch, and a test checks them).
FLOAT32_MAX = 3.4028234663852886e38
FLOAT32_TINY = 1.1754943508222875e-38
# Learning rate: the optimisers apply it as a float32 scalar to float32 parameters, so a
# rate beyond float32's range cannot even be applied (torch stops the run with an
# overflow error, after the folder was made), and one below its normal range is a step
# of zero or of a few bits.  Such a rate is a slip, not an experiment: a researcher would
# rather lose a second than a run, so it is refused before any work, whatever the
# estimator (one bound for every command; the exact estimator's float64 would take more).
# A large rate inside the range is a fair question, and a model it blows up is labelled
# diverged.  Adam's first step, lr / (1 - beta1), is checked against the same bound
# (``TrainConfig.validate``).
LEARNING_RATE = within(FLOAT32_TINY, FLOAT32_MAX, "parameters are updated in float32")
# Root of every model's seed: numpy's SeedSequence takes any integer >= 0, but the spec
# is written as TOML, whose integers are signed 64-bit, and the results file stores it as
# an int64 attribute; larger roots fail there, after training.
ROOT_SEED_MAX = 2**63 - 1


def _root_seed(name: str, value) -> int:
    value = check_int(name, value)
    if not 0 <= value <= ROOT_SEED_MAX:
        raise ConfigError(
            f"{name}={value} must be an integer >= 0 and at most {ROOT_SEED_MAX} (int64, as "
            "spec files and results store it)"
        )
    return value


ROOT_SEED = Check(
    int, _root_seed, f"an integer from 0 to {ROOT_SEED_MAX}", (-1, ROOT_SEED_MAX + 1, 0.5, "x")
)
