"""Issue 4's targets checked against a run's medians, printed under
bench/run.sh's table: each figure, its target, the ratio of the two and
whether the target is met, so a run says by itself where it stands.

The targets are Latchkey's on SQLite (the default), load generator on the
same machine, concurrency 32 for the p99; ratios to the peer are of the
medians over the repetitions, like the table's `sqlite/peer` column.
`measured/target` is at least 1 where a target is a floor (>=) and at
most 1 where it is a ceiling (<=, <) when the target is met.
"""

from table import layout

SIGN_INS = ("auth-username", "auth-usernameless")
MIB = 1024  # peakRssKiB / MIB = MiB


def check(what, value, op, bound, unit=""):
    """(what, measured, target, measured / target, verdict)."""
    met = {">=": value >= bound, "<=": value <= bound, "<": value < bound}[op]
    # Four decimals for ratios: a p99 of 0.3334x the peer's (1.0002 of the
    # target, measured) must not print as 0.333x against 0.333x.
    digits = 4 if unit == "x" else 2
    return (what, f"{value:,.{digits}f}{unit}", f"{op} {bound:.4g}{unit}", f"{value / bound:.4f}",
            "met" if met else "NOT MET")


def rows(med, scenarios, startup, concurrency, ours="sqlite"):
    """The target rows this run measured (a figure missing, its row too)."""
    def get(target, scenario, key):
        return (med.get((target, scenario)) or {}).get(key)

    out = []
    for s in scenarios:
        rate, peer_rate = get(ours, s, "rate"), get("peer", s, "rate")
        if s == "register" and rate is not None and peer_rate:
            out.append(check(f"{s}: ceremonies/s vs the peer", rate / peer_rate, ">=", 2, "x"))
        if s not in SIGN_INS or rate is None:
            continue
        if peer_rate:
            out.append(check(f"{s}: ceremonies/s vs the peer", rate / peer_rate, ">=", 3, "x"))
        cpu, peer_cpu = get(ours, s, "cpu"), get("peer", s, "cpu")
        out.append(check(f"{s}: server CPU per ceremony", cpu, "<=", 300, " µs"))
        if peer_cpu:
            out.append(check(f"{s}: server CPU vs the peer", cpu / peer_cpu, "<=", 0.25, "x"))
        peer_p99 = get("peer", s, "p99")
        if peer_p99 and concurrency == 32:
            out.append(check(f"{s}: p99 vs the peer", get(ours, s, "p99") / peer_p99, "<=", 1 / 3, "x"))
        out.append(check(f"{s}: peak RSS", get(ours, s, "rss") / MIB, "<", 64, " MiB"))
    if startup.get(ours) is not None:
        out.append(check("start-up to ready", startup[ours], "<", 100, " ms"))
    return out


def render(med, scenarios, startup, concurrency, ours="sqlite"):
    found = rows(med, scenarios, startup, concurrency, ours)
    if not found:
        return ""
    header = (f"targets ({ours}, medians)", "measured", "target", "measured/target", "verdict")
    return layout([header] + found, left=1)
