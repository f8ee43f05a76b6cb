"""Sync: exactly once from the kiosk's outbox to the server, whatever happens between."""
import requests

from common.db import connect
from kiosk import store
from tests.support.live import tap, wait_for


def test_tap_reaches_the_server_once_and_counts_as_present(live_admin, make_kiosk):
    kiosk = make_kiosk(live_admin)
    kiosk.start_sync()
    kiosk.wait_roster()
    shown = tap(kiosk, live_admin.people["Anoeshka"]["uid"])
    assert shown["result"] == "on_time" and shown["first_name"] == "Anoeshka"
    wait_for(lambda: live_admin.status_of("Anoeshka") == "present", message="present on the server")
    assert len(live_admin.checkins()) == 1
    assert live_admin.status_of("Mohamed") == "expected"


def test_taps_while_the_server_is_down_arrive_exactly_once_when_it_returns(live_admin, make_kiosk):
    kiosk = make_kiosk(live_admin)
    kiosk.start_sync()
    kiosk.wait_roster()
    live_admin.stop()
    tap(kiosk, live_admin.people["Anoeshka"]["uid"])
    tap(kiosk, live_admin.people["Mohamed"]["uid"])
    wait_for(lambda: kiosk.db_rows("SELECT state FROM process_status WHERE name = 'sync' AND state = 'error'"),
             message="sync to notice the server is gone")
    assert store.pending_count(connect(kiosk.db)) == 2
    live_admin.start()
    wait_for(lambda: len(live_admin.checkins()) == 2, timeout=30, message="both check-ins delivered")
    wait_for(lambda: not kiosk.db_rows("SELECT seq FROM outbox WHERE acked_at IS NULL"), message="acked")
    assert len(live_admin.checkins()) == 2


def test_a_resent_push_is_a_success_and_stores_nothing_twice(live_admin, make_kiosk):
    kiosk = make_kiosk(live_admin)
    conn = store.open_db(kiosk.db)
    store.apply_roster(conn, requests.get(f"{live_admin.url}/api/v1/sync/roster",
                                          headers={"Authorization": f"Bearer {live_admin.kiosk_token}"}).json())
    store.capture_tap(conn, live_admin.people["Anoeshka"]["uid"])
    from kiosk.sync import Syncer
    syncer = Syncer(conn, live_admin.url, live_admin.kiosk_token)
    records, _after, through = syncer._batch()
    body = {"generation": "g1", "boot_id": records[0]["boot_id"], "boot_s": through, "clock": records[0]["wall_at"],
            "clock_synced": False, "pending": 0, "records": records}
    first = requests.post(f"{live_admin.url}/api/v1/sync/push", json=body,
                          headers={"Authorization": f"Bearer {live_admin.kiosk_token}"})
    again = requests.post(f"{live_admin.url}/api/v1/sync/push", json=body,
                          headers={"Authorization": f"Bearer {live_admin.kiosk_token}"})
    assert first.status_code == again.status_code == 200
    assert first.json()["acked_seq"] == again.json()["acked_seq"] == 1
    assert len(live_admin.checkins()) == 1
