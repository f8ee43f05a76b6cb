"""Attendance view: 40 groups × 18 people in session today, a year of history (≥ 200,000
check-ins, see bench/_dataset.py), served by the admin under gunicorn as in production
(2 workers, gthread, 16 threads). Target: median ≤ 3× a trivial request through the same
gunicorn (GET /api/v1/openapi.json, no database, no login).

Measured from one client with keep-alive, requests interleaved round-robin so noise from
the shared machine falls on all of them alike, after a warm-up round (the first
computation opens today's follow-up cases; later ones only read):

- GET /api/v1/kiosks (staff bearer token, ten rows): the fixed cost of any request that
  opens the database (connection, pragmas, token check, close) — for reading the others;
- GET /api/v1/attendance (staff bearer token): the JSON the API gives;
- GET /board: the staff board page (logged-in cookie, as a browser asks for it);
- GET /board with HX-Request and the current `v`: the poll every open board makes every
  1 s; 204 while nothing changed, which is what it answers here (no kiosk is syncing).
"""
from . import _dataset
from ._procs import BenchAdmin, Processes, board_version, timed_get
from ._stats import row, summary

PATH = "attendance view"
TARGET_RATIO = 3.0


def run(ctx):
    """Measure the three attendance requests against the trivial one; returns table rows."""
    return measure(ctx, _dataset.for_run(ctx), PATH, "attendance_view")


def measure(ctx, info, path, folder):
    """The requests above over the dataset `info`, rows labelled `path`."""
    rounds = 12 if ctx.quick else 40
    workdir = ctx.folder(folder)
    procs = Processes(workdir)
    try:
        admin = BenchAdmin(procs, workdir, db=_dataset.copy(info, workdir / "admin.sqlite"))
        admin.token = info["admin_token"]
        admin.start()
        api = {"Authorization": f"Bearer {info['admin_token']}"}
        board = admin.staff_session(info["board_email"])
        urls = {
            "trivial": (admin.url + "/api/v1/openapi.json", {}, board),
            "db": (admin.url + "/api/v1/kiosks", api, board),
            "api": (admin.url + "/api/v1/attendance", api, board),
            "board": (admin.url + "/board", {}, board),
        }
        times = {name: [] for name in (*urls, "poll")}
        statuses = {name: set() for name in times}
        version = None
        for n in range(rounds + 2):  # two warm-up rounds
            for name, (url, headers, http) in urls.items():
                response, ms = timed_get(http, url, headers=headers)
                statuses[name].add(response.status_code)
                if n >= 2:
                    times[name].append(ms)
                if name == "board":
                    version = board_version(response.text)
            response, ms = timed_get(board, admin.url + "/board", params={"v": version},
                                     headers={"HX-Request": "true"})
            statuses["poll"].add(response.status_code)
            if n >= 2:
                times["poll"].append(ms)
        baseline = summary(times["trivial"])["median"]
        sessions = admin.api("GET", "/attendance").json()["sessions"]
        people = sum(len(s["participants"]) for s in sessions)
        size = info["counts"]
        note_data = (f"{len(sessions)} sessions, {people} people today; {size['checkins']:,} check-ins, "
                     f"{size['groups']} groups, {size['participants']:,} participants in the database")
        rows = [row(path, "trivial request (baseline): GET /api/v1/openapi.json, median", "ms", times["trivial"],
                    note=f"n={rounds}, statuses {sorted(statuses['trivial'])}")]
        rows.append(row(path, "GET /api/v1/kiosks (token check + one small query), median vs trivial", "ms",
                        times["db"], baseline=baseline,
                        note="what any request that opens the database costs before its own work"))
        for name, label in (("api", "GET /api/v1/attendance, median vs trivial"),
                              ("board", "GET /board (staff page), median vs trivial"),
                              ("poll", "board poll, unchanged (HX-Request + v → 204), median vs trivial")):
            figures = summary(times[name])
            ok = figures["median"] <= TARGET_RATIO * baseline and statuses[name] <= {200, 204}
            rows.append(row(path, label, "ms", times[name], baseline=baseline, target="≤ 3× baseline", ok=ok,
                            note=f"n={rounds}, statuses {sorted(statuses[name])}" + (f"; {note_data}" if name == "api" else "")))
        return rows
    finally:
        procs.stop_all()
