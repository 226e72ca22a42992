"""The advisor's statistics against values worked out by hand."""

from __future__ import annotations

import math

import pytest

from engine import optimizer as O


def test_quantiles_interpolate_linearly():
    assert O.median([1, 2, 3, 4]) == 2.5
    assert O._quantile([1, 2, 3, 4], 0.95) == pytest.approx(3.85)  # position 2.85
    assert O._quantile([7], 0.99) == 7 and O.median([]) is None


def test_u_distribution_is_the_gaussian_binomial():
    # [6 choose 3]_q = 1 + q + 2q^2 + 3q^3 + 3q^4 + 3q^5 + 3q^6 + 2q^7 + q^8 + q^9
    assert O._u_distribution(3, 3) == [1, 1, 2, 3, 3, 3, 3, 2, 1, 1]
    assert O._u_distribution(1, 2) == [1, 1, 1]
    assert sum(O._u_distribution(5, 5)) == math.comb(10, 5)
    assert sum(O._u_distribution(20, 25)) == math.comb(45, 20)


def test_mann_whitney_exact_complete_separation():
    t = O.mann_whitney_u([1, 2, 3, 4, 5], [6, 7, 8, 9, 10])
    assert t["method"] == "exact" and t["u"] == 0 and t["u_y"] == 25
    assert t["p_value"] == pytest.approx(2 / 252)  # both extreme arrangements of C(10,5) = 252
    assert t["effect"] == -1.0 and t["hodges_lehmann"] == 5
    assert O.mann_whitney_u([1, 2, 3], [4, 5, 6])["p_value"] == pytest.approx(0.1)  # 2 / C(6,3)


def test_mann_whitney_exact_with_overlap():
    t = O.mann_whitney_u([1, 2, 4], [3, 5, 6])
    assert t["u"] == 1  # only 4 > 3
    assert t["p_value"] == pytest.approx(2 * (1 + 1) / 20)  # P(U <= 1) = 2/20, doubled


def test_mann_whitney_normal_with_ties():
    t = O.mann_whitney_u([1, 2, 2, 3], [2, 3, 4, 5])
    # mid-ranks: 1 -> 1; the three 2s -> 3; the two 3s -> 5.5; 4 -> 7; 5 -> 8
    assert t["method"] == "normal"
    assert t["u"] == 2.5  # R_x = 1 + 3 + 3 + 5.5 = 12.5; U = 12.5 - 4*5/2
    var = 4 * 4 / 12 * ((8 + 1) - (24 + 6) / (8 * 7))  # tie groups of 3 and 2
    z = (abs(2.5 - 8) - 0.5) / math.sqrt(var)
    assert t["p_value"] == pytest.approx(math.erfc(z / math.sqrt(2)))
    assert t["p_value"] == pytest.approx(0.1367, abs=1e-3)
    with pytest.raises(ValueError):
        O.mann_whitney_u([], [1])


def test_mann_whitney_identical_samples():
    t = O.mann_whitney_u([5, 5, 5], [5, 5, 5])
    assert t["p_value"] == 1.0


def test_fisher_exact_by_hand():
    assert O.fisher_exact(3, 0, 0, 3) == pytest.approx(0.1)  # 2 * 1/C(6,3)
    # [[5,0],[3,2]]: P(a=3,4,5) = 10/45, 25/45, 10/45; observed a=5 -> 10/45 + 10/45
    assert O.fisher_exact(5, 0, 3, 2) == pytest.approx(20 / 45)
    assert O.fisher_exact(4, 1, 4, 1) == pytest.approx(1.0)
    assert O.fisher_exact(0, 0, 0, 0) == 1.0


def test_makespan_longest_first():
    assert O.makespan([500, 500, 500], 2) == 1000
    assert O.makespan([500, 500, 500], 3) == 500
    assert O.makespan([300, 200, 200, 100], 2) == 400
    assert O.makespan([5, 4, 3], 1) == 12 and O.makespan([], 4) == 0


def test_nice_ceil():
    assert O._nice_ceil(1.199) == 2.0
    assert O._nice_ceil(2.2) == 2.5
    assert O._nice_ceil(0.3) == 0.5
    assert O._nice_ceil(7) == 10 and O._nice_ceil(50) == 50


def test_score_parts_by_hand():
    run = {"success_rate": 0.8, "median_ms": 2000.0, "p50_ms": 1000.0, "p95_ms": 2750.0}
    sugg = [
        O.Suggestion("parallelize", "performance", "t", "d", {}, 25, "low", 5, {}, gain_ms=500.0),
        O.Suggestion("llm_cache", "cost", "t", "d", {}, 25, "low", 3, {}, cost_saving_usd=0.02),
        O.Suggestion("retry", "reliability", "t", "d", {}, 10, "low", 4, {}, success_gain=10.0),
    ]
    p = O.score_parts(run, sugg, llm_cost=0.08)
    assert p["P_performance_savings_share"] == 0.25  # 500 / 2000
    assert p["T_tail_factor"] == 0.5  # (4 - 2.75) / 2.5
    assert p["C_avoidable_llm_cost_share"] == 0.25  # 0.02 / 0.08
    # 40*0.8 + 30*0.75 + 15*0.5 + 15*0.75 = 32 + 22.5 + 7.5 + 11.25
    assert p["score"] == 73
    # potential: S = 0.9, P = C = 0: 36 + 30 + 7.5 + 15 = 88.5, rounded half up
    assert p["potential_score"] == 89
    perfect = O.score_parts({"success_rate": 1.0, "median_ms": 1000, "p50_ms": 1000, "p95_ms": 1200}, [], 0.0)
    assert perfect["score"] == 100 and perfect["potential_score"] == 100
