"""The kiosk and the intake station meet WCAG 2.1 AA in every state and language, and fit
their screens: axe-core on real kiosk processes with an emulated badge, in headless Chromium
at 800x480 (the 7-inch Raspberry Pi display) and larger. A participant who reads poorly
understands a tap from its colour, an icon and one short sentence; the sound is an option."""
import time
from datetime import datetime, timedelta

import pytest

from common.i18n import LANGUAGES
from devices.card import CardProcess
from devices.nfc import DEBOUNCE_SECONDS
from tests.a11y import assert_accessible
from tests.support.live import (
    TZ,
    Kiosk,
    LiveAdmin,
    Processes,
    passed_grace_slot,
    screenshot,
    session_slot_now,
    wait_for,
)

pytestmark = pytest.mark.browser
STAFF_BADGE = "0102030405060AAA"
UNKNOWN_BADGE = "0A0B0C0D0E0F0102"
PEOPLE = ("Anoeshka", "Mohamed", "Fatima", "Henk", "Priya", "Joost")

# Each state of the check-in screen: the badges tapped to reach it (names, or a UID), and the
# result the last tap shows. A new state is a new line; every language is audited in it.
CHECKIN_STATES = [
    ("idle", (), None),
    ("on-time", ("Fatima",), "on_time"),
    ("late", ("Kees",), "late"),
    ("already", ("Anoeshka", "Anoeshka"), "already"),
    ("no-session", ("Sanne",), "no_session"),
    ("session-cancelled", ("Ruud",), "no_session"),
    ("unknown-badge", ("Mohamed", UNKNOWN_BADGE), "unknown_badge"),
    ("inactive", ("Henk",), "inactive"),
    ("staff", (STAFF_BADGE,), "staff"),
    ("two-people", ("Priya", "Joost"), "on_time"),
]


@pytest.fixture(scope="module")
def checkin(tmp_path_factory, browser):
    """An admin, a check-in kiosk (reader, sync) with one screen per language, a badge link,
    and a page per language at 800x480."""
    tmp = tmp_path_factory.mktemp("a11y-kiosk")
    procs = Processes(tmp)
    try:  # a set-up that fails half-way still stops what it started
        admin = LiveAdmin(procs, tmp).setup_programme(people=PEOPLE)
        late_slot, late_grace = passed_grace_slot()
        now = datetime.now(TZ)
        tomorrow = {"weekday": (now + timedelta(days=1)).weekday(), "start": "09:00", "end": "12:00"}
        groups = (("Kees", late_slot, late_grace), ("Sanne", tomorrow, 10), ("Ruud", session_slot_now(), 10))
        for i, (name, slot, grace) in enumerate(groups):
            r = admin.api("POST", "/groups", json={"name": f"Groep {name}", "location": "Rotterdam-Zuid",
                                                   "starts_on": (now.date() - timedelta(days=7)).isoformat(),
                                                   "grace_minutes": grace, "sessions": [slot]})
            uid = f"01010501B00B{i + 1:04X}"
            pid = admin.api("POST", "/participants", json={"first_name": name, "last_name": "T",
                                                           "group_id": r.json()["id"], "badge_uid": uid}).json()["id"]
            admin.people[name] = {"id": pid, "uid": uid, "group_id": r.json()["id"]}
        # Ruud's session today does not take place.
        r = admin.api("POST", f"/groups/{admin.people['Ruud']['group_id']}/cancellations",
                      json={"date": now.date().isoformat(), "reason": "Zaal onder water"})
        assert r.status_code == 201, r.text
        admin.api("PUT", f"/participants/{admin.people['Henk']['id']}/badge", json={"uid": "01010501B00C0001"})
        admin.flask("create-user", "fysio@example.test", "--role", "physio", "--password-stdin",
                    input="correct horse battery\n")
        admin.flask("assign-staff-badge", "fysio@example.test", STAFF_BADGE)
        # A result stays up long enough to audit it in every language.
        kiosk = Kiosk(procs, tmp, admin, extra_env={"KIOSK_RESULT_SECONDS": "120"})
        kiosk.start_sync()
        kiosk.start_reader()
        screens = {lang: kiosk.start_screen(name=f"checkin-{lang}", env={"KIOSK_LANG": lang}) for lang in LANGUAGES}
        kiosk.sound_url = kiosk.start_screen(name="checkin-sound", env={"KIOSK_SOUND": "1"})
        kiosk.wait_roster(badges=len(PEOPLE) + 4)
        kiosk.wait_reader_ok()
        card = CardProcess(kiosk.env["KIOSK_NFC"])
        context = browser.new_context(viewport={"width": 800, "height": 480})
        pages = {}
        for lang, url in screens.items():
            pages[lang] = context.new_page()
            pages[lang].goto(url)
            pages[lang].wait_for_selector(".idle")
        yield admin, kiosk, card, pages
        context.close()
        card.close()
    finally:
        procs.stop_all()


