"""Figures for the benchmark table: percentiles, one row per measured path, the printed
table and bench/results/latest.json."""
import json
import math
import os
import platform
import sqlite3
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
COLUMNS = ("path", "measure", "median", "p95", "p99", "baseline", "ratio", "target", "ok?")


def percentile(values, q):
    """The q-th percentile (0-100) by linear interpolation between closest ranks, or None."""
    data = sorted(values)
    if not data:
        return None
    rank = (len(data) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return data[low] + (data[high] - data[low]) * (rank - low)


def summary(values):
    """{'n', 'median', 'p95', 'p99'} of a list of numbers."""
    return {"n": len(values), "median": percentile(values, 50), "p95": percentile(values, 95),
            "p99": percentile(values, 99)}


def row(path, measure, unit, values=None, *, median=None, baseline=None, target=None, ok=None,
        ratio_of="median", note=""):
    """One line of the table. `values` gives median/p95/p99 (else pass `median`); the ratio is
    `ratio_of` (median by default) divided by `baseline`; `ok` is None when there is no target."""
    stats = summary(values) if values is not None else {"n": 1, "median": median, "p95": None, "p99": None}
    base = stats.get(ratio_of)
    ratio = base / baseline if base is not None and baseline else None
    return {"path": path, "measure": measure, "unit": unit, **stats, "baseline": baseline, "ratio": ratio,
            "target": target, "ok": ok, "note": note}


def failed(path, error):
    """The row of a benchmark that could not finish."""
    return {"path": path, "measure": "did not finish", "unit": "", "n": 0, "median": None, "p95": None,
            "p99": None, "baseline": None, "ratio": None, "target": None, "ok": False, "note": error}


def _fmt(value, unit):
    if value is None:
        return "—"
    if unit == "ms":
        return f"{value:.1f} ms" if value < 100 else f"{value:.0f} ms"
    if unit == "s":
        return f"{value:.2f} s"
    if unit == "MB":
        return f"{value:.1f} MB"
    if unit == "rec/s":
        return f"{value:,.0f}/s"
    return f"{value:g} {unit}".strip()


def table(rows):
    """The rows as a fixed-width text table, notes below it."""
    lines = [COLUMNS]
    for r in rows:
        ok = "—" if r["ok"] is None else ("yes" if r["ok"] else "NO")
        ratio = "—" if r["ratio"] is None else f"{r['ratio']:.2f}×" if r["ratio"] >= 0.1 else f"{r['ratio']:.3f}×"
        lines.append((r["path"], r["measure"], _fmt(r["median"], r["unit"]), _fmt(r["p95"], r["unit"]),
                      _fmt(r["p99"], r["unit"]), _fmt(r["baseline"], r["unit"]), ratio, r["target"] or "—", ok))
    widths = [max(len(line[i]) for line in lines) for i in range(len(COLUMNS))]
    out = []
    for i, line in enumerate(lines):
        out.append("  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip())
        if i == 0:
            out.append("  ".join("-" * w for w in widths))
    notes = [f"[{i}] {r['path']} · {r['measure']}: {r['note']}" for i, r in enumerate(rows, 1) if r["note"]]
    legend = ["", "ratio = median ÷ baseline (for records/s: rate ÷ baseline rate); each baseline is measured "
              "in the same run, see the notes."]
    return "\n".join(out + legend + ([""] + notes if notes else []))


def machine():
    """What the figures were measured on."""
    return {"cpus": os.cpu_count(), "python": sys.version.split()[0], "sqlite": sqlite3.sqlite_version,
            "platform": platform.platform(), "load_avg": os.getloadavg()}


def write_json(rows, meta):
    """bench/results/latest.json (the folder is git-ignored and made here)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "latest.json"
    doc = {"generated_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **meta, "rows": rows}
    path.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n")
    return path
