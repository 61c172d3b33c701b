"""The comparison table bench/run.sh prints: per scenario, each figure for each
target and its ratio to the peer. Ratios are always Latchkey / peer, so for
ceremonies/s higher is better and for p99 and CPU lower is better.
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
    ("peak RSS MiB", "rss", ""),
]


def render(med, scenarios, targets, startup):
    ours = [t for t in targets if t != "peer"]
    has_peer = "peer" in targets
    header = ["scenario", "metric"] + targets + ([f"{t}/peer" for t in ours] if has_peer else [])
    rows = [header]
    for scenario in scenarios:
        for label, key, unit in METRICS:
            cells = []
            values = {}
            for t in targets:
                m = med.get((t, scenario))
                v = None if m is None else m[key]
                if key == "rss" and v is not None:
                    v = v / 1024
                values[t] = v
                cells.append(fmt(float(v) if v is not None else None, unit))
            if has_peer:
                cells += [ratio(values[t], values["peer"]) for t in ours]
            rows.append([scenario if label == METRICS[0][0] else "", label] + cells)
        errs = [med[(t, scenario)]["errors"] for t in targets if (t, scenario) in med]
        if any(errs):
            rows.append(["", "errors"] + [str(med.get((t, scenario), {}).get("errors", "-")) for t in targets])
    rows.append(["start-up", "ms to ready"] + [fmt(startup.get(t)) for t in targets]
                + ([ratio(startup.get(t), startup.get("peer")) for t in ours] if has_peer else []))
    widths = [max(len(r[i]) if i < len(r) else 0 for r in rows) for i in range(len(header))]
    lines = []
    for n, r in enumerate(rows):
        lines.append("  ".join(c.ljust(widths[i]) if i < 2 else c.rjust(widths[i]) for i, c in enumerate(r)))
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)
