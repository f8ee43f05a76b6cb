"""Kiosk footprint: resident memory of the kiosk's three processes and their start-up time.
Targets: ≤ 150 MB together, ≤ 3 s from start to ready.

Each run starts the screen (gunicorn as in systemd/fitwerk-kiosk-screen.service: one gthread
worker, 8 threads), the reader (`flask --app kiosk reader`, on nfcpy's udp: link) and the
sync process (`flask --app kiosk sync`, against the admin under gunicorn) at the same moment,
as the systemd target does, over a kiosk database made beforehand (as `init-db` at
installation). Ready is the last of: the screen answers /status.json, the reader has
recorded state `ok`, the sync process has recorded that it reached the server — each
watched every 20 ms. On the udp: link the reader reports `ok` only after its first poll
round, which waits about 1 s for a card that is not there (a USB reader answers in
milliseconds), so the reader's figure is an upper bound.

Memory is read after ready, the screen having served its page and status a few times:
RSS summed over gunicorn's master and worker, the reader and the sync process (shared
library pages count once per process, so this overstates), and PSS (shared pages divided
among the processes that map them) in the note. Baselines: the same number of bare
`python -c "import flask"` interpreters (RSS × 4), and the wall time of one of them.
"""
import subprocess
import sys
import time

import requests

from common.db import connect
from kiosk import store

from ._procs import BIN, BenchAdmin, Processes, kiosk_in, memory_mb, tree
from ._stats import percentile, row, summary

PATH = "kiosk footprint"
NAMES = ("screen-checkin", "reader-checkin", "sync-checkin")
MEMORY_TARGET_MB, START_TARGET_S = 150, 3.0


def run(ctx):
    """Start the kiosk `runs` times; returns the memory and start-up rows."""
    runs = 2 if ctx.quick else 5
    workdir = ctx.folder("footprint")
    procs = Processes(workdir)
    ready, parts, rss, pss, per_process = [], {"screen": [], "reader": [], "sync": []}, [], [], {}
    try:
        admin = BenchAdmin(procs, workdir).setup_programme()
        for n in range(runs):
            kiosk = kiosk_in(procs, workdir / f"kiosk-{n}", admin.url, admin.kiosk_token)
            store.open_db(kiosk.db).close()
            times = _start(procs, kiosk)
            ready.append(max(times.values()))
            for name, seconds in times.items():
                parts[name].append(seconds)
            for path in ("/", "/status.json", "/idle", "/status-corner"):
                requests.get(kiosk.url + path, timeout=10)
            time.sleep(1)
            total_rss = total_pss = 0
            for name in NAMES:
                one_rss, one_pss = memory_mb(tree(procs.procs[name].pid))
                per_process.setdefault(name, []).append(one_rss)
                total_rss, total_pss = total_rss + one_rss, total_pss + one_pss
            rss.append(total_rss)
            pss.append(total_pss)
            for name in NAMES:
                procs.stop(name)
        bare_rss, bare_start = _bare_python()
        processes = 4  # gunicorn master + worker, reader, sync
        split = ", ".join(f"{name.split('-')[0]} {summary(v)['median']:.0f} MB" for name, v in per_process.items())
        return [
            row(PATH, f"resident memory of screen + reader + sync (RSS), {runs} runs", "MB", rss,
                baseline=bare_rss * processes, target="≤ 150 MB", ok=percentile(rss, 100) <= MEMORY_TARGET_MB,
                note=f"{split}; PSS together {summary(pss)['median']:.0f} MB; baseline {processes} × bare "
                     f"python+flask ({bare_rss:.0f} MB each); ok? judged on the largest run"),
            row(PATH, f"start-up to ready (all three), {runs} runs", "s", ready, baseline=bare_start,
                target="≤ 3 s", ok=percentile(ready, 100) <= START_TARGET_S,
                note="medians: " + ", ".join(f"{k} {summary(v)['median']:.2f} s" for k, v in parts.items()) +
                     "; the reader's includes nfcpy's first 1 s udp: poll round; baseline: "
                     "`python -c 'import flask'`; ok? judged on the slowest run"),
        ]
    finally:
        procs.stop_all()


def _start(procs, kiosk):
    """Start the three processes at once; seconds until each was ready."""
    start = time.monotonic()
    kiosk.start_reader()
    kiosk.start_sync()
    procs.start("screen-checkin", [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{kiosk.port}", "--workers", "1", "--worker-class",
                                   "gthread", "--threads", "8", "--graceful-timeout", "1", "kiosk:create_app()"],
                kiosk.env)
    times = {}
    conn = None
    while len(times) < 3:
        elapsed = time.monotonic() - start
        if elapsed > 60:
            raise RuntimeError(f"kiosk not ready after 60 s: ready so far {sorted(times)}")
        if "screen" not in times and _answers(kiosk.url):
            times["screen"] = time.monotonic() - start
        if conn is None and kiosk.db.exists():
            conn = connect(kiosk.db)
        if conn is not None:
            if "reader" not in times and (store.get_status(conn, "reader") or {}).get("state") == "ok":
                times["reader"] = time.monotonic() - start
            if "sync" not in times and (store.get_status(conn, "sync") or {}).get("server_reachable"):
                times["sync"] = time.monotonic() - start
        time.sleep(0.02)
    conn.close()
    return times


def _answers(url):
    try:
        return requests.get(url + "/status.json", timeout=0.5).ok
    except requests.RequestException:
        return False


def _bare_python():
    """(RSS in MB of an idle interpreter that imported flask, seconds to run `import flask`)."""
    starts = []
    for _ in range(3):
        begun = time.monotonic()
        subprocess.run([sys.executable, "-c", "import flask"], check=True)
        starts.append(time.monotonic() - begun)
    idle = subprocess.Popen([sys.executable, "-c", "import flask, sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        time.sleep(1.5)
        bare_rss, _pss = memory_mb([idle.pid])
    finally:
        idle.stdin.close()
        idle.wait(10)
    return bare_rss, summary(starts)["median"]
