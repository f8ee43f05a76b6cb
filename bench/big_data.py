"""Data at scale: the attendance view and the board over 10,000 participants and 5,000,000
check-ins (1,000,000 with --quick), as a provider running the programme for several
municipalities for years would hold. The dataset is bench/_dataset.py's (40 groups of 18
in session today) with earlier cohorts up to 10,000 people and the remaining check-ins
spread over everybody's past five years. The requests, the baseline and the targets are
bench/attendance_view.py's: each ≤ 3× a trivial request through the same gunicorn.
"""
from . import _dataset
from .attendance_view import measure

PATH = "data at scale"


def run(ctx):
    """Build (or reuse) the large dataset and measure; returns table rows."""
    checkins = 1_000_000 if ctx.quick else 5_000_000
    info = _dataset.get(ctx.cache, ctx.shared, checkins=checkins, participants=10_000)
    rows = measure(ctx, info, PATH, "big_data")
    rows[0]["note"] += f"; dataset built in {info['built_in_s']:.0f} s"
    return rows
