"""The kiosk app in-process: the status contract, languages, station routes, retention."""
import json
import tomllib
from pathlib import Path

import pytest

from kiosk import create_app, store
from kiosk.sync import Syncer


@pytest.fixture
def kiosk_app(tmp_path):
    return create_app({"KIOSK_DB": str(tmp_path / "kiosk.sqlite"), "TESTING": True})


def test_status_json_follows_the_contract(kiosk_app):
    body = kiosk_app.test_client().get("/status.json").get_json()
    assert set(body) >= {"kiosk_id", "role", "reader", "instruments", "sync", "last_checkin"}
    assert set(body["reader"]) == {"state", "detail"} and body["reader"]["state"] == "missing"
    assert set(body["sync"]) == {"pending", "last_success_at", "server_reachable"}


def test_status_json_names_the_version_of_pyproject(kiosk_app):
    pyproject = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    assert kiosk_app.test_client().get("/status.json").get_json()["version"] == pyproject["project"]["version"]


def test_the_last_check_in_appears_in_status_json(kiosk_app):
    conn = store.open_db(kiosk_app.config["KIOSK_DB"])
    store.capture_tap(conn, "0A0B0C0D0E0F0102")
    last = kiosk_app.test_client().get("/status.json").get_json()["last_checkin"]
    assert last["result"] == "unknown_badge" and last["first_name"] is None and last["at"]
    assert kiosk_app.test_client().get("/status.json").get_json()["sync"]["pending"] == 1


def test_dutch_by_default_and_english_by_configuration(tmp_path):
    dutch = create_app({"KIOSK_DB": str(tmp_path / "a.sqlite")}).test_client().get("/").get_data(as_text=True)
    english = create_app({"KIOSK_DB": str(tmp_path / "b.sqlite"), "KIOSK_LANG": "en"}).test_client().get("/")
    assert "Houd je pas tegen de lezer" in dutch
    assert "Hold your badge to the reader" in english.get_data(as_text=True)


def test_an_unknown_role_is_refused_at_start(tmp_path):
    with pytest.raises(ValueError):
        create_app({"KIOSK_DB": str(tmp_path / "k.sqlite"), "KIOSK_ROLE": "gym"})


def test_station_pages_do_not_exist_on_a_check_in_kiosk(kiosk_app):
    assert kiosk_app.test_client().get("/station/panel").status_code == 404


def test_station_changes_only_come_from_the_kiosks_own_htmx_page(tmp_path):
    app = create_app({"KIOSK_DB": str(tmp_path / "s.sqlite"), "KIOSK_ROLE": "station"})
    client = app.test_client()
    assert client.post("/station/lock").status_code == 400
    assert client.post("/station/lock", headers={"HX-Request": "true"}).status_code == 200


def test_a_locked_station_says_why_it_did_nothing(tmp_path):
    client = create_app({"KIOSK_DB": str(tmp_path / "s.sqlite"), "KIOSK_ROLE": "station"}).test_client()
    htmx = {"HX-Request": "true"}
    picked = client.post("/station/select", data={"participant_id": "1"}, headers=htmx).get_data(as_text=True)
    assert 'data-locked="yes"' in picked and "het station is vergrendeld" in picked
    saved = client.post("/station/save", data={"moment": "intake"}, headers=htmx).get_data(as_text=True)
    assert 'data-locked="yes"' in saved and "geen deelnemer gekozen" in saved


def test_a_station_shows_its_own_page_at_the_root(tmp_path):
    client = create_app({"KIOSK_DB": str(tmp_path / "s.sqlite"), "KIOSK_ROLE": "station"}).test_client()
    page = client.get("/", follow_redirects=True).get_data(as_text=True)
    assert "Intakestation" in page and 'sse-connect="/station/events' in page


def test_acknowledged_records_are_purged_after_the_retention_and_pending_ones_never(tmp_path):
    conn = store.open_db(tmp_path / "kiosk.sqlite")
    for uid in ("0A0B0C0D0E0F0101", "0A0B0C0D0E0F0102"):
        store.capture_tap(conn, uid)
    conn.execute("UPDATE outbox SET acked_at = '2020-01-01T00:00:00.000+00:00' WHERE seq = 1")
    conn.execute("UPDATE local_checkins SET at = '2020-01-01T00:00:00.000+00:00'")
    Syncer(conn, "http://127.0.0.1:9", "token", retention_days=30).purge()
    assert [r["seq"] for r in conn.execute("SELECT seq FROM outbox")] == [2]


def test_a_captured_tap_carries_its_identity_and_clocks(tmp_path):
    conn = store.open_db(tmp_path / "kiosk.sqlite")
    store.capture_tap(conn, "0A0B0C0D0E0F0102")
    row = conn.execute("SELECT * FROM outbox").fetchone()
    body = json.loads(row["body_json"])
    assert row["seq"] == 1 and len(body["id"]) == 36
    assert {"wall_at", "clock_synced", "boot_id", "boot_s"} <= set(body)
    assert store.get_meta(conn, "generation")
    journal = conn.execute("PRAGMA journal_mode").fetchone()[0]
    synchronous = conn.execute("PRAGMA synchronous").fetchone()[0]
    assert journal == "wal" and synchronous == 2  # FULL
