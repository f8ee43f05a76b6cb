"""What a participant meets at the door, on the real kiosk processes and an emulated
badge, seen in headless Chromium at 800x480 and 1920x1080. Screenshots are kept."""
import time
from datetime import datetime, timedelta

import pytest

from devices.card import CardProcess
from devices.nfc import DEBOUNCE_SECONDS
from tests.support.live import TZ, Kiosk, LiveAdmin, Processes, passed_grace_slot, screenshot, wait_for

pytestmark = pytest.mark.browser
SIZES = ((800, 480), (1920, 1080))
STAFF_BADGE = "0102030405060AAA"
UNKNOWN_BADGE = "0A0B0C0D0E0F0102"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """One admin, one check-in kiosk with every situation prepared, one badge link."""
    tmp = tmp_path_factory.mktemp("kiosk-screen")
    procs = Processes(tmp)
    admin = LiveAdmin(procs, tmp).setup_programme(people=("Anoeshka", "Mohamed", "Fatima", "Henk"))
    late_slot, late_grace = passed_grace_slot()
    now = datetime.now(TZ)
    tomorrow = (now + timedelta(days=1)).weekday()
    extra = {"Kees": (late_slot, late_grace), "Sanne": ({"weekday": tomorrow, "start": "09:00", "end": "12:00"}, 10)}
    for i, (name, (slot, grace)) in enumerate(extra.items()):
        r = admin.api("POST", "/groups", json={"name": f"Groep {name}", "location": "Rotterdam-Zuid",
                                               "starts_on": (now.date() - timedelta(days=7)).isoformat(),
                                               "grace_minutes": grace, "sessions": [slot]})
        uid = f"01010501B00B{i + 1:04X}"
        pid = admin.api("POST", "/participants", json={"first_name": name, "last_name": "T",
                                                       "group_id": r.json()["id"], "badge_uid": uid}).json()["id"]
        admin.people[name] = {"id": pid, "uid": uid}
    # Henk lost his badge: the old one is revoked by giving him a new one.
    admin.api("PUT", f"/participants/{admin.people['Henk']['id']}/badge", json={"uid": "01010501B00C0001"})
    admin.flask("create-user", "fysio@example.test", "--role", "physio", "--password-stdin",
                input="correct horse battery\n")
    admin.flask("assign-staff-badge", "fysio@example.test", STAFF_BADGE)
    kiosk = Kiosk(procs, tmp, admin)
    kiosk.start_sync()
    kiosk.start_reader()
    kiosk.start_screen()
    kiosk.wait_roster(badges=7)
    kiosk.wait_reader_ok()
    card = CardProcess(kiosk.env["KIOSK_NFC"])
    yield admin, kiosk, card
    card.close()
    procs.stop_all()


@pytest.fixture
def screens(site, page_at):
    """The kiosk screen open at both sizes."""
    _admin, kiosk, _card = site
    pages = []
    for width, height in SIZES:
        page = page_at(width, height)
        page.goto(kiosk.url)
        page.wait_for_selector(".idle")
        pages.append(page)
    return pages


def tap_and_see(site, screens, uid, text, name):
    """Tap a badge; every screen shows `text`; keep a screenshot per size; return the result shown."""
    _admin, _kiosk, card = site
    card.tap(uid)
    for page, (width, height) in zip(screens, SIZES):
        page.wait_for_selector(f"text={text}", timeout=10000)
        fits = page.evaluate("document.documentElement.scrollHeight <= window.innerHeight + 1")
        assert fits, f"{name} needs scrolling at {width}x{height}"
        screenshot(page, f"kiosk-{name}-{width}x{height}")
    return screens[0].locator(".tap").get_attribute("data-result")


def test_idle_shows_the_clock_the_prompt_and_todays_sessions(site, screens):
    page = screens[0]
    assert page.locator(".clock").inner_text().count(":") == 1
    assert "Houd je pas tegen de lezer" in page.inner_text("body")
    assert "Groep B" in page.locator(".sessions").inner_text()
    for page, (width, height) in zip(screens, SIZES):
        screenshot(page, f"kiosk-idle-{width}x{height}")


def test_on_time_welcomes_by_name_with_the_session(site, screens):
    admin = site[0]
    assert tap_and_see(site, screens, admin.people["Fatima"]["uid"], "Welkom, Fatima", "on-time") == "on_time"
    assert "Groep B" in screens[0].locator(".extra").inner_text()


