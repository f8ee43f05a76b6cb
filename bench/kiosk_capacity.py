"""Kiosk capacity: how many kiosks one admin server on SQLite carries. N emulated kiosks
push a heartbeat every 5 s, a tap now and then (one per kiosk per minute on average,
pushed at once) and pull the roster every 30 s, as the sync process does; meanwhile 20
staff boards poll every second (staff_load's clients). N grows step by step (100, 250,
500, 750, 1000, 1500, 2000, 3000, 4000; 100, 250, 500 with --quick), 40 s per step (12 s with
--quick), until a step misses the target: p99 ≤ 250 ms over every request and no errors.
The ceiling is the largest N that met it.

The kiosks are emulated in this process, one thread each, because 2,000 real sync
processes do not fit in one machine's memory; each request is the body the real sync
process sends (kiosk.sync.Syncer.push / pull_roster), on a fresh connection, timed from
connect to the last byte. Kiosks are registered with `add-kiosk`, two per gym at
N/2 locations of their own; taps are badges of today's participants (so the board
changes) and, once those are used, unknown badges. Each kiosk pulls its whole roster
once before the steps (not timed), as an installed kiosk has. The admin runs under
gunicorn as in bench/_procs.py, over the year-of-history dataset (bench/_dataset.py).
The load generator shares this machine's two cores with the server, so the ceiling is
a lower bound of what the server alone would carry.
"""
import http.client
import json
import os
import random
import threading
import time
import uuid
from pathlib import Path

from common.clock import iso

from . import _dataset
from ._procs import BenchAdmin, Processes, ms_since, tree
from ._stats import percentile, row, summary
from .staff_load import Client

PATH = "kiosk capacity"
BOARDS = 20
HEARTBEAT_S, ROSTER_S, TAP_EVERY_S = 5.0, 30.0, 60.0
P99_TARGET_MS, GOAL = 250, 500
STEPS, QUICK_STEPS = (100, 250, 500, 750, 1000, 1500, 2000, 3000, 4000), (100, 250, 500)


def run(ctx):
    """Step N up until the target is missed; returns one row per step and the ceiling."""
    steps, seconds = (QUICK_STEPS, 12) if ctx.quick else (STEPS, 40)
    info = _dataset.for_run(ctx)
    workdir = ctx.folder("kiosk_capacity")
    procs = Processes(workdir)
    try:
        db = _dataset.copy(info, workdir / "admin.sqlite")
        admin = BenchAdmin(procs, workdir, db=db)
        admin.start()
        boards = [Client(admin, admin.staff_session(info["board_email"])) for _ in range(BOARDS)]
        badges = Badges([uid for uid, _location, _started in info["today_people"]])
        rows, ceiling, kiosks = [], None, []
        for n in steps:
            # Kiosks for this step, registered and with their roster before the clock runs,
            # as installed kiosks are; only the increments are timed.
            for i, token in enumerate(register(db, len(kiosks), n), start=len(kiosks)):
                kiosks.append(EmulatedKiosk(admin.port, token, i))
                kiosks[-1].pull_roster()
            result = step(kiosks[:n], boards, badges, seconds, procs)
            rows.append(result["row"])
            if not result["ok"]:
                break
            ceiling = n
        passed_all = ceiling == steps[-1]
        rows.append(row(PATH, f"ceiling: largest N with p99 ≤ {P99_TARGET_MS} ms and 0 errors (+ {BOARDS} boards)",
                        "kiosks", median=ceiling or 0, target=f"≥ {GOAL} kiosks",
                        ok=ceiling is not None and ceiling >= GOAL,
                        note=("every step met the target: the ceiling is higher than the largest step"
                              if passed_all else f"the next step ({steps[len(rows) - 1]}) missed it")))
        return rows
    finally:
        procs.stop_all()


def register(db, first, end):
    """Kiosks number `first` to `end` via the admin's add-kiosk command, two per gym; their tokens."""
    from admin import create_app
    runner = create_app({"ADMIN_DB": str(db), "SECRET_KEY": "bench"}).test_cli_runner()
    tokens = []
    for i in range(first, end):
        result = runner.invoke(args=["add-kiosk", f"gym-{i // 2 + 1:04d}-{i % 2 + 1}", "--location",
                                     f"Gym {i // 2 + 1:04d}"])
        if result.exit_code != 0:
            raise RuntimeError(f"add-kiosk: {result.output}")
        tokens.append(result.output.strip().splitlines()[-1])
    return tokens


class Badges:
    """Badges to tap: today's participants once each, then unknown badges."""

    def __init__(self, uids):
        self.uids, self.lock, self.unknown = list(uids), threading.Lock(), 0
        random.shuffle(self.uids)

    def next(self):
        with self.lock:
            if self.uids:
                return self.uids.pop()
            self.unknown += 1
            return f"0303{self.unknown:012X}"


