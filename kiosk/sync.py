"""The sync process (`flask --app kiosk sync`): the only part of the kiosk that talks to
the server. Pushes new records at once, acknowledges by the server's high-water mark,
retries with backoff, pulls the roster, sends a heartbeat, purges what is long acked."""
import fcntl
import json
import logging
import random
import signal
import threading
import time
from datetime import timedelta

import requests

from common import clock
from common.db import get_meta, set_meta, transaction
from common.protocol import MAX_RECORDS_PER_PUSH

from . import store

log = logging.getLogger("fitwerk.kiosk.sync")


class AlreadyRunning(RuntimeError):
    """Another sync process holds the lock for this database."""


def take_lock(db_path):
    """An exclusive lock next to the database: one drainer per kiosk."""
    handle = open(f"{db_path}.sync.lock", "w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise AlreadyRunning(f"another sync process is running for {db_path}") from None
    return handle


class Syncer:
    """One kiosk's drainer: `run(stop)` until the event is set."""

    def __init__(self, conn, admin_url, token, role="checkin", *, heartbeat_s=5.0, roster_s=30.0,
                 retention_days=30, timeout=(3.0, 10.0), max_backoff_s=30.0, session=None):
        self.conn, self.admin_url, self.token, self.role = conn, admin_url.rstrip("/"), token, role
        self.heartbeat_s, self.roster_s, self.timeout = heartbeat_s, roster_s, timeout
        self.retention = timedelta(days=retention_days)
        self.max_backoff_s = max_backoff_s
        self.http = session or requests.Session()
        self.http.headers["Authorization"] = f"Bearer {token}"
        self.failures = 0
        self.last_push = 0.0
        self.last_roster = 0.0
        self.last_success_at = None

    # --- one step each ---------------------------------------------------------

    def pull_roster(self):
        """Fetch roster changes since our version and apply them."""
        since = int(get_meta(self.conn, "roster_version", 0))
        response = self.http.get(f"{self.admin_url}/api/v1/sync/roster", params={"since": since},
                                 timeout=self.timeout)
        response.raise_for_status()
        store.apply_roster(self.conn, response.json())
        self.last_roster = time.monotonic()

    def _batch(self):
        # Under the write lock: every tap stamped before this moment is committed and
        # in this read, so `captured_through` is an honest delivery watermark.
        with transaction(self.conn):
            through = clock.boot_s()
            rows = self.conn.execute(
                "SELECT seq, body_json FROM outbox WHERE acked_at IS NULL ORDER BY seq LIMIT ?",
                (MAX_RECORDS_PER_PUSH,)).fetchall()
            total = store.pending_count(self.conn)
        records = [dict(json.loads(r["body_json"]), seq=r["seq"]) for r in rows]
        return records, total - len(records), through

    def push(self):
        """Send one batch (possibly empty: a heartbeat); returns the number still pending."""
        records, after, through = self._batch()
        body = {
            "generation": get_meta(self.conn, "generation"), "boot_id": clock.boot_id(),
            "boot_s": clock.boot_s(), "clock": clock.iso(clock.wall_epoch()),
            "clock_synced": clock.clock_synced(), "pending": after, "role": self.role,
            "captured_through": {"boot_s": through} if after == 0 else None, "records": records,
        }
        sent_wall = clock.wall_epoch()
        response = self.http.post(f"{self.admin_url}/api/v1/sync/push", json=body, timeout=self.timeout)
        if response.status_code >= 400:
            raise requests.HTTPError(f"server answered {response.status_code}: {response.text[:200]}",
                                     response=response)
        answer = response.json()
        acked = int(answer["acked_seq"])
        with transaction(self.conn):
            self.conn.execute("UPDATE outbox SET acked_at = ? WHERE acked_at IS NULL AND seq <= ?",
                              (clock.iso(clock.wall_epoch()), acked))
            # Server minus kiosk clock, for judging lateness before NTP syncs.
            offset = float(answer["clock_offset_s"]) - (clock.wall_epoch() - sent_wall) / 2
            set_meta(self.conn, "server_offset_s", round(offset, 3))
            set_meta(self.conn, "server_offset_boot", clock.boot_id())
        self.last_push = time.monotonic()
        self.last_success_at = clock.iso(store.best_now(self.conn))
        return store.pending_count(self.conn)

    def purge(self):
        """Forget records the server acknowledged longer ago than the retention."""
        cutoff = clock.iso(clock.wall_epoch() - self.retention.total_seconds())
        with transaction(self.conn):
            self.conn.execute("DELETE FROM local_checkins WHERE at < ?", (cutoff,))
            self.conn.execute("DELETE FROM outbox WHERE acked_at IS NOT NULL AND acked_at < ?", (cutoff,))

    # --- the loop ----------------------------------------------------------------

    def _report(self, reachable, detail=""):
        store.set_status(self.conn, "sync", "ok" if reachable else "error", detail,
                         server_reachable=reachable, last_success_at=self.last_success_at)

    def backoff_s(self):
        """Exponential backoff with jitter after `failures` failed attempts."""
        if not self.failures:
            return 0.0
        return min(self.max_backoff_s, 0.5 * 2 ** min(self.failures, 10)) * random.uniform(0.5, 1.0)

    def step(self):
        """Pull the roster if due, push what is pending; returns True when more is pending."""
        try:
            if time.monotonic() - self.last_roster >= self.roster_s or not self.last_roster:
                self.pull_roster()
            more = self.push() > 0
            if self.failures:
                log.info("server reachable again")
            self.failures = 0
            self._report(True)
            return more
        except (requests.RequestException, ValueError, KeyError) as exc:
            self.failures += 1
            log.warning("sync failed (attempt %d): %s", self.failures, type(exc).__name__)
            self._report(False, f"{type(exc).__name__}: {str(exc)[:160]}")
            return False

    def run(self, stop):
        """Drain until `stop` is set: at once on new records, else on the heartbeat."""
        seen_version = None
        next_purge = 0.0
        wait_until = 0.0
        more = False
        while not stop.is_set():
            now = time.monotonic()
            # data_version moves when another process commits (a tap), not for our own writes.
            version = self.conn.execute("PRAGMA data_version").fetchone()[0]
            changed = version != seen_version
            due = now - self.last_push >= self.heartbeat_s
            if now >= wait_until and (changed or due or more):
                seen_version = version
                more = self.step()  # a backlog goes out batch after batch, without waiting
                wait_until = time.monotonic() + self.backoff_s()
                if more:
                    continue
            if now >= next_purge:
                self.purge()
                next_purge = now + 3600
            stop.wait(0.05)


def main(app):
    """Entry point of `flask --app kiosk sync`."""
    config = app.config
    if not config.get("KIOSK_ADMIN_URL") or not config.get("KIOSK_TOKEN"):
        raise SystemExit("KIOSK_ADMIN_URL and KIOSK_TOKEN must be set")
    try:
        lock = take_lock(config["KIOSK_DB"])
    except AlreadyRunning as exc:
        raise SystemExit(str(exc)) from None
    conn = store.open_db(config["KIOSK_DB"])
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    syncer = Syncer(conn, config["KIOSK_ADMIN_URL"], config["KIOSK_TOKEN"], config["KIOSK_ROLE"],
                    heartbeat_s=float(config["KIOSK_HEARTBEAT_S"]), roster_s=float(config["KIOSK_ROSTER_S"]),
                    retention_days=int(config["KIOSK_RETENTION_DAYS"]),
                    timeout=(3.0, float(config["KIOSK_HTTP_TIMEOUT_S"])))
    log.info("sync started for %s", config["KIOSK_ADMIN_URL"])
    try:
        syncer.run(stop)
    finally:
        lock.close()
        conn.close()
