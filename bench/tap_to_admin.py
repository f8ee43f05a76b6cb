"""Tap → admin attendance: how soon a tap committed at a kiosk shows in
GET /api/v1/attendance, with the kiosk's real sync process running (heartbeat 5 s as in
production) and the admin under gunicorn as in production. Target: p95 ≤ 1 s.

This process plays the reader: it calls kiosk.store.capture_tap() on the kiosk database —
the function the reader process calls after nfcpy's callback — so the clock starts just
before the tap's one local transaction. From then on everything is the product's: the
sync process notices the commit (SQLite data_version), pushes, the admin ingests. One
client polls the attendance back to back (keep-alive) and the clock stops when an answer
shows the participant present; so the figure includes up to one attendance request of
polling granularity, which is why the baseline is one such request on the idle admin.
Taps are 0.3-1.2 s apart at random, so they do not keep step with the heartbeat. The
programme is small (one group in session, one person per tap): the size of the attendance
computation is measured by attendance_view, not here.
"""
import random
import time

import requests

from kiosk import store

from ._procs import Processes, ms_since, programme_with_kiosk, timed_get
from ._stats import row, summary

PATH = "tap → admin attendance"
TARGET_MS = 1000


def run(ctx):
    """Tap one person after another and wait for each on the admin; returns table rows."""
    taps = 10 if ctx.quick else 30
    workdir = ctx.folder("tap_to_admin")
    procs = Processes(workdir)
    conn = None
    try:
        names = [f"Deelnemer{i:02d}" for i in range(taps)]
        admin, kiosk = programme_with_kiosk(procs, workdir, names)
        kiosk.start_sync()
        kiosk.wait_roster()
        conn = store.open_db(kiosk.db)
        http = requests.Session()
        http.headers["Authorization"] = f"Bearer {admin.token}"
        url = admin.url + "/api/v1/attendance"
        idle = [timed_get(http, url)[1] for _ in range(20)]
        latencies, polls = [], 0
        for name in names:
            time.sleep(random.uniform(0.3, 1.2))
            person = admin.people[name]
            start = time.perf_counter()
            tap = store.capture_tap(conn, person["uid"])
            if tap["result"] not in ("on_time", "late"):
                raise RuntimeError(f"the kiosk judged the tap {tap['result']}")
            while not _shows_present(http.get(url, timeout=10).json(), person["id"]):
                polls += 1
                if ms_since(start) > 15000:
                    raise RuntimeError("a tap did not reach the admin's attendance within 15 s")
            latencies.append(ms_since(start))
        figures = summary(latencies)
        return [row(PATH, f"capture_tap → present in GET /api/v1/attendance, {taps} taps, p95", "ms", latencies,
                    baseline=summary(idle)["median"], target="p95 ≤ 1 s", ok=figures["p95"] <= TARGET_MS,
                    note=f"baseline: one attendance request on the idle admin; {polls} polls saw nothing yet")]
    finally:
        if conn is not None:
            conn.close()
        procs.stop("sync-checkin")
        procs.stop_all()


def _shows_present(answer, participant_id):
    return any(p["participant_id"] == participant_id and p["status"] in ("present", "late")
               for session in answer["sessions"] for p in session["participants"])
