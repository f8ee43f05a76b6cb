"""Fault injection on the real processes: whatever breaks between kiosk and server,
the server ends up holding every record exactly once."""
import os
import random
import signal
import time
from datetime import datetime

import pytest

from kiosk import store
from tests.faultproxy import FaultProxy
from tests.support.live import TZ, LiveAdmin, passed_grace_slot, tap, wait_for

FAST = {"KIOSK_HTTP_TIMEOUT_S": "2", "KIOSK_HEARTBEAT_S": "1"}


def pending(kiosk):
    return len(kiosk.db_rows("SELECT seq FROM outbox WHERE acked_at IS NULL"))


def server_ids(admin):
    return sorted(c["id"] for c in admin.checkins())


def kiosk_ids(kiosk):
    return sorted(r["id"] for r in kiosk.db_rows("SELECT id FROM outbox WHERE kind = 'checkin'"))


@pytest.fixture
def proxied(live_admin, make_kiosk):
    """A kiosk whose sync process reaches the admin through a fault proxy."""
    proxy = FaultProxy(live_admin.port)
    kiosk = make_kiosk(live_admin, extra_env={**FAST, "KIOSK_ADMIN_URL": proxy.url})
    kiosk.start_sync()
    kiosk.wait_roster()
    yield kiosk, proxy
    proxy.close()


def test_server_answering_500_loses_nothing_and_delivers_once_when_it_recovers(live_admin, proxied):
    kiosk, proxy = proxied
    proxy.mode = "error500"
    for name in ("Anoeshka", "Mohamed", "Anoeshka"):
        tap(kiosk, live_admin.people[name]["uid"])
    wait_for(lambda: proxy.counts["error500"] >= 2, message="sync to meet the 500s")
    assert pending(kiosk) == 2  # the second tap of Anoeshka is "already": nothing new recorded
    proxy.mode = "pass"
    wait_for(lambda: pending(kiosk) == 0, timeout=40, message="backlog acked")
    assert server_ids(live_admin) == kiosk_ids(kiosk)


def test_a_response_lost_after_the_server_committed_is_resent_and_counted_once(live_admin, proxied):
    kiosk, proxy = proxied
    proxy.mode = "drop_response"
    tap(kiosk, live_admin.people["Anoeshka"]["uid"])
    wait_for(lambda: len(live_admin.checkins()) == 1, message="server to commit the check-in")
    wait_for(lambda: proxy.counts["drop_response"] >= 3, timeout=30, message="kiosk to resend")
    assert pending(kiosk) == 1  # the kiosk never heard the answer, so it still holds the record
    proxy.mode = "pass"
    wait_for(lambda: pending(kiosk) == 0, timeout=40, message="acked")
    assert len(live_admin.checkins()) == 1


def test_cut_and_stalled_connections_delay_but_never_duplicate_or_lose(live_admin, proxied):
    kiosk, proxy = proxied
    proxy.mode = "cut"
    tap(kiosk, live_admin.people["Anoeshka"]["uid"])
    wait_for(lambda: proxy.counts["cut"] >= 2, message="cut connections")
    proxy.mode = "stall"
    tap(kiosk, live_admin.people["Mohamed"]["uid"])
    wait_for(lambda: proxy.counts["stall"] >= 1, message="a stalled connection")
    time.sleep(2.5)  # past the sync's read timeout
    proxy.mode = "pass"
    wait_for(lambda: pending(kiosk) == 0, timeout=60, message="acked")
    assert server_ids(live_admin) == kiosk_ids(kiosk) and len(kiosk_ids(kiosk)) == 2


def kill_sync_repeatedly(live_admin, kiosk, runs, rng):
    people = list(live_admin.people.values())
    for run in range(runs):
        proc = kiosk.start_sync(name=f"sync-{run}")
        if rng.random() < 0.7:
            store_conn = store.open_db(kiosk.db)
            store.capture_tap(store_conn, people[run % len(people)]["uid"])
            store_conn.close()
        time.sleep(rng.uniform(0.05, 1.2))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(5)
    kiosk.start_sync(name="sync-final")
    wait_for(lambda: pending(kiosk) == 0, timeout=60, message="backlog acked after the kills")
    assert server_ids(live_admin) == kiosk_ids(kiosk)