def test_a_second_tap_in_the_same_session_says_already_and_records_nothing(site, screens):
    admin, kiosk, _card = site
    tap_and_see(site, screens, admin.people["Anoeshka"]["uid"], "Welkom, Anoeshka", "first-tap")
    before = len(kiosk.db_rows("SELECT seq FROM outbox"))
    time.sleep(DEBOUNCE_SECONDS + 0.5)  # a deliberate second tap, not a badge held on the reader
    result = tap_and_see(site, screens, admin.people["Anoeshka"]["uid"], "Je bent al ingecheckt om", "already")
    assert result == "already"
    assert len(kiosk.db_rows("SELECT seq FROM outbox")) == before


def test_late_is_still_a_warm_welcome_and_recorded_as_late(site, screens):
    admin, kiosk, _card = site
    assert tap_and_see(site, screens, admin.people["Kees"]["uid"], "Fijn dat je er bent", "late") == "late"
    wait_for(lambda: admin.status_of("Kees") == "late", message="late on the admin")


def test_no_session_now_is_recorded_and_shows_the_next_session(site, screens):
    admin = site[0]
    assert tap_and_see(site, screens, admin.people["Sanne"]["uid"], "Je hebt nu geen sessie", "no-session") == "no_session"
    assert "09:00–12:00" in screens[0].locator(".extra").inner_text()


def test_an_unknown_badge_asks_to_come_to_the_desk_and_joins_the_enrolment_queue(site, screens):
    admin = site[0]
    result = tap_and_see(site, screens, UNKNOWN_BADGE, "Deze pas kennen we nog niet", "unknown-badge")
    assert result == "unknown_badge"
    wait_for(lambda: [b for b in admin.api("GET", "/badges/unknown").json()["badges"] if b["uid"] == UNKNOWN_BADGE],
             message="the UID in the enrolment queue")


def test_a_revoked_badge_gets_a_kind_inactive_message(site, screens):
    admin = site[0]
    assert tap_and_see(site, screens, admin.people["Henk"]["uid"], "Deze pas is niet meer actief", "inactive") == "inactive"


def test_a_staff_badge_opens_the_staff_menu_with_reader_and_sync_status(site, screens):
    assert tap_and_see(site, screens, STAFF_BADGE, "Medewerkersmenu", "staff") == "staff"
    menu = screens[0].locator(".staff-menu").inner_text()
    assert "Lezer" in menu and "Nog te versturen" in menu


def test_two_people_one_after_another_are_both_recorded_and_both_shown_in_order(site, screens):
    admin, kiosk, card = site
    card.tap(admin.people["Mohamed"]["uid"])
    tap_and_see(site, screens, admin.people["Kees"]["uid"], "Welkom, Kees", "two-people")
    assert "Welkom, Mohamed" in screens[0].locator(".recent").inner_text()
    names = [r["first_name"] for r in kiosk.db_rows("SELECT first_name FROM local_checkins ORDER BY id DESC LIMIT 2")]
    assert names == ["Kees", "Mohamed"]


def test_an_unknown_badge_works_on_the_next_tap_once_staff_assign_it(site, screens):
    admin, kiosk, card = site
    uid = "0A0B0C0D0E0F0FFF"
    tap_and_see(site, screens, uid, "Deze pas kennen we nog niet", "enrol-before")
    r = admin.api("POST", "/participants", json={"first_name": "Priya", "last_name": "K", "group_id": admin.group_id})
    admin.api("PUT", f"/participants/{r.json()['id']}/badge", json={"uid": uid})
    wait_for(lambda: kiosk.db_rows("SELECT 1 FROM roster_badges WHERE uid = ? AND participant_id IS NOT NULL", uid),
             timeout=40, message="the new badge on the kiosk")
    time.sleep(DEBOUNCE_SECONDS + 0.5)  # the same badge again: a new tap, not one still on the reader
    assert tap_and_see(site, screens, uid, "Welkom, Priya", "enrol-after") == "on_time"


def test_the_status_corner_shows_reader_and_connection(site, screens):
    corner = screens[0].locator("#status")
    wait_for(lambda: "Lezer ok" in corner.inner_text() and "Online" in corner.inner_text(), message="status corner")
