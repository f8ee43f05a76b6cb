"""Staff load: 20 staff members watching the live board while 10 kiosks sync, for 60 s
(15 s with --quick), against the year-of-history dataset (bench/_dataset.py) and the admin
under gunicorn as in production. Target: board poll p99 ≤ 250 ms and 0 errors.

- Board clients: 20 logged-in sessions (POST /login), each polling GET /board with
  HX-Request and the `v` fingerprint it was last given, as htmx does: 1 s after the previous
  answer (a closed loop, like the browser), first poll at a random phase. A 200 carries a new
  fingerprint, which the client keeps. Latency is measured in this process per request.
- Kiosks: 10 real sync processes (`flask --app kiosk sync`, heartbeat 5 s as in
  production) at the four locations, each over its own kiosk database. This process plays
  their readers: store.capture_tap() on a kiosk database, about one tap per kiosk every
  5 s, badges of people in today's sessions at that kiosk's location — so check-ins arrive,
  statuses change and the polls get 200s with new content, not only 204s.
- Errors: a poll that fails or answers anything but 200/204 (a poll whose kept-alive
  connection the server had just closed is sent once more, as a browser does, and counted
  in the note, not as an error); a sync request the server
  answered ≥ 400 (access log); a "sync failed" in a kiosk's log; a tap not delivered
  within 30 s after the load stops.
- Baseline: the same poll from one client on the idle admin, before the kiosks start.
"""
import random
import threading
import time

import requests

from admin.board import POLL_SECONDS
from kiosk import store

from . import _dataset
from ._procs import BenchAdmin, Processes, board_version, kiosk_in, ms_since
from ._stats import percentile, row, summary

PATH = "staff load"
CLIENTS, KIOSKS = 20, 10
POLL_S, TAP_EVERY_S = float(POLL_SECONDS), 5.0  # poll as often as the board's page does
P99_TARGET_MS = 250


def run(ctx):
    """Run the load; returns table rows."""
    duration = 15 if ctx.quick else 60
    info = _dataset.for_run(ctx)
    workdir = ctx.folder("staff_load")
    procs = Processes(workdir)
    conns = []
    try:
        admin = BenchAdmin(procs, workdir, db=_dataset.copy(info, workdir / "admin.sqlite"))
        admin.token = info["admin_token"]
        admin.start()
        clients = [Client(admin, admin.staff_session(info["board_email"])) for _ in range(CLIENTS)]
        idle = []
        for _ in range(20):
            idle.append(clients[0].poll()[1])
            time.sleep(0.1)

        kiosks = [kiosk_in(procs, workdir / name, admin.url, token) for name, _location, token in info["kiosks"]]
        for i, kiosk in enumerate(kiosks):
            store.open_db(kiosk.db).close()  # as `flask --app kiosk init-db` at installation
            kiosk.start_sync(name=f"sync-{i + 1:02d}")
        for kiosk in kiosks:
            kiosk.wait_roster(timeout=90)
        conns = [store.open_db(kiosk.db) for kiosk in kiosks]
        first_line = admin.access_lines()

        stop = threading.Event()
        tapper = Tapper(conns, [location for _name, location, _token in info["kiosks"]], info["today_people"])
        threads = [threading.Thread(target=c.loop, args=(stop,), daemon=True) for c in clients]
        threads.append(threading.Thread(target=tapper.loop, args=(stop,), daemon=True))
        for thread in threads:
            thread.start()
        stop.wait(duration)
        stop.set()
        for thread in threads:
            thread.join(15)

        undelivered = _drain(conns)
        failures = [line for i in range(KIOSKS) for line in procs.log(f"sync-{i + 1:02d}").splitlines()
                    if "sync failed" in line]
        sync_failures = len(failures)
        pushes = admin.server_times("/api/v1/sync/", since=first_line)
        sync_errors = sum(1 for status, _ms in pushes if status >= 400)
        polls = [ms for c in clients for ms in c.times]
        poll_errors = sum(c.errors for c in clients)
        errors = poll_errors + sync_errors + sync_failures + undelivered
        figures = summary(polls)
        changed = sum(c.changed for c in clients)
        push_times = [ms for status, ms in admin.server_times("/api/v1/sync/push", since=first_line)]
        note = (f"{len(polls)} polls in {duration} s ({len(polls) / duration:.1f}/s; {changed} answered 200 "
                f"with new content, the rest 204); {tapper.taps} taps at {KIOSKS} kiosks; errors: "
                f"{poll_errors} polls, {sync_errors} sync answers ≥ 400, {sync_failures} 'sync failed', "
                f"{undelivered} taps undelivered; idle poll p99 {percentile(idle, 99):.0f} ms")
        if poll_errors:
            note += f"; first poll error: {next(c.first_error for c in clients if c.first_error)}"
        resent = sum(c.resent for c in clients)
        if resent:
            note += (f"; {resent} polls sent a second time after the server had closed the kept-alive "
                     f"connection ({next(c.first_reset for c in clients if c.first_reset)}), not counted as errors")
        if failures:
            note += f"; first sync failure: {failures[0][11:23]} {failures[0].split('WARNING ')[-1]}"
        return [
            row(PATH, f"board poll, {CLIENTS} clients + {KIOSKS} kiosks syncing, {duration} s", "ms", polls,
                baseline=summary(idle)["median"], target="p99 ≤ 250 ms, 0 errors",
                ok=figures["p99"] is not None and figures["p99"] <= P99_TARGET_MS and errors == 0, note=note),
            row(PATH, "sync push under that load (server time, access log)", "ms", push_times,
                note=f"n={len(push_times)} pushes (records and heartbeats)"),
        ]
    finally:
        for conn in conns:
            conn.close()
        for i in range(KIOSKS):  # the kiosks first: an admin gone before them is not their failure
            procs.stop(f"sync-{i + 1:02d}")
        procs.stop_all()


