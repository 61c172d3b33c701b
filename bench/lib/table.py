"""The comparison table bench/run.sh prints: per scenario, each figure for each
target and its ratio to the peer. Ratios are always Latchkey / peer, so for
ceremonies/s higher is better and for p99 and CPU lower is better.

Beside the ratio of the medians, each ratio column's range over the
repetitions (`by rep`): a repetition runs every target back to back, so its
own ratio cancels the drift of a shared VM, which moves all of a
repetition's figures together; the range shows how far that drift went.
"""


def fmt(value, unit=""):
    if value is None:
        return "-"
    if isinstance(value, float) and value >= 100:
        return f"{value:,.0f}{unit}"
    return f"{value:,.2f}{unit}" if isinstance(value, float) else f"{value}{unit}"


def ratio(ours, peer):
    if ours is None or not peer:
        return "-"
    return f"{ours / peer:.2f}x"


METRICS = [
    ("ceremonies/s", "rate", ""),
    ("p99 ms", "p99", ""),
    ("server CPU µs/cer", "cpu", ""),
    ("database CPU µs/cer", "dbcpu", ""),
    ("peak RSS MiB", "rss", ""),
    ("load gen CPU µs/cer", "gencpu", ""),
]


KEYS = {"rate": lambda r: r["ceremoniesPerSec"], "p99": lambda r: r["latencyMs"]["p99"],
        "cpu": lambda r: r["serverCpuUsPerCeremony"]}
# Rows that only some targets have (the database's CPU: PostgreSQL only).
OPTIONAL = {"dbcpu", "gencpu"}


def by_rep(records, scenario, target, key):
    """min–max of target/peer over the repetitions that ran both."""
    if key not in KEYS:
        return "-"
    runs = {}
    for r in records:
        if r["scenario"] == scenario and r["label"] in (target, "peer"):
            runs.setdefault(r.get("rep"), {})[r["label"]] = KEYS[key](r)
    ratios = [v[target] / v["peer"] for v in runs.values() if v.get(target) and v.get("peer")]
    if not ratios:
        return "-"
    return f"{min(ratios):.2f}–{max(ratios):.2f}x"


def render(med, scenarios, targets, startup, records=()):
    ours = [t for t in targets if t != "peer"]
    has_peer = "peer" in targets
    header = ["scenario", "metric"] + targets + (
        [f"{t}/peer" for t in ours] + [f"{t}/peer by rep" for t in ours] if has_peer else [])
    rows = [header]
    for scenario in scenarios:
        for label, key, unit in METRICS:
            cells = []
            values = {}
            for t in targets:
                m = med.get((t, scenario))
                v = None if m is None else m.get(key)
                if key == "rss" and v is not None:
                    v = v / 1024
                values[t] = v
                cells.append(fmt(float(v) if v is not None else None, unit))
            if key in OPTIONAL and all(v is None for v in values.values()):
                continue
            if has_peer:
                cells += [ratio(values[t], values["peer"]) for t in ours]
                cells += [by_rep(records, scenario, t, key) for t in ours]
            rows.append([scenario if label == METRICS[0][0] else "", label] + cells)
        errs = [med[(t, scenario)]["errors"] for t in targets if (t, scenario) in med]
        if any(errs):
            rows.append(["", "errors"] + [str(med.get((t, scenario), {}).get("errors", "-")) for t in targets])
    rows.append(["start-up", "ms to ready"] + [fmt(startup.get(t)) for t in targets]
                + ([ratio(startup.get(t), startup.get("peer")) for t in ours] + ["-" for t in ours]
                   if has_peer else []))
    return layout(rows, left=2)


def layout(rows, left):
    """Rows of cells as aligned text: the first `left` columns to the left,
    the others to the right, a rule under the header (the first row)."""
    widths = [max(len(r[i]) if i < len(r) else 0 for r in rows) for i in range(len(rows[0]))]
    lines = []
    for n, r in enumerate(rows):
        lines.append("  ".join(c.ljust(widths[i]) if i < left else c.rjust(widths[i]) for i, c in enumerate(r)))
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)
