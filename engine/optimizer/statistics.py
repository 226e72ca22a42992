"""Pure statistics: quantiles, the Mann–Whitney U and Fisher exact tests, makespan, rounding."""

from __future__ import annotations

import math


def _quantile(xs: list[float], q: float) -> float | None:
    """Linear interpolation between order statistics (numpy's default, DuckDB's quantile_cont)."""
    if not xs:
        return None
    s = sorted(xs)
    pos = q * (len(s) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def median(xs: list[float]) -> float | None:
    """The median (None for no values)."""
    return _quantile(xs, 0.5)


def _ranks(values: list[float]) -> tuple[list[float], list[int]]:
    """Mid-ranks (1-based) and the sizes of tied groups."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    ties = []
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        r = (i + j) / 2 + 1
        for k in range(i, j + 1):
            ranks[order[k]] = r
        if j > i:
            ties.append(j - i + 1)
        i = j + 1
    return ranks, ties


def _u_distribution(m: int, n: int) -> list[int]:
    """Counts of arrangements giving U = 0..m·n (no ties): coefficients of the Gaussian binomial [m+n, m]_q."""
    poly = [1]
    for i in range(1, m + 1):
        # multiply by (1 - q^(n+i))
        grown = poly + [0] * (n + i)
        for k in range(len(poly)):
            grown[k + n + i] -= poly[k]
        # divide by (1 - q^i): out[k] = grown[k] + out[k-i]
        for k in range(i, len(grown)):
            grown[k] += grown[k - i]
        poly = grown[: m * n + 1] if len(grown) > m * n + 1 else grown
    return (poly + [0] * (m * n + 1))[: m * n + 1]


def mann_whitney_u(x: list[float], y: list[float]) -> dict:
    """Two-sided Mann–Whitney U test of x vs y.

    Returns u (U of x: pairs with x > y, ties counting ½), u_y, p_value, method ("exact" or "normal"),
    n_x, n_y, the rank-biserial correlation (``effect``, positive when x tends to be larger) and the
    Hodges–Lehmann shift (median of y − x over all pairs).
    """
    n1, n2 = len(x), len(y)
    if n1 == 0 or n2 == 0:
        raise ValueError("both samples need at least one value")
    ranks, ties = _ranks(list(x) + list(y))
    r1 = sum(ranks[:n1])
    u1 = r1 - n1 * (n1 + 1) / 2
    u2 = n1 * n2 - u1
    umin = min(u1, u2)
    if not ties and n1 + n2 <= 60:
        counts = _u_distribution(n1, n2)
        total = math.comb(n1 + n2, n1)
        p = min(1.0, 2 * sum(counts[: int(math.floor(umin)) + 1]) / total)
        method = "exact"
    else:
        n = n1 + n2
        mu = n1 * n2 / 2
        tie_term = sum(t**3 - t for t in ties) / (n * (n - 1)) if n > 1 else 0.0
        var = n1 * n2 / 12 * ((n + 1) - tie_term)
        if var <= 0:
            p = 1.0
        else:
            z = max(0.0, abs(u1 - mu) - 0.5) / math.sqrt(var)
            p = min(1.0, math.erfc(z / math.sqrt(2)))
        method = "normal"
    diffs = sorted(b - a for a in x for b in y)
    return {
        "u": u1,
        "u_y": u2,
        "p_value": p,
        "method": method,
        "n_x": n1,
        "n_y": n2,
        "effect": 1 - 2 * u2 / (n1 * n2),
        "hodges_lehmann": median(diffs),
    }


def fisher_exact(a: int, b: int, c: int, d: int) -> float:
    """Two-sided Fisher exact test of [[a, b], [c, d]]: the sum of tables no more likely than the observed."""
    r1, r2, c1, n = a + b, c + d, a + c, a + b + c + d
    if n == 0:
        return 1.0
    denom = math.comb(n, c1)

    def prob(k: int) -> float:
        return math.comb(r1, k) * math.comb(r2, c1 - k) / denom

    p_obs = prob(a)
    lo, hi = max(0, c1 - r2), min(r1, c1)
    return min(1.0, sum(prob(k) for k in range(lo, hi + 1) if prob(k) <= p_obs * (1 + 1e-9)))


def makespan(durations: list[float], slots: int) -> float:
    """Longest-processing-time-first greedy schedule of ``durations`` on ``slots`` parallel workers."""
    if not durations:
        return 0.0
    slots = max(1, int(slots))
    loads = [0.0] * min(slots, len(durations))
    for d in sorted(durations, reverse=True):
        i = loads.index(min(loads))
        loads[i] += d
    return max(loads)


def _nice_ceil(x: float) -> float:
    """Round up to 1, 2, 2.5 or 5 × a power of ten."""
    if x <= 0:
        return 1.0
    e = 10 ** math.floor(math.log10(x))
    for m in (1, 2, 2.5, 5, 10):
        if m * e >= x - 1e-12:
            return float(round(m * e, 6))
    return float(10 * e)


def _round(x: float) -> int:
    """Half up (Python's round() rounds 88.5 to 88)."""
    return int(math.floor(x + 0.5))
