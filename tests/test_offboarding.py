"""Staff offboarding and the station PIN, on the real processes: a deactivated physio's
badge is gone from the roster at the next pull and unlocks nothing; a staff badge alone
(a cloned UID) does not unlock the station without its holder's PIN."""
import time

import pytest
import requests

from common.db import connect
from devices.card import CardProcess
from devices.reader import DEBOUNCE_SECONDS
from kiosk import station, store
from tests.support.live import PASSWORD, Kiosk, auth, screenshot, wait_for

PHYSIO_BADGE = "0102030405060AAA"
PIN = "975310"


def roster(admin, token, since=0):
    r = requests.get(f"{admin.url}/api/v1/sync/roster", params={"since": since}, headers=auth(token), timeout=10)
    assert r.ok
    return r.json()


@pytest.fixture
def physio(live_admin):
    """A physio with a staff badge and a PIN, logged in on the staff site, with an API token."""
    admin = live_admin
    admin.flask("create-user", "fysio@example.test", "--role", "physio", "--password-stdin", input=PASSWORD + "\n")
    admin.flask("assign-staff-badge", "fysio@example.test", PHYSIO_BADGE)
    admin.set_pin("fysio@example.test", PIN)
    token = admin.flask("create-token", "fysio@example.test").strip().splitlines()[-1]
    return admin, admin.staff_site("fysio@example.test"), token


@pytest.fixture
def station_kiosk(physio, procs, tmp_path):
    """An intake station (reader, screen, sync) that knows the physio's badge and PIN."""
    admin = physio[0]
    kiosk = Kiosk(procs, tmp_path, admin, role="station")
    store.open_db(kiosk.db).close()
    kiosk.start_sync()
    kiosk.start_reader()
    kiosk.start_screen()
    kiosk.wait_reader_ok()
    wait_for(lambda: kiosk.db_rows("SELECT 1 FROM roster_badges WHERE uid = ? AND pin_hash IS NOT NULL",
                                   PHYSIO_BADGE), 20, message="the physio's badge and PIN on the station")
    card = CardProcess(kiosk.env["KIOSK_NFC"])
    yield kiosk, card
    card.close()