class EmulatedKiosk:
    """What one kiosk's sync process sends: heartbeats, taps, roster pulls."""

    def __init__(self, port, token, index):
        self.port, self.index = port, index
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self.generation, self.boot_id, self.seq, self.roster_version = uuid.uuid4().hex[:16], str(uuid.uuid4()), 0, 0
        self.boot_started = time.time() - random.uniform(3600, 86400)
        self.times, self.errors, self.first_error = {"push": [], "tap": [], "roster": []}, 0, None

    def _request(self, method, path, body=None):
        """(status, body bytes, ms) of one request on a fresh connection."""
        start = time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request(method, path, body=body, headers=self.headers)
            response = conn.getresponse()
            data = response.read()
            return response.status, data, ms_since(start)
        finally:
            conn.close()

    def _timed(self, kind, method, path, body=None):
        try:
            status, data, ms = self._request(method, path, body)
        except Exception as exc:  # a refused or timed-out request is an error of the run
            self.errors += 1
            self.first_error = self.first_error or f"{kind}: {type(exc).__name__}: {exc}"[:200]
            return None
        self.times[kind].append(ms)
        if status != 200:
            self.errors += 1
            self.first_error = self.first_error or f"{kind}: HTTP {status} {data[:120]!r}"
            return None
        return data

    def pull_roster(self, kind=None):
        """GET /api/v1/sync/roster?since=<version>; untimed unless `kind`."""
        path = f"/api/v1/sync/roster?since={self.roster_version}"
        data = self._timed(kind, "GET", path) if kind else self._request("GET", path)[1]
        if data:
            self.roster_version = json.loads(data)["version"]

    def push(self, uid=None, kind="push"):
        """POST /api/v1/sync/push: a heartbeat, or one new check-in record."""
        now = time.time()
        boot_s = now - self.boot_started
        records = []
        if uid is not None:
            self.seq += 1
            records.append({"kind": "checkin", "badge_uid": uid, "result": "on_time", "wall_at": iso(now),
                            "clock_synced": True, "boot_id": self.boot_id, "boot_s": boot_s,
                            "id": str(uuid.uuid4()), "seq": self.seq})
        body = {"generation": self.generation, "boot_id": self.boot_id, "boot_s": boot_s,
                "clock": iso(now), "clock_synced": True,
                "pending": 0, "role": "checkin", "captured_through": {"boot_s": boot_s}, "records": records}
        self._timed(kind, "POST", "/api/v1/sync/push", json.dumps(body))

    def loop(self, stop, badges):
        """The sync process's rhythm until `stop`: a tap is pushed at once and counts as the heartbeat."""
        now = time.monotonic()
        next_beat = now + random.uniform(0, HEARTBEAT_S)
        next_roster = now + random.uniform(0, ROSTER_S)
        next_tap = now + random.expovariate(1 / TAP_EVERY_S)
        while not stop.wait(max(0.0, min(next_beat, next_roster, next_tap) - time.monotonic())):
            now = time.monotonic()
            if now >= next_tap:
                self.push(badges.next(), kind="tap")
                next_tap = now + random.expovariate(1 / TAP_EVERY_S)
                next_beat = time.monotonic() + HEARTBEAT_S
            elif now >= next_roster:
                self.pull_roster(kind="roster")
                next_roster = now + ROSTER_S
            elif now >= next_beat:
                self.push()
                next_beat = time.monotonic() + HEARTBEAT_S


def _cpu_s(pids):
    """User + system CPU seconds of these processes so far."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def step(kiosks, boards, badges, seconds, procs):
    """One step: `kiosks` and the boards for `seconds`; its row and whether it met the target."""
    for kiosk in kiosks:
        kiosk.times, kiosk.errors, kiosk.first_error = {"push": [], "tap": [], "roster": []}, 0, None
    for board in boards:
        board.times, board.errors, board.first_error, board.changed, board.resent = [], 0, None, 0, 0
    server = tree(procs.procs["admin"].pid)
    server_cpu, own_cpu, started = _cpu_s(server), time.process_time(), time.monotonic()
    stop = threading.Event()
    threads = [threading.Thread(target=k.loop, args=(stop, badges), daemon=True) for k in kiosks]
    threads += [threading.Thread(target=b.loop, args=(stop,), daemon=True) for b in boards]
    for thread in threads:
        thread.start()
    stop.wait(seconds)
    stop.set()
    for thread in threads:
        thread.join(15)
    elapsed = time.monotonic() - started
    server_share = (_cpu_s(server) - server_cpu) / elapsed
    own_share = (time.process_time() - own_cpu) / elapsed
    by_kind = {kind: [ms for k in kiosks for ms in k.times[kind]] for kind in ("push", "tap", "roster")}
    polls = [ms for b in boards for ms in b.times]
    everything = polls + [ms for values in by_kind.values() for ms in values]
    errors = sum(k.errors for k in kiosks) + sum(b.errors for b in boards)
    figures = summary(everything)
    ok = errors == 0 and figures["p99"] is not None and figures["p99"] <= P99_TARGET_MS
    first = next((k.first_error for k in kiosks if k.first_error), None) or next(
        (b.first_error for b in boards if b.first_error), None)

    def p99(values):
        return f"{percentile(values, 99):.0f} ms" if values else "—"
    note = (f"{len(everything) / elapsed:.0f} requests/s: {len(by_kind['push'])} heartbeats (p99 {p99(by_kind['push'])}), "
            f"{len(by_kind['tap'])} taps (p99 {p99(by_kind['tap'])}), {len(by_kind['roster'])} roster pulls "
            f"(p99 {p99(by_kind['roster'])}), {len(polls)} board polls (p99 {p99(polls)}, "
            f"{sum(b.changed for b in boards)} with new content); {errors} errors"
            + (f", first: {first}" if first else "")
            + (f"; {sum(b.resent for b in boards)} board polls resent after a closed keep-alive" if any(
                b.resent for b in boards) else "")
            + f"; CPU: server {server_share:.2f} cores, load generator {own_share:.2f} cores (of 2)")
    label = f"{len(kiosks)} kiosks + {BOARDS} boards, {seconds} s: every request"
    return {"ok": ok, "row": row(PATH, label, "ms", everything, target=f"p99 ≤ {P99_TARGET_MS} ms, 0 errors", ok=ok,
                                 note=note)}
