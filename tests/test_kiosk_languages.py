"""A participant is greeted in their own language: each language on the real kiosk
processes and an emulated badge, seen in headless Chromium at 800x480, with nothing cut
off. Screenshots are kept under tests/artifacts/."""
from datetime import datetime, timedelta

import pytest

from devices.card import CardProcess
from tests.a11y import assert_accessible
from tests.support.live import TZ, Kiosk, LiveAdmin, Processes, screenshot

pytestmark = pytest.mark.browser

# What each language must say; the names are long on purpose, the Arabic one in Arabic script.
GREETINGS = {
    "nl": ("Anoeshka-Marieke", "Welkom, Anoeshka-Marieke", "Je bent ingecheckt", "Je hebt nu geen sessie"),
    "en": ("Christopher", "Welcome, Christopher", "You're checked in", "You have no session now"),
    "tr": ("Büşra Gülşen", "Hoş geldiniz, Büşra Gülşen", "Girişiniz kaydedildi", "Şu anda seansınız yok"),
    "ar": ("عبد الرحمن", "أهلاً وسهلاً، عبد الرحمن", "تم تسجيل حضورك", "ليست لديك جلسة الآن"),
    "pl": ("Małgorzata", "Witaj, Małgorzata", "Obecność zapisana", "Nie masz teraz zajęć"),
}

# Every text box of the tap panel: not wider than itself (no overflow), inside the panel
# (above the status corner) and inside the 800x480 window (body clips what is not).
FITS = """() => {
  const panel = document.querySelector('#panel').getBoundingClientRect();
  const problems = [];
  for (const el of document.querySelectorAll('.tap .title, .tap .sub, .tap .extra, .tap .recent li')) {
    const box = el.getBoundingClientRect();
    const what = el.className || el.tagName;
    if (el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 1)
      problems.push(`${what} overflows itself: ${el.scrollWidth}x${el.scrollHeight} in ${el.clientWidth}x${el.clientHeight}`);
    if (box.left < panel.left - 1 || box.right > panel.right + 1 || box.top < panel.top - 1 || box.bottom > panel.bottom + 1)
      problems.push(`${what} outside the panel: ${JSON.stringify(box)}`);
    if (box.right > window.innerWidth + 1 || box.bottom > window.innerHeight + 1)
      problems.push(`${what} outside the window: ${JSON.stringify(box)}`);
  }
  const doc = document.documentElement;
  if (doc.scrollWidth > window.innerWidth + 1 || doc.scrollHeight > window.innerHeight + 1)
    problems.push(`page is ${doc.scrollWidth}x${doc.scrollHeight}`);
  return problems;
}"""


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """One admin, one Dutch check-in kiosk, per language one participant in session now
    and one whose next session is tomorrow."""
    tmp = tmp_path_factory.mktemp("kiosk-languages")
    procs = Processes(tmp)
    admin = LiveAdmin(procs, tmp).setup_programme(people=())
    now = datetime.now(TZ)
    tomorrow = {"name": "Groep Morgen", "location": "Rotterdam-Zuid",
                "starts_on": (now.date() - timedelta(days=7)).isoformat(),
                "sessions": [{"weekday": (now + timedelta(days=1)).weekday(), "start": "09:00", "end": "12:00"}]}
    later_group = admin.api("POST", "/groups", json=tomorrow).json()["id"]
    badges = {}
    for i, (language, (name, *_texts)) in enumerate(GREETINGS.items()):
        for j, group_id in enumerate((admin.group_id, later_group)):
            uid = f"01010701{j:02X}{i:02X}0A0B"
            r = admin.api("POST", "/participants", json={"first_name": name, "last_name": "T", "group_id": group_id,
                                                         "badge_uid": uid, "language": language})
            assert r.status_code == 201, r.text
            badges[language, "now" if j == 0 else "tomorrow"] = uid
    kiosk = Kiosk(procs, tmp, admin)
    kiosk.start_sync()
    kiosk.start_reader()
    kiosk.start_screen()
    kiosk.wait_roster(badges=len(badges))
    kiosk.wait_reader_ok()
    card = CardProcess(kiosk.env["KIOSK_NFC"])
    yield kiosk, card, badges
    card.close()
    procs.stop_all()


@pytest.fixture
def screen(site, page_at):
    """The kiosk screen at 800x480."""
    page = page_at(800, 480)
    page.goto(site[0].url)
    page.wait_for_selector(".idle")
    return page


def tap_and_check(site, page, uid, text, name):
    """Tap; wait for `text`; keep a screenshot; assert nothing is cut off; return the tap panel."""
    _kiosk, card, _badges = site
    card.tap(uid)
    page.wait_for_selector(f".tap:has-text('{text}')", timeout=10000)
    page.wait_for_timeout(100)  # fonts and layout settled
    screenshot(page, f"kiosk-language-{name}-800x480")
    assert page.evaluate(FITS) == [], name
    assert_accessible(page, f"kiosk-language-{name}")  # WCAG 2.1 AA in every language, lang and dir included
    return page.locator(".tap")


@pytest.mark.parametrize("language", GREETINGS)
def test_a_participant_is_greeted_in_their_own_language_with_nothing_cut_off(site, screen, language):
    _name, welcome, checked_in, _no_session = GREETINGS[language]
    tap = tap_and_check(site, screen, site[2][language, "now"], welcome, f"{language}-welcome")
    assert tap.locator(".title").inner_text() == welcome
    assert tap.locator(".sub").inner_text() == checked_in
    assert tap.get_attribute("lang") == language
    assert tap.get_attribute("dir") == ("rtl" if language == "ar" else "ltr")
    # The browser lays the panel out right to left for Arabic, left to right otherwise.
    assert tap.evaluate("el => getComputedStyle(el).direction") == ("rtl" if language == "ar" else "ltr")


@pytest.mark.parametrize("language", GREETINGS)
def test_no_session_now_and_the_next_one_in_their_own_language_fit_the_screen(site, screen, language):
    _name, _welcome, _checked_in, no_session = GREETINGS[language]
    tap = tap_and_check(site, screen, site[2][language, "tomorrow"], no_session, f"{language}-no-session")
    assert tap.get_attribute("data-result") == "no_session"
    extra = tap.locator(".extra").inner_text()
    assert ("من 09:00 إلى 12:00" if language == "ar" else "09:00–12:00") in extra


def test_the_idle_screen_stays_in_the_kiosks_language_after_a_greeting_in_another(site, screen):
    tap_and_check(site, screen, site[2]["tr", "now"], "Hoş geldiniz", "tr-then-idle")
    screen.wait_for_selector(".idle", timeout=15000)
    assert "Houd je pas tegen de lezer" in screen.locator(".idle").inner_text()
    assert screen.locator("html").get_attribute("lang") == "nl"