def test_kill_9_of_the_sync_process_at_random_points_loses_and_doubles_nothing(live_admin, make_kiosk):
    kiosk = make_kiosk(live_admin, extra_env=FAST)
    kill_sync_repeatedly(live_admin, kiosk, 6, random.Random(7))


@pytest.mark.slow
def test_kill_9_of_the_sync_process_fifty_times(live_admin, make_kiosk):
    people = [f"Deelnemer{i}" for i in range(8)]
    admin = live_admin
    for i, name in enumerate(people):
        uid = f"0202020202{i:06X}"
        r = admin.api("POST", "/participants", json={"first_name": name, "last_name": "T",
                                                     "group_id": admin.group_id, "badge_uid": uid})
        admin.people[name] = {"id": r.json()["id"], "uid": uid}
    kiosk = make_kiosk(admin, extra_env=FAST)
    kill_sync_repeatedly(admin, kiosk, 50, random.Random(2026))


def test_a_second_sync_process_refuses_to_run(live_admin, make_kiosk):
    kiosk = make_kiosk(live_admin, extra_env=FAST)
    kiosk.start_sync()
    kiosk.wait_roster()
    second = kiosk.start_sync(name="sync-second")
    assert second.wait(20) != 0
    assert "another sync process is running" in kiosk.procs.log("sync-second")


def test_two_drainers_racing_over_one_outbox_still_store_each_record_once(live_admin, make_kiosk):
    from kiosk.sync import Syncer
    kiosk = make_kiosk(live_admin)
    conns = [store.open_db(kiosk.db) for _ in range(2)]
    syncers = [Syncer(c, live_admin.url, live_admin.kiosk_token) for c in conns]
    syncers[0].pull_roster()
    for name in ("Anoeshka", "Mohamed"):
        store.capture_tap(conns[0], live_admin.people[name]["uid"])
    for s in syncers:  # both read the same pending records before either is acked
        s.push()
    syncers[1].push()
    assert len(live_admin.checkins()) == 2 and pending(kiosk) == 0


def test_a_recreated_kiosk_database_is_a_new_stream_not_duplicates(live_admin, make_kiosk):
    kiosk = make_kiosk(live_admin, extra_env=FAST)
    kiosk.start_sync()
    kiosk.wait_roster()
    tap(kiosk, live_admin.people["Anoeshka"]["uid"])
    wait_for(lambda: pending(kiosk) == 0, message="first tap acked")
    kiosk.stop_sync()
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(f"{kiosk.db}{suffix}"):
            os.remove(f"{kiosk.db}{suffix}")
    kiosk.start_sync()
    kiosk.wait_roster()
    tap(kiosk, live_admin.people["Mohamed"]["uid"])  # seq 1 again, in a new generation
    wait_for(lambda: len(live_admin.checkins()) == 2, message="second stream delivered")
    names = {c["participant_id"] for c in live_admin.checkins()}
    assert names == {live_admin.people["Anoeshka"]["id"], live_admin.people["Mohamed"]["id"]}


@pytest.mark.parametrize("skew_s", [-90 * 86400, 86400], ids=["90-days-behind", "1-day-ahead"])
def test_a_lying_kiosk_clock_still_puts_the_check_in_on_the_real_day(live_admin, make_kiosk, monkeypatch, skew_s):
    monkeypatch.setenv("FITWERK_CLOCK_SKEW_S", str(skew_s))
    kiosk = make_kiosk(live_admin, extra_env={**FAST, "FITWERK_CLOCK_SKEW_S": str(skew_s)})
    kiosk.start_sync()
    kiosk.wait_roster()
    wait_for(lambda: kiosk.db_rows("SELECT 1 FROM meta WHERE key = 'server_offset_s'"), message="offset known")
    shown = tap(kiosk, live_admin.people["Anoeshka"]["uid"])
    assert shown["result"] == "on_time"  # the kiosk judged by the server's offset, not its own clock
    wait_for(lambda: live_admin.status_of("Anoeshka") == "present", message="present on the real day")
    (checkin,) = live_admin.checkins()
    assert checkin["time_source"] == "boot_offset"
    kiosks = live_admin.api("GET", "/kiosks").json()["kiosks"]
    assert abs(kiosks[0]["clock_offset_s"] + skew_s) < 60


