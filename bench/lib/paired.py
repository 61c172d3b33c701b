"""Alternated A/B turns compared round by round (bench/ab.sh).

The VMs this runs on drift by 5-10 % between 10 s turns of one binary, so
the medians of each side over all turns can favour either side by chance
(bench/RESULTS.md, eighteenth session: the same pair of builds came out
ahead in one set of 8 rounds and behind in the next). Within a round the
two turns run back to back, so the round's own ratio B/A is what drift
spoils least: this prints, for each figure, the median of those ratios,
their range and in how many rounds B did better.
"""

import statistics

# figure -> (label, whether a higher value is better)
FIGURES = {
    "rate": ("ceremonies/s", True),
    "cpu": ("server CPU µs per ceremony", False),
    "p99": ("p99 ms", False),
}


def compare(a_turns, b_turns):
    """Per figure: (median B/A, lowest, highest, rounds B better, rounds)."""
    out = {}
    for key, (_, higher_is_better) in FIGURES.items():
        pairs = [(a[key], b[key]) for a, b in zip(a_turns, b_turns) if a[key] and b[key]]
        if not pairs:
            continue
        ratios = [b / a for a, b in pairs]
        better = sum(1 for r in ratios if (r > 1 if higher_is_better else r < 1))
        out[key] = (statistics.median(ratios), min(ratios), max(ratios), better, len(pairs))
    return out


def lines(a_turns, b_turns):
    """The comparison as printable lines."""
    rows = []
    for key, (median, low, high, better, n) in compare(a_turns, b_turns).items():
        label = FIGURES[key][0]
        rows.append(f"B/A {label}: median {median:.3f} ({low:.3f}–{high:.3f}), "
                    f"B better in {better} of {n} rounds")
    return rows
