"""CONTRACT §5: numbers the way JAMA prints them."""
import pytest

import effectmod as em
from effectmod.report.sentences import interval, number, p_text


def test_contract_examples():
    assert em.jama(0.18, 0.05, 0.32, 0.007) == "β-coefficient = 0.18 [95% CI, 0.05-0.32]; P = .007"
    assert em.jama(0.06, -0.02, 0.14, 0.15) == "β-coefficient = 0.06 [95% CI, -0.02 to 0.14]; P = .15"
    assert em.jama(0.27, 0.00, 0.55, 0.05) == "β-coefficient = 0.27 [95% CI, 0.00-0.55]; P = .05"


@pytest.mark.parametrize("p,text", [
    (0.0004, "P < .001"), (0.001, "P = .001"), (0.0072, "P = .007"), (0.012, "P = .01"),
    (0.15, "P = .15"), (0.994, "P > .99"), (0.99, "P = .99"),
    (0.046, "P = .046"),      # .05 would print a P below the threshold as the threshold
    (0.0496, "P = .0496"),    # .050 too
    (0.051, "P = .05"),       # at or above the threshold: the plain rule
])
def test_p_values(p, text):
    assert p_text(p) == text


def test_p_rule_follows_the_evidence_threshold():
    assert p_text(0.0096, evidence_threshold=0.01) == "P = .0096"
    assert p_text(0.0096) == "P = .010"


def test_rounding_to_zero_is_never_negative():
    assert number(-0.004) == "0.00"
    assert interval(-0.004, 0.3) == "0.00-0.30"
    assert interval(-0.006, 0.3) == "-0.01 to 0.30"


def test_half_rounds_away_from_zero_and_labels():
    assert number(0.125) == "0.13" and number(-0.125) == "-0.13"
    assert em.jama(1.5, 0.2, 2.8, 0.02, label="OR", ci_level=0.9) == "OR = 1.50 [90% CI, 0.20-2.80]; P = .02"


def test_thresholds_print_like_p_values():
    from effectmod.report.sentences import threshold_text
    assert [threshold_text(x) for x in (0.05, 0.2, 0.005, 0.1)] == [".05", ".20", ".005", ".10"]
