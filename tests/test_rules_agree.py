"""The kiosk's greeting and the admin's attendance come from one rule (common.schedule):
the same taps, around start + grace and where two sessions meet, judged on both sides.
The kiosk's clock stands still at each instant (FITWERK_CLOCK_FROZEN_AT); everything
else is real: the kiosk's database and sync code, the admin under gunicorn."""
from datetime import datetime, timedelta

from common.db import connect
from devices.card import CardProcess
from kiosk import store
from kiosk.sync import Syncer
from tests.support.live import TZ, LiveAdmin, attendance, registered_long_ago, tap_with_clock_at, wait_for

MORNING = {"weekday": 0, "start": "09:00", "end": "12:00"}
AFTERNOON = {"weekday": 0, "start": "13:00", "end": "16:00"}
GRACE = 10


def a_past_monday():
    """A Monday inside the programme LiveAdmin sets up (it started 14 days ago)."""
    first = datetime.now(TZ).date() - timedelta(days=14)
    return first + timedelta(days=-first.weekday() % 7)


def local(day, hh, mm, ss=0, micro=0):
    return datetime(day.year, day.month, day.day, hh, mm, ss, micro, tzinfo=TZ)


# Who taps when (local time on the Monday), what the kiosk says, and the admin's status
# in the morning and afternoon session. 09:10:00.000400 is written as 09:10:00.000.
TAPS = [
    ("Vroeg", (7, 59, 59, 999_000), "no_session", None, None),
    ("Uur", (8, 0, 0, 0), "on_time", "present", None),
    ("Grens", (9, 10, 0, 0), "on_time", "present", None),
    ("Onder", (9, 10, 0, 400), "on_time", "present", None),
    ("Milli", (9, 10, 0, 1000), "late", "late", None),
    ("Twaalf", (12, 0, 0, 0), "late", "late", None),
    ("Middag", (12, 0, 0, 1000), "on_time", None, "present"),
    ("Marge", (13, 10, 0, 0), "on_time", None, "present"),
    ("Laat", (13, 10, 1, 0), "late", None, "late"),
]


def test_kiosk_and_admin_judge_the_same_taps_the_same_way(procs, tmp_path, monkeypatch):
    admin = LiveAdmin(procs, tmp_path).setup_programme(people=[t[0] for t in TAPS], grace=GRACE,
                                                       sessions=[MORNING, AFTERNOON])
    registered_long_ago(admin)
    day = a_past_monday()
    conn = store.open_db(tmp_path / "kiosk.sqlite")
    syncer = Syncer(conn, admin.url, admin.kiosk_token)
    syncer.pull_roster()
    monkeypatch.setenv("FITWERK_CLOCK_SYNCED", "1")
    greeted = {}
    for name, hms, *_ in TAPS:
        monkeypatch.setenv("FITWERK_CLOCK_FROZEN_AT", local(day, *hms).isoformat())
        greeted[name] = store.capture_tap(conn, admin.people[name]["uid"])["result"]
    assert syncer.push() == 0
    statuses = attendance(admin, day)
    for name, _hms, kiosk_says, morning, afternoon in TAPS:
        assert greeted[name] == kiosk_says, name
        for start, wanted in (("09:00", morning), ("13:00", afternoon)):
            got = statuses[(name, start)]
            assert got == wanted if wanted else got not in ("present", "late"), (name, start, got)


def test_a_real_tap_at_exactly_start_plus_grace_is_on_time_at_the_kiosk_and_present_at_the_admin(
        procs, tmp_path, make_kiosk):
    """Through the emulated badge, the reader and sync processes and gunicorn; the reader's
    clock stands at start + grace exactly, then one second later for the second person."""
    admin = LiveAdmin(procs, tmp_path).setup_programme(people=("Anoeshka", "Mohamed"), grace=GRACE,
                                                       sessions=[MORNING])
    registered_long_ago(admin)
    day = a_past_monday()
    kiosk = make_kiosk(admin)
    kiosk.start_sync()
    kiosk.wait_roster(badges=2)
    deadline = local(day, 9, 0) + timedelta(minutes=GRACE)
    with CardProcess(kiosk.env["KIOSK_NFC"]) as card:
        for name, at, kiosk_says, admin_says in (("Anoeshka", deadline, "on_time", "present"),
                                                 ("Mohamed", deadline + timedelta(seconds=1), "late", "late")):
            row = tap_with_clock_at(kiosk, card, name, admin.people[name]["uid"], at)
            assert row["result"] == kiosk_says and datetime.fromisoformat(row["at"]) == at
            wait_for(lambda name=name, says=admin_says: attendance(admin, day).get((name, "09:00")) == says, timeout=20,
                     message=f"{name} {admin_says} on the admin")
            kiosk.stop_reader()
            conn = connect(admin.db)
            try:
                (stored,) = conn.execute("SELECT at, time_source FROM checkins WHERE participant_id = ?",
                                         (admin.people[name]["id"],)).fetchall()
            finally:
                conn.close()
            assert datetime.fromisoformat(stored["at"]) == at and stored["time_source"] == "synced"
