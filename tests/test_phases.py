import numpy as np

from toymodels.families import FAMILIES
from toymodels.phases import PHASE_RULES
from toymodels.phases.base import DIVERGED, aggregate
from toymodels.phases.extra_feature import (
    EXTRA_FEATURE_RULE,
    INTERFERENCE_SUPERPOSED,
    LABELS,
    NORM_REPRESENTED,
    aggregate_extra_feature,
    classify,
)


def test_both_superposition_families_declare_the_extra_feature_rule():
    assert FAMILIES["relu"].phase_rule is FAMILIES["linear"].phase_rule
    assert FAMILIES["relu"].phase_rule is PHASE_RULES["extra_feature"]
    assert PHASE_RULES["extra_feature"].labels == LABELS
    assert set(PHASE_RULES["extra_feature"].needs) <= set(FAMILIES["relu"].metrics)


def test_classify_canonical_solutions():
    # not represented, dedicated dimension, antipodal pair, triangle in 2-D
    norm = np.array([0.0, 1.0, 1.0, 1.0])
    interference = np.array([0.0, 0.0, 1.0, 0.5])
    assert [LABELS[c] for c in classify(norm, interference)] == [
        "not_represented",
        "dedicated",
        "superposition",
        "superposition",
    ]


def test_thresholds_are_inclusive_where_documented():
    assert classify(NORM_REPRESENTED, 0.0) == 1
    assert classify(np.nextafter(NORM_REPRESENTED, 0), 0.0) == 0
    assert classify(1.0, INTERFERENCE_SUPERPOSED) == 2
    assert classify(1.0, np.nextafter(INTERFERENCE_SUPERPOSED, 0)) == 1


def test_paper_rule_drops_the_worst_and_best_of_n_takes_the_best():
    # Three seeds of one cell: two dedicated with slightly different losses, and one
    # high-loss outlier in superposition with a huge interference that would pull the
    # average over the threshold if it were kept.
    loss = np.array([[0.10, 0.12, 0.50]])
    norm = np.array([[1.0, 1.0, 1.0]])
    interference = np.array([[0.0, 0.2, 3.0]])
    out = aggregate_extra_feature(loss, norm, interference)
    assert LABELS[out["paper"][0]] == "dedicated"
    np.testing.assert_allclose(out["paper_interference"], [0.1])
    assert LABELS[out["best"][0]] == "dedicated"
    np.testing.assert_allclose(out["fraction"], [[0.0, 2 / 3, 1 / 3, 0.0]])


def test_best_of_n_can_disagree_with_the_paper_rule():
    # The lowest-loss seed found superposition; the others sit in a worse local minimum.
    # Kept after dropping the worst: interference mean (1 + 0 * 4) / 5 = 0.2.
    loss = np.array([0.05, 0.2, 0.21, 0.22, 0.23, 0.24])
    norm = np.ones(6)
    interference = np.array([1.0, 0.0, 0.0, 0.0, 0.0, 0.0])
    out = aggregate_extra_feature(loss, norm, interference)
    assert LABELS[out["best"]] == "superposition"
    assert LABELS[out["paper"]] == "dedicated"


def test_nan_loss_is_discarded_first_and_never_best():
    loss = np.array([np.nan, 0.3, 0.2])
    norm = np.array([0.0, 1.0, 1.0])
    interference = np.array([0.0, 1.0, 1.0])
    out = aggregate_extra_feature(loss, norm, interference)
    assert LABELS[out["best"]] == "superposition"
    assert LABELS[out["paper"]] == "superposition"


def test_single_replicate_keeps_its_model():
    out = aggregate_extra_feature(np.array([[0.3]]), np.array([[0.1]]), np.array([[0.0]]))
    assert LABELS[out["paper"][0]] == "not_represented"
    assert out["fraction"].shape == (1, 4)  # the three phases and diverged


def test_diverged_models_are_labelled_and_left_out():
    # Seed 0 has the lowest (finite) loss but NaN parameters: marked diverged, it must not
    # be best-of-N nor enter the paper rule's average; seed 1 has an infinite loss.
    loss = np.array([[0.01, np.inf, 0.3, 0.2], [np.nan, np.nan, np.inf, np.nan]])
    norm = np.array([[np.nan, 0.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0]])
    interference = np.array([[np.nan, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 0.0]])
    marked = np.array([[True, False, False, False], [False] * 4])
    out = aggregate(EXTRA_FEATURE_RULE, loss, {"norm": norm, "interference": interference}, marked)
    labels = out["labels"]
    assert labels[-1] == DIVERGED
    assert [labels[c] for c in out["model"][0]] == [
        DIVERGED,
        DIVERGED,
        "superposition",
        "dedicated",
    ]
    assert labels[out["best"][0]] == "dedicated"  # seed 3, not seed 0
    # Paper rule over the two finite models: drop the worse (seed 2), keep seed 3.
    assert labels[out["paper"][0]] == "dedicated"
    np.testing.assert_allclose(out["paper_interference"][0], 0.0)
    np.testing.assert_allclose(out["fraction"][0], [0.0, 0.25, 0.25, 0.5])
    # Every seed diverged: the cell is diverged by both aggregations.
    assert labels[out["best"][1]] == DIVERGED == labels[out["paper"][1]]
    np.testing.assert_allclose(out["fraction"][1], [0.0, 0.0, 0.0, 1.0])
