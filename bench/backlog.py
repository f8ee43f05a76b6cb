"""Backlog catch-up: a kiosk holding 10,000 unsent check-ins (2,000 with --quick) delivers
them to the admin. Figure: records/s from the moment they are committed in the kiosk's
outbox until the kiosk has the server's acknowledgement of the last one, through the real
sync process and the admin under gunicorn as in production. Target: ≥ 0.3 × a bare
sqlite-utils insert of the same rows, measured in the same run.

The records are written straight into the outbox in one transaction, shaped exactly as
kiosk.store.capture_tap() writes them (10,000 taps through capture_tap would take minutes
of fsyncs and say nothing about catch-up). The sync process is already running and has
pulled the roster, so it starts pushing the moment it sees the commit.

Baseline: the 10,000 rows the admin stored, read back and inserted with sqlite-utils
`insert_all` into a fresh database with the admin's schema (same indexes and unique
constraint, WAL, synchronous=FULL like the admin's connections); median of three.
"""
import json
import random
import tempfile
import time
import uuid
from pathlib import Path

from common import clock
from common import db as common_db
from common.db import transaction
from kiosk import store

from ._procs import Processes, programme_with_kiosk, wait_for
from ._stats import row, summary

PATH = "backlog catch-up"
TARGET_RATIO = 0.3


def run(ctx):
    """Fill the outbox, time the drain, time the bare insert; returns table rows."""
    records = 2_000 if ctx.quick else 10_000
    workdir = ctx.folder("backlog")
    procs = Processes(workdir)
    conn = None
    try:
        names = [f"Deelnemer{i:02d}" for i in range(18)]
        admin, kiosk = programme_with_kiosk(procs, workdir, names)
        kiosk.start_sync()
        kiosk.wait_roster()
        conn = store.open_db(kiosk.db)
        wait_for(lambda: (store.get_status(conn, "sync") or {}).get("server_reachable"), 20,
                 message="the kiosk's first sync")
        uids = [admin.people[name]["uid"] for name in names]
        first_line = admin.access_lines()
        _fill_outbox(conn, records, uids)
        start = time.perf_counter()
        while store.pending_count(conn):
            if time.perf_counter() - start > 300:
                raise RuntimeError(f"{store.pending_count(conn)} records still pending after 300 s")
            time.sleep(0.005)
        seconds = time.perf_counter() - start
        rate = records / seconds
        pushes = [ms for status, ms in admin.server_times("/api/v1/sync/push", since=first_line)
                  if status == 200]
        admin_conn = common_db.connect(admin.db)
        try:
            stored = [dict(r) for r in admin_conn.execute(
                "SELECT * FROM checkins WHERE kiosk_id = ? ORDER BY seq", (admin.kiosk_id,))]
        finally:
            admin_conn.close()
        if len(stored) != records:
            raise RuntimeError(f"the admin holds {len(stored)} of the {records} records")
        bare = [_bare_insert(stored) for _ in range(3)]
        baseline = summary(bare)["median"]
        return [
            row(PATH, f"{records:,} records from one kiosk: committed → all acknowledged", "rec/s", median=rate,
                baseline=baseline, target="≥ 0.3× bare insert", ok=rate >= TARGET_RATIO * baseline,
                note=f"{seconds:.2f} s; baseline: sqlite-utils insert_all of the same rows "
                     f"(runs: {', '.join(f'{b:,.0f}/s' for b in bare)})"),
            row(PATH, "one push of up to 500 records (server time, access log)", "ms", pushes,
                note=f"n={len(pushes)}"),
        ]
    finally:
        if conn is not None:
            conn.close()
        procs.stop("sync-checkin")
        procs.stop_all()


def _fill_outbox(conn, count, uids):
    """`count` check-ins of the past three days in the outbox, as capture_tap writes them."""
    now, boot, synced = clock.wall_epoch(), clock.boot_id(), clock.clock_synced()
    rows = []
    for n in range(count):
        wall = now - 3 * 86400 + n * (3 * 86400 / count)
        record_id = str(uuid.uuid4())
        body = {"kind": "checkin", "badge_uid": random.choice(uids), "result": "on_time",
                "wall_at": clock.iso(wall), "clock_synced": synced, "boot_id": boot,
                "boot_s": max(1.0, clock.boot_s() - (now - wall)), "id": record_id}
        rows.append((record_id, "checkin", json.dumps(body), clock.iso(wall)))
    with transaction(conn):
        conn.executemany("INSERT INTO outbox(id, kind, body_json, created_at) VALUES (?, ?, ?, ?)", rows)


def _bare_insert(stored):
    """Rows per second of sqlite-utils insert_all of `stored` into a fresh admin database."""
    import sqlite_utils

    with tempfile.TemporaryDirectory(prefix="bench-bare-") as folder:
        path = Path(folder) / "bare.sqlite"
        conn = common_db.connect(path)
        common_db.init_schema(conn, "admin")
        conn.execute("PRAGMA foreign_keys=OFF")
        # The rows point at a kiosk; give the fresh database the same one.
        conn.execute("INSERT INTO kiosks(id, name, location, token_hash, created_at) VALUES (?, 'k', 'l', 'h', 'x')",
                     (stored[0]["kiosk_id"],))
        conn.close()
        db = sqlite_utils.Database(str(path))
        db.execute("PRAGMA synchronous=FULL")
        start = time.perf_counter()
        db["checkins"].insert_all(stored)
        seconds = time.perf_counter() - start
        db.close()
    return len(stored) / seconds