def tap(checkin, badge):
    """Tap a badge (a name or a UID) and wait until the kiosk has recorded it; returns its id."""
    admin, kiosk, card, _pages = checkin
    before = kiosk.db_rows("SELECT coalesce(max(id), 0) AS id FROM local_checkins")[0]["id"]
    card.tap(admin.people[badge]["uid"] if badge in admin.people else badge)
    return wait_for(lambda: kiosk.db_rows("SELECT id FROM local_checkins WHERE id > ?", before), 10,
                    message="the tap recorded")[0]["id"]


@pytest.mark.parametrize("state, badges, result", CHECKIN_STATES, ids=[s[0] for s in CHECKIN_STATES])
def test_checkin_screen_has_no_wcag_violations_in_any_language(checkin, state, badges, result):
    _admin, _kiosk, _card, pages = checkin
    tap_id = None
    for i, badge in enumerate(badges):
        if i and badge == badges[i - 1]:
            time.sleep(DEBOUNCE_SECONDS + 0.5)  # the same badge again: a new tap
        tap_id = tap(checkin, badge)
    failures = []
    for lang, page in pages.items():
        selector = f'.tap[data-tap-id="{tap_id}"][data-result="{result}"]' if tap_id else ".idle"
        page.wait_for_selector(selector, timeout=10000)
        screenshot(page, f"a11y-kiosk-{state}-{lang}-800x480")
        try:
            assert_accessible(page, f"kiosk-{state}-{lang}")
            assert_readable_without_reading_much(page, f"{state} ({lang})")
        except AssertionError as exc:
            failures.append(str(exc))
    assert not failures, "\n\n".join(failures)


TEXT_SIZES = """() => {
  const sizes = [];
  const walker = document.createTreeWalker(document.getElementById('panel'), NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const el = walker.currentNode.parentElement;
    if (walker.currentNode.textContent.trim() && el.getClientRects().length && !el.closest('.staff-menu'))
      sizes.push([el.className || el.tagName, parseFloat(getComputedStyle(el).fontSize)]);
  }
  return sizes;
}"""


def assert_readable_without_reading_much(page, what):
    """At 800x480: no scrolling, an icon with each result, the sentence large, no small print
    (the staff menu aside)."""
    assert page.evaluate("document.documentElement.scrollHeight <= window.innerHeight + 1"), f"{what} scrolls"
    if page.locator(".tap").count():
        assert page.locator(".tap svg.icon").is_visible(), f"{what}: no icon"
        title = page.eval_on_selector(".tap .title", "e => parseFloat(getComputedStyle(e).fontSize)")
        assert title >= 48, f"{what}: title {title}px"
    small = [(where, size) for where, size in page.evaluate(TEXT_SIZES) if size < 24]
    assert not small, f"{what}: text under 24 px: {small}"


def test_an_unknown_badge_never_shows_the_person_before(checkin):
    _admin, _kiosk, _card, pages = checkin
    tap(checkin, "Priya")
    tap_id = tap(checkin, "0A0B0C0D0E0F0FFF")
    for lang, page in pages.items():
        page.wait_for_selector(f'.tap[data-tap-id="{tap_id}"]', timeout=10000)
        assert page.locator(".recent").count() == 0
        assert "Priya" not in page.inner_text("#panel"), lang
    screenshot(pages["nl"], "a11y-kiosk-unknown-badge-after-a-greeting-800x480")


# Every oscillator the page starts, as the page's own Web Audio API calls make them.
RECORD_TONES = """window.__tones = [];
const start = OscillatorNode.prototype.start;
OscillatorNode.prototype.start = function (when) {
  window.__tones.push({wave: this.type, hz: this.frequency.value});
  return start.apply(this, arguments);
};"""


def test_a_kiosk_with_sound_on_plays_one_tone_for_checked_in_and_another_for_a_problem(checkin, browser):
    admin, kiosk, _card, _pages = checkin
    context = browser.new_context(viewport={"width": 800, "height": 480})
    context.add_init_script(RECORD_TONES)
    with_sound, default = context.new_page(), context.new_page()
    with_sound.goto(kiosk.sound_url)
    default.goto(checkin[3]["nl"].url)
    for page in (with_sound, default):
        page.wait_for_selector(".idle")
    assert with_sound.get_attribute("body", "data-sound") == "on"
    assert default.get_attribute("body", "data-sound") == "off"  # off unless the kiosk is set to it

    tap_id = tap(checkin, admin.people["Mohamed"]["uid"])
    with_sound.wait_for_selector(f'.tap[data-tap-id="{tap_id}"]')
    success = wait_for(lambda: with_sound.evaluate("window.__tones.splice(0)"), message="the success tone")
    tap_id = tap(checkin, "0A0B0C0D0E0F0EEE")
    with_sound.wait_for_selector(f'.tap[data-tap-id="{tap_id}"]')
    default.wait_for_selector(f'.tap[data-tap-id="{tap_id}"]')
    problem = wait_for(lambda: with_sound.evaluate("window.__tones.splice(0)"), message="the problem tone")
    assert [t["hz"] for t in success] == [660, 880] and {t["wave"] for t in success} == {"sine"}
    assert [t["hz"] for t in problem] == [392, 262] and {t["wave"] for t in problem} == {"triangle"}
    assert default.evaluate("window.__tones") == []
    context.close()