def test_deactivate_user_ends_logins_tokens_and_the_badge_at_the_next_roster_pull(physio, station_kiosk):
    admin, site, token = physio
    kiosk, card = station_kiosk
    assert kiosk.db_rows("SELECT staff_role FROM roster_badges WHERE uid = ?", PHYSIO_BADGE) == [
        {"staff_role": "physio"}]
    out = admin.flask("deactivate-user", "fysio@example.test")
    assert "deactivated" in out
    wait_for(lambda: kiosk.db_rows("SELECT staff_id FROM roster_badges WHERE uid = ?", PHYSIO_BADGE) == [
        {"staff_id": None}], timeout=45, message="the station to drop the staff badge")
    # The roster never carries the deactivated staff member: a bare UID, heard as "inactive".
    everything = roster(admin, admin.station_token())
    assert [b for b in everything["badges"] if b["uid"] == PHYSIO_BADGE] == [{"uid": PHYSIO_BADGE, "inactive": True}]
    assert not [b for b in everything["badges"] if b.get("staff_id")] and "pin_hash" not in str(everything)
    card.tap(PHYSIO_BADGE)
    wait_for(lambda: kiosk.db_rows("SELECT result FROM local_checkins ORDER BY id DESC LIMIT 1"),
             message="the tap on the station")
    # No PIN asked, nothing unlocked: to the station it is a badge like any other now.
    assert kiosk.db_rows("SELECT result FROM local_checkins ORDER BY id DESC LIMIT 1") == [{"result": "locked"}]
    assert station.state(connect(kiosk.db), 300)["locked"]
    # Logins and API tokens are dead too.
    r = site.get(f"{admin.url}/account", allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"].endswith("/login")
    r = requests.get(f"{admin.url}/api/v1/participants/1/measurements", headers=auth(token), timeout=10)
    assert r.status_code == 401
    r = requests.post(f"{admin.url}/login", data={"email": "fysio@example.test", "password": PASSWORD},
                      allow_redirects=False, timeout=10)
    assert r.status_code == 401


def test_a_role_change_reaches_the_kiosks_and_a_former_physio_unlocks_nothing(physio):
    admin, _site, _token = physio
    since = roster(admin, admin.station_token())["version"]
    beheer = admin.staff_site("beheer@example.test")
    staff_id = connect(admin.db).execute("SELECT id FROM staff WHERE email = 'fysio@example.test'").fetchone()[0]
    r = beheer.post(f"{admin.url}/staff/{staff_id}", data={"csrf_token": beheer.csrf, "name": "", "phone": "",
                                                            "role": "lifecoach", "active": "1"}, timeout=10)
    assert r.ok
    changes = roster(admin, admin.station_token(), since)["badges"]
    assert changes == [{"uid": PHYSIO_BADGE, "staff_id": staff_id, "staff_role": "lifecoach"}]  # no PIN either
    conn = store.open_db(admin.db.parent / "station.sqlite")
    store.apply_roster(conn, roster(admin, admin.station_token()))
    assert station.tap(conn, PHYSIO_BADGE, 300)["result"] == "locked"


@pytest.mark.browser
def test_the_station_asks_the_pin_after_the_staff_badge_and_locks_the_badge_after_three_wrong_ones(
        physio, station_kiosk, page_at):
    admin, _site, _token = physio
    kiosk, card = station_kiosk
    page = page_at(800, 480)
    page.goto(kiosk.url)
    page.wait_for_selector("text=Houd je medewerkerspas tegen de lezer")
    card.tap(PHYSIO_BADGE)
    page.wait_for_selector("form.pin")
    assert page.evaluate("document.documentElement.scrollWidth <= 800 && document.documentElement.scrollHeight <= 480")
    assert page.is_visible(".keypad .ok")
    screenshot(page, "station-pin-800x480")
    # Still locked: no names, no instruments, until the PIN is right.
    hx = {"HX-Request": "true"}
    assert requests.post(f"{kiosk.url}/station/find", data={"first_name": "A"}, headers=hx).status_code == 403
    assert requests.post(f"{kiosk.url}/station/command", data={"instrument": "scale"}, headers=hx).status_code == 403
    for left in ("nog 2 pogingen", "nog 1 poging"):
        for digit in "1111":
            page.click(f"[data-pin-key='{digit}']")
        page.click(".keypad .ok")
        page.wait_for_selector(f"text={left}")
    screenshot(page, "station-pin-wrong-800x480")
    page.fill("input[name=pin]", "2222")
    page.click(".keypad .ok")
    page.wait_for_selector("text=te veel foute pincodes")
    assert page.is_visible("text=Houd je medewerkerspas tegen de lezer")
    # The badge is locked for a while: a new tap does not even ask for the PIN.
    time.sleep(DEBOUNCE_SECONDS + 0.5)
    card.tap(PHYSIO_BADGE)
    page.wait_for_selector(".notice-pin_locked")
    assert not page.is_visible("form.pin")
    assert requests.post(f"{kiosk.url}/station/find", data={"first_name": "A"}, headers=hx).status_code == 403
    # After the lock (shortened here), badge and right PIN unlock the station.
    conn = connect(kiosk.db)
    conn.execute("UPDATE pin_failures SET locked_until = 0")
    conn.close()
    time.sleep(DEBOUNCE_SECONDS + 0.5)
    card.tap(PHYSIO_BADGE)
    page.wait_for_selector("form.pin")
    for digit in PIN:
        page.click(f"[data-pin-key='{digit}']")
    page.click(".keypad .ok")
    page.wait_for_selector("text=Wie meten we?")
    r = requests.post(f"{kiosk.url}/station/find", data={"first_name": "Anoe"}, headers=hx)
    assert r.status_code == 200 and "Anoeshka" in r.text


def test_a_badge_without_a_pin_does_not_unlock(tmp_path):
    conn = store.open_db(tmp_path / "kiosk.sqlite")
    conn.execute("INSERT INTO roster_badges(uid, staff_id, staff_role) VALUES (?, 7, 'physio')", (PHYSIO_BADGE,))
    assert station.tap(conn, PHYSIO_BADGE, 300)["result"] == "no_pin"
    with pytest.raises(station.PinRefused):
        station.enter_pin(conn, "", 300)
    assert station.state(conn, 300)["locked"]


def test_the_pin_is_stored_hashed_and_only_sent_to_stations(physio):
    admin, site, _token = physio
    (stored,) = connect(admin.db).execute("SELECT pin_hash FROM staff WHERE email = 'fysio@example.test'").fetchone()
    assert stored.startswith("scrypt$") and PIN not in stored
    staff_id = connect(admin.db).execute("SELECT id FROM staff WHERE email = 'fysio@example.test'").fetchone()[0]
    checkin_roster = roster(admin, admin.kiosk_token)
    assert [b for b in checkin_roster["badges"] if b["uid"] == PHYSIO_BADGE] == [
        {"uid": PHYSIO_BADGE, "staff_id": staff_id, "staff_role": "physio"}]
    (on_station,) = [b for b in roster(admin, admin.station_token())["badges"] if b["uid"] == PHYSIO_BADGE]
    assert on_station["pin_hash"] == stored
    r = site.post(f"{admin.url}/account/pin", data={"csrf_token": site.csrf, "current_password": PASSWORD,
                                                     "pin": "12ab", "repeat_pin": "12ab"})
    assert r.status_code == 422 and "4 tot 8 cijfers" in r.text
    r = site.post(f"{admin.url}/account/pin", data={"csrf_token": site.csrf, "current_password": "wrong",
                                                     "pin": "1234", "repeat_pin": "1234"})
    assert r.status_code == 422
    assert connect(admin.db).execute("SELECT pin_hash FROM staff WHERE email = 'fysio@example.test'").fetchone()[0] \
        == stored