def test_a_clock_that_jumps_during_a_backlog_still_counts_each_tap_for_the_real_day(live_admin, make_kiosk, monkeypatch):
    kiosk = make_kiosk(live_admin, extra_env=FAST)
    monkeypatch.setenv("FITWERK_CLOCK_SKEW_S", str(-90 * 86400))
    tap(kiosk, live_admin.people["Anoeshka"]["uid"])  # offline, no roster yet, clock 90 days behind
    monkeypatch.setenv("FITWERK_CLOCK_SKEW_S", "0")
    monkeypatch.setenv("FITWERK_CLOCK_SYNCED", "1")  # NTP arrives: the clock jumps to the truth
    tap(kiosk, live_admin.people["Mohamed"]["uid"])
    kiosk.start_sync()
    wait_for(lambda: len(live_admin.checkins()) == 2, timeout=30, message="backlog delivered")
    today = datetime.now(TZ).date().isoformat()
    assert {c["time_source"] for c in live_admin.checkins()} == {"boot_offset", "synced"}
    assert all(c["at"].startswith(today[:4]) for c in live_admin.checkins())
    assert live_admin.status_of("Anoeshka") == "present" and live_admin.status_of("Mohamed") == "present"


def test_a_record_from_an_unknown_earlier_boot_with_an_unsynced_clock_is_flagged_uncorrected(live_admin, make_kiosk, monkeypatch):
    kiosk = make_kiosk(live_admin, extra_env=FAST)
    monkeypatch.setenv("FITWERK_BOOT_ID", "a-boot-the-server-never-heard-of")
    monkeypatch.setenv("FITWERK_CLOCK_SYNCED", "0")
    conn = store.open_db(kiosk.db)
    store.capture_tap(conn, live_admin.people["Anoeshka"]["uid"])
    conn.close()
    kiosk.start_sync(env={"FITWERK_BOOT_ID": ""})  # the sync process runs in today's real boot
    wait_for(lambda: live_admin.checkins(), timeout=20, message="delivered")
    assert live_admin.checkins()[0]["time_source"] == "uncorrected"


def test_unknown_while_the_kiosk_is_silent_and_absent_once_it_has_caught_up(procs, tmp_path, make_kiosk):
    slot, grace = passed_grace_slot()
    admin = LiveAdmin(procs, tmp_path).setup_programme(slot=slot, grace=grace)
    assert admin.status_of("Anoeshka") == admin.status_of("Mohamed") == "unknown"
    kiosk = make_kiosk(admin, extra_env=FAST)
    tap(kiosk, admin.people["Anoeshka"]["uid"])  # captured while the kiosk could not reach anyone
    assert admin.status_of("Anoeshka") == "unknown"
    kiosk.start_sync()
    wait_for(lambda: admin.status_of("Mohamed") == "absent", timeout=30, message="absent once caught up")
    assert admin.status_of("Anoeshka") == "late"


def test_while_a_kiosk_holds_a_backlog_nobody_is_called_absent(procs, tmp_path, make_kiosk):
    slot, grace = passed_grace_slot()
    admin = LiveAdmin(procs, tmp_path).setup_programme(slot=slot, grace=grace)
    proxy = FaultProxy(admin.port)
    kiosk = make_kiosk(admin, extra_env={**FAST, "KIOSK_ADMIN_URL": proxy.url})
    kiosk.start_sync()
    wait_for(lambda: admin.status_of("Mohamed") == "absent", timeout=30, message="caught up")
    proxy.mode = "error500"
    time.sleep(1.5)
    # A heartbeat that fails moves nothing; the watermark stays where it was.
    assert admin.status_of("Mohamed") == "absent"
    proxy.close()
