"""The kiosk after a year: 100,000 records (20,000 with --quick) captured, delivered,
acknowledged and purged by the retention, then the tap path timed against a kiosk on its
first day. Target: median tap ≤ 1.25 × day one.

The year is the product's code with the kiosk's clock moved: for each day of the past
365, FITWERK_CLOCK_SKEW_S puts the kiosk's clock on that day (FITWERK_CLOCK_SYNCED=1
keeps it a synchronised clock), store.capture_tap() records that day's share of taps
(badges of the programme's people and unknown badges), kiosk.sync.Syncer.push()
delivers them to the admin under gunicorn until the server has acknowledged them all,
and Syncer.purge() forgets what was acknowledged more than KIOSK_RETENTION_DAYS (30)
before. During the year the bench's own connection commits without fsync
(synchronous=OFF: 100,000 fsyncs would take minutes and change nothing of the database's
shape); the timed taps use the kiosk's own settings (synchronous=FULL).

Then two kiosk databases with the same roster, a fresh one (day one) and the year-old one,
take taps alternately, so noise from the shared machine falls on both alike: per database,
first taps of people in today's session (on time) and unknown badges in the same order.
Figure: capture_tap() from the call to the committed row, as the reader calls it.
"""
import os
import time
from pathlib import Path

from kiosk import store
from kiosk.sync import Syncer

from ._procs import BenchAdmin, Processes, kiosk_in, ms_since
from ._stats import row, summary

PATH = "kiosk after a year"
TARGET_RATIO = 1.25
DAYS, RETENTION_DAYS = 365, 30
PEOPLE = 60


def run(ctx):
    """Age one kiosk database by a year, then time taps on it and on a fresh one; returns rows."""
    records = 20_000 if ctx.quick else 100_000
    workdir = ctx.folder("kiosk_year")
    procs = Processes(workdir)
    saved = {key: os.environ.get(key) for key in ("FITWERK_CLOCK_SKEW_S", "FITWERK_CLOCK_SYNCED")}
    conns = []
    try:
        admin = BenchAdmin(procs, workdir)
        admin.env["SYNC_RATE_PER_MINUTE"] = "100000"   # a year's pushes come within minutes here
        admin.setup_programme(people=[f"P{i:02d}" for i in range(PEOPLE)])
        aged_kiosk = kiosk_in(procs, workdir / "aged", admin.url, admin.kiosk_token)
        fresh_kiosk = kiosk_in(procs, workdir / "fresh", admin.url, admin.kiosk_token)
        aged, fresh = store.open_db(aged_kiosk.db), store.open_db(fresh_kiosk.db)
        conns = [aged, fresh]
        syncer = Syncer(aged, admin.url, admin.kiosk_token, retention_days=RETENTION_DAYS)
        syncer.pull_roster()
        Syncer(fresh, admin.url, admin.kiosk_token).pull_roster()
        uids = [person["uid"] for person in admin.people.values()]
        day_one_size = _size(fresh_kiosk.db)

        os.environ["FITWERK_CLOCK_SYNCED"] = "1"
        aged.execute("PRAGMA synchronous=OFF")
        started, purged, pushes = time.monotonic(), 0, 0
        per_day = records // DAYS
        for day in range(DAYS):
            os.environ["FITWERK_CLOCK_SKEW_S"] = str(-(DAYS - day) * 86400)
            count = per_day + (1 if day < records % DAYS else 0)
            for i in range(count):
                # Most taps are the programme's badges (outside today's session: recorded as
                # no session / inactive), every tenth an unknown badge.
                store.capture_tap(aged, uids[i % len(uids)] if i % 10 else f"0404{day:04X}{i:08X}")
            while store.pending_count(aged):
                syncer.push()
                pushes += 1
            before = aged.execute("SELECT count(*) FROM outbox").fetchone()[0]
            syncer.purge()
            purged += before - aged.execute("SELECT count(*) FROM outbox").fetchone()[0]
        year_s = time.monotonic() - started
        os.environ["FITWERK_CLOCK_SKEW_S"] = "0"
        syncer.purge()   # today, as the sync process does every hour
        aged.execute("PRAGMA synchronous=FULL")
        assert aged.execute("PRAGMA synchronous").fetchone()[0] == 2, "the timed taps must fsync like the kiosk's"
        kept = aged.execute("SELECT count(*) FROM outbox").fetchone()[0]
        shown = aged.execute("SELECT count(*) FROM local_checkins").fetchone()[0]
        last_seq = aged.execute("SELECT max(seq) FROM outbox").fetchone()[0]

        # Today: the same taps on both, alternately.
        os.environ.pop("FITWERK_CLOCK_SKEW_S", None)
        taps = {"fresh": [], "aged": []}
        for i in range(len(uids)):
            for name, conn in (("fresh", fresh), ("aged", aged)) if i % 2 else (("aged", aged), ("fresh", fresh)):
                for uid in (uids[i], f"0505{i:012X}"):
                    start = time.perf_counter()
                    store.capture_tap(conn, uid)
                    taps[name].append(ms_since(start))
        results = {name: conn.execute("SELECT result, count(*) FROM local_checkins WHERE at >= ? GROUP BY result",
                                      (time.strftime("%Y-%m-%d", time.gmtime()),)).fetchall()
                   for name, conn in (("fresh", fresh), ("aged", aged))}
        day_one = summary(taps["fresh"])
        after = summary(taps["aged"])
        ok = after["median"] <= TARGET_RATIO * day_one["median"]
        note_year = (f"{records:,} taps, {last_seq:,} of them records (a second tap in a session records nothing), "
                     f"over {DAYS} days in {year_s:.0f} s ({pushes} pushes, every one acknowledged; "
                     f"{purged:,} purged by the {RETENTION_DAYS}-day retention); left: {kept:,} outbox rows, {shown:,} "
                     f"screen rows; database {_size(aged_kiosk.db):.1f} MB "
                     f"(day one {day_one_size:.1f} MB)")
        return [
            row(PATH, "tap on day one: capture_tap → committed row (baseline)", "ms", taps["fresh"],
                note=f"n={day_one['n']}; results {dict(results['fresh'])}"),
            row(PATH, f"tap after a year ({records:,} taps acked and purged), median vs day one", "ms",
                taps["aged"], baseline=day_one["median"], target=f"≤ {TARGET_RATIO}× day one", ok=ok,
                note=f"n={after['n']}; results {dict(results['aged'])}; {note_year}"),
        ]
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        for conn in conns:
            conn.close()
        procs.stop_all()


def _size(db):
    """Database and WAL size in MB."""
    return sum(path.stat().st_size for path in Path(db).parent.glob(Path(db).name + "*")
               if not path.name.endswith(".lock")) / 1e6