class Client:
    """One staff member's open board: polls with the fingerprint it was last given."""

    def __init__(self, admin, http):
        self.url, self.http = admin.url + "/board", http
        self.version = board_version(http.get(self.url, timeout=30).text)
        self.times, self.errors, self.changed, self.first_error = [], 0, 0, None
        self.resent, self.first_reset = 0, None

    def poll(self):
        """One poll; returns (status or None, milliseconds)."""
        start = time.perf_counter()
        for attempt in (1, 2):
            try:
                response = self.http.get(self.url, params={"v": self.version}, headers={"HX-Request": "true"},
                                         timeout=10)
                body = response.text
                break
            except requests.ConnectionError as exc:
                # A browser sends a GET again, once, when the kept-alive connection it reused
                # turns out closed by the server; so does this client, and counts it.
                if attempt == 2:
                    self.first_error = self.first_error or f"{type(exc).__name__}: {exc}"[:200]
                    return None, ms_since(start)
                self.resent += 1
                self.first_reset = self.first_reset or f"{type(exc).__name__}: {exc}"[:160]
            except Exception as exc:  # any other failure of the request is an error of the run
                self.first_error = self.first_error or f"{type(exc).__name__}: {exc}"[:200]
                return None, ms_since(start)
        ms = ms_since(start)
        if response.status_code == 200:
            self.version = board_version(body) or self.version
            self.changed += 1
        elif response.status_code != 204:
            self.first_error = self.first_error or f"HTTP {response.status_code}"
        return response.status_code, ms

    def loop(self, stop):
        """Poll POLL_S after each answer until `stop`."""
        if stop.wait(random.uniform(0, POLL_S)):
            return
        while not stop.is_set():
            status, ms = self.poll()
            self.times.append(ms)
            if status not in (200, 204):
                self.errors += 1
            stop.wait(POLL_S)


class Tapper:
    """The kiosks' readers: a tap at a random kiosk every TAP_EVERY_S / kiosks seconds."""

    def __init__(self, conns, locations, people):
        self.conns, self.locations = conns, locations
        self.pools = {}
        for uid, location, _started in people:
            self.pools.setdefault(location, []).append(uid)
        for pool in self.pools.values():
            random.shuffle(pool)
        self.taps = 0

    def loop(self, stop):
        """Tap until `stop`."""
        while not stop.wait(random.expovariate(len(self.conns) / TAP_EVERY_S)):
            i = random.randrange(len(self.conns))
            pool = self.pools[self.locations[i]]
            if pool:
                store.capture_tap(self.conns[i], pool.pop())
                self.taps += 1


def _drain(conns, timeout=30):
    """Records still pending at the kiosks after waiting up to `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pending = sum(store.pending_count(conn) for conn in conns)
        if not pending:
            return 0
        time.sleep(0.2)
    return pending
