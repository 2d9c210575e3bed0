"""A ratio and its CI are printed with the decimals that tell the CI's bounds apart: a rate ratio per
unit of a moderator on 0-150 reads 1.004 (1.001-1.007), not 1.00 (1.00-1.00)."""
import math

from effectmod.formatting import ratio_places, ratio_with_ci


def test_two_decimals_when_they_tell_the_bounds_apart():
    assert ratio_with_ci(math.log(0.53), math.log(0.28), math.log(1.01)) == ("0.53", "0.28-1.01")
    assert ratio_places(math.log(0.994), math.log(1.006)) == 2          # 0.99-1.01
    # an estimate printing as one of its bounds: 1.00 (0.99-1.00) becomes 0.998 (0.990-1.004)
    assert ratio_with_ci(math.log(0.998), math.log(0.990), math.log(1.004)) == ("0.998", "0.990-1.004")


def test_more_decimals_when_the_bounds_would_print_alike():
    assert ratio_with_ci(math.log(1.0042), math.log(1.0013), math.log(1.0071)) == ("1.004", "1.001-1.007")
    assert ratio_with_ci(math.log(1.00042), math.log(1.00013), math.log(1.00071)) == ("1.0004", "1.0001-1.0007")
    # at most four decimals; equal bounds and missing ones keep two
    assert ratio_places(math.log(1.000001), math.log(1.000002)) == 4
    assert ratio_places(0.1, 0.1) == 2 and ratio_places(math.nan, 0.1) == 2
    # a diverging fit's ratio and upper bound both print '>999': no extra decimals for the lower bound
    assert ratio_with_ci(25.0, math.log(2.07), 30.0) == (">999", "2.07 to >999")


def test_epil_per_unit_baseline_reads_with_three_decimals():
    from pathlib import Path

    import effectmod as em
    case = Path(__file__).parent / "reference" / "epil_count"
    res = em.analyze(case / "data.csv", case / "plan.yaml")
    from effectmod.report.html import render_report
    page = render_report(res, [])
    assert "(1.00-1.00)" not in page and "(1.00-1.01)" not in page
