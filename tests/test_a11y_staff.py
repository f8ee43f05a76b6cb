"""The staff site meets WCAG 2.1 AA: axe-core finds nothing on any page (every menu entry,
a participant, a follow-up case, the login page), and the daily work is done with the
keyboard alone, focus always visible and in reading order. Against gunicorn with the demo
data plus today's open follow-up cases, in headless Chromium."""
import re
from datetime import date

import pytest
import requests

from tests.a11y import assert_accessible, assert_focus_visible, assert_reading_order, tab_to
from tests.support.live import PASSWORD, LiveAdmin, Processes, db_rows, screenshot, session_slot_now
from tests.support.site import KioskPusher

pytestmark = pytest.mark.browser
ADMIN = "beheer@fitwerk.test"  # from seed-demo

# Pages beyond the menu, by name: a path, or a function of the site giving one.
# A new page that is not in the menu gets a line here.
PAGES = {
    "login": lambda site: "/login",
    "account": lambda site: "/account",
    "participant": lambda site: f"/participants/{site.demo_person('Anoeshka')}",
    "participant-new": lambda site: "/participants/new",
    "follow-up-case-open": lambda site: f"/follow-ups/{site.case('open')}",
    "follow-up-case-closed": lambda site: f"/follow-ups/{site.case('closed')}",
    "follow-ups-all": lambda site: "/follow-ups?view=all",
    "follow-ups-closed": lambda site: "/follow-ups?view=closed",
    "group": lambda site: f"/groups/{site.group_id}",
    "audit-participant": lambda site: f"/audit?participant_id={site.demo_person('Anoeshka')}",
    "participant-privacy": lambda site: f"/participants/{site.demo_person('Anoeshka')}/privacy",
    "participant-export": lambda site: f"/participants/{site.demo_person('Anoeshka')}/export",
    "goals-week": lambda site: f"/groups/{site.group_named('Groep Voorjaar')}/goals?week=12",
    "handover": lambda site: f"/participants/{site.demo_person('Piet')}/handover",
    "programme": lambda site: f"/participants/{site.demo_person('Piet')}/programme",
    "warning-ranges": lambda site: "/intake/warning-ranges",
    "outcome-report-group": lambda site: f"/reports/outcomes?group_id={site.group_named('Groep Voorjaar')}",
}


class StaffSite(LiveAdmin):
    """A live admin with the demo data, a session that began 30 minutes ago with nobody in
    (so the board opens follow-up cases), and the kiosk heard from up to now."""

    def prepare(self):
        self.flask("init-db")
        self.flask("seed-demo", "--password", PASSWORD)
        self.token = self.flask("create-token", ADMIN).strip().splitlines()[-1]
        self.kiosk_token = self.flask("add-kiosk", "ingang", "--location", "Rotterdam-Zuid").strip().splitlines()[-1]
        self.start()
        r = self.api("POST", "/groups", json={"name": "Groep Vandaag", "location": "Rotterdam-Zuid",
                                               "starts_on": date.today().isoformat(), "grace_minutes": 0,
                                               "sessions": [session_slot_now(minutes_before=30)]})
        assert r.status_code == 201, r.text
        self.group_id = r.json()["id"]
        for name in ("Mirjam", "Wessel"):
            r = self.api("POST", "/participants", json={"first_name": name, "last_name": "Test", "group_id": self.group_id})
            assert r.status_code == 201, r.text
        pusher = KioskPusher(lambda path, body, token: requests.post(
            f"{self.url}{path}", json=body, timeout=10, headers={"Authorization": f"Bearer {token}"}), self.kiosk_token)
        assert pusher.heartbeat().status_code == 200  # delivered up to now: today's absences are certain
        self.flask("follow-ups")  # opens their cases, as the timer does
        return self

    def sql(self, query, *args):
        return db_rows(self.db, query, *args)

    def demo_person(self, first_name):
        return self.sql("SELECT id FROM participants WHERE first_name = ? ORDER BY id DESC", first_name)[0]["id"]

    def group_named(self, name):
        return self.sql("SELECT id FROM groups WHERE name = ?", name)[0]["id"]

    def case(self, state):
        closed = "IS NOT NULL" if state == "closed" else "IS NULL"
        return self.sql(f"SELECT id FROM follow_ups WHERE closed_at {closed} ORDER BY id")[0]["id"]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("a11y-staff")
    procs = Processes(tmp)
    try:  # a set-up that fails half-way still stops what it started
        yield StaffSite(procs, tmp).prepare()
    finally:
        procs.stop_all()


@pytest.fixture(scope="module")
def context(site, browser):
    """A browser context logged in as an admin, who sees every menu entry."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    page = ctx.new_page()
    log_in_by_mouse(page, site, ADMIN)
    page.close()
    yield ctx
    ctx.close()


def log_in_by_mouse(page, site, email):
    page.goto(f"{site.url}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/board$"))


def menu_entries(context, site):
    page = context.new_page()
    page.goto(f"{site.url}/board")
    entries = page.eval_on_selector_all("header.top nav a", "links => links.map(a => a.getAttribute('href'))")
    page.close()
    return entries


def test_every_menu_entry_has_no_wcag_violations(site, context):
    entries = menu_entries(context, site)
    assert len(entries) >= 9, entries  # an admin sees them all
    page = context.new_page()
    failures = []
    for href in entries:
        page.goto(f"{site.url}{href}")
        try:
            assert_accessible(page, "staff" + href.replace("/", "-"))
        except AssertionError as exc:
            failures.append(str(exc))
    assert not failures, "\n\n".join(failures)


@pytest.mark.parametrize("name", PAGES)
def test_each_page_beyond_the_menu_has_no_wcag_violations(site, context, browser, name):
    page = (browser.new_context() if name == "login" else context).new_page()
    page.goto(site.url + PAGES[name](site))
    assert_accessible(page, f"staff-{name}")


# --- keyboard only -------------------------------------------------------------
# Playwright's keyboard and nothing else: no click, no fill. Every stop on the way is
# checked for a visible focus; the stops on a page follow the reading order.
# A new flow is: keyboard_page, log_in_by_keyboard, open_from_menu, then tab_to each control
# and type or press a key.

@pytest.fixture
def keyboard_page(browser):
    ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    yield ctx.new_page()
    ctx.close()


def log_in_by_keyboard(page, site, email=ADMIN):
    """Log in with the keyboard alone: the e-mail field has the focus when the page opens."""
    page.goto(f"{site.url}/login")
    stops = [assert_focus_visible(page)]
    assert stops[0]["name"] == "email"
    page.keyboard.type(email)
    stops += tab_to(page, "input[name=password]", limit=1)
    page.keyboard.type(PASSWORD)
    stops += tab_to(page, "button[type=submit]", limit=1)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/board$"))
    assert_reading_order(stops)


def open_from_menu(page, href):
    """From the top of a page: Tab along the menu to `href` and follow it."""
    stops = tab_to(page, f'header.top nav a[href="{href}"]')
    assert_reading_order(stops)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(f".*{re.escape(href)}$"))


def test_log_in_with_the_keyboard_alone(site, keyboard_page):
    log_in_by_keyboard(keyboard_page, site)
    assert "Uitloggen" in keyboard_page.inner_text("header.top")


def test_skip_link_is_the_first_stop_and_jumps_past_the_menu(site, keyboard_page):
    page = keyboard_page
    log_in_by_keyboard(page, site)
    page.keyboard.press("Tab")
    first = assert_focus_visible(page)
    assert first["label"] == "Naar de inhoud"
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert page.evaluate("document.querySelector('main').contains(document.activeElement)")
    assert_focus_visible(page)


def test_find_a_participant_with_the_keyboard_alone(site, keyboard_page):
    page = keyboard_page
    log_in_by_keyboard(page, site)
    open_from_menu(page, "/participants")
    tab_to(page, "input[name=q]")
    page.keyboard.type("Fatima")
    fatima = site.demo_person("Fatima")
    page.wait_for_function("() => document.querySelectorAll('#participants tbody tr').length === 1")
    stops = tab_to(page, f'#participants a[href="/participants/{fatima}"]')
    assert_reading_order(stops)
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/participants/{fatima}")
    assert "Fatima" in page.inner_text("h1")


def test_open_and_record_a_follow_up_with_the_keyboard_alone(site, keyboard_page):
    page = keyboard_page
    case = site.sql("SELECT f.id FROM follow_ups f JOIN participants p ON p.id = f.participant_id "
                    "WHERE f.closed_at IS NULL AND p.first_name = 'Mirjam'")[0]["id"]
    log_in_by_keyboard(page, site)
    open_from_menu(page, "/follow-ups")
    tab_to(page, f'a[href="/follow-ups/{case}"]')
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/follow-ups/{case}")

    stops = tab_to(page, "input[name=contacted]:checked")  # a radio group is one stop; arrows choose
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowUp")
    assert page.is_checked("input[name=contacted][value=reached]")
    stops += tab_to(page, "input[name=reason]", limit=1)
    page.keyboard.type("ziek, griep")
    stops += tab_to(page, "input[name=excused]:checked", limit=1)
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowUp")
    assert page.is_checked("input[name=excused][value=yes]")
    stops += tab_to(page, "textarea[name=note]", limit=1)
    page.keyboard.type("Gebeld, komt donderdag weer.")
    stops += tab_to(page, "input[name=next_step]", limit=1)
    page.keyboard.type("Afmelden via de app uitleggen")
    stops += tab_to(page, "input[name=close]", limit=1)
    page.keyboard.press("Space")
    stops += tab_to(page, "#case button[type=submit]", limit=1)
    assert_reading_order(stops)
    page.keyboard.press("Enter")
    page.wait_for_selector("#case .closed-summary")
    page.wait_for_function("() => document.activeElement.matches('[role=status]')")  # htmx settles, then the focus moves
    answer = assert_focus_visible(page)  # the answer has the focus: heard, and the place kept
    assert answer["label"] == "Opgeslagen.", answer
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('#case') !== null")
    screenshot(page, "keyboard-follow-up-closed")
    (row,) = site.sql("SELECT contacted, excused, reason, closed_at FROM follow_ups WHERE id = ?", case)
    assert (row["contacted"], row["excused"], row["reason"]) == ("reached", 1, "ziek, griep") and row["closed_at"]


def test_add_an_excuse_with_the_keyboard_alone(site, keyboard_page):
    page = keyboard_page
    wessel = site.demo_person("Wessel")
    log_in_by_keyboard(page, site)
    open_from_menu(page, "/excuses")
    stops = tab_to(page, "select[name=participant_id]")
    page.keyboard.type("Wessel")  # a closed select picks the option typed
    assert page.eval_on_selector("select[name=participant_id]", "s => s.value") == str(wessel)
    stops += tab_to(page, "input[name=reason]", limit=6)  # past the date field's day, month and year
    page.keyboard.type("sollicitatiegesprek")
    stops += tab_to(page, "#excuses button[type=submit]", limit=1)
    assert_reading_order(stops)
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.activeElement.matches('#excuses .saved')")
    assert assert_focus_visible(page)["label"] == "Afmelding vastgelegd."
    assert site.sql("SELECT reason FROM excuses WHERE participant_id = ?", wessel) == [{"reason": "sollicitatiegesprek"}]


def test_a_refused_move_on_the_calendar_page_is_shown_and_read_next_to_its_field(site, context):
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo
    before = site.sql("SELECT COUNT(*) AS n FROM calendar_changes")
    # The group's next session from tomorrow on (the fixture may have been made before midnight).
    [slot] = site.sql("SELECT weekday FROM schedule_slots WHERE group_id = ?", site.group_id)
    day = datetime.now(ZoneInfo("Europe/Amsterdam")).date() + timedelta(days=1)
    day += timedelta(days=(slot["weekday"] - day.weekday()) % 7)
    page = context.new_page()
    page.goto(f"{site.url}/calendar")
    page.select_option("select[name=target]", f"group:{site.group_id}")
    page.fill("input[name=date]", day.isoformat())
    page.fill("input[name=reason]", "gym dicht")
    page.fill("input[name=moved_to]", (day + timedelta(days=7)).isoformat())   # its own session at the same time
    page.click("#calendar button[type=submit]")
    page.wait_for_selector("#error-moved_to")
    assert page.get_attribute("input[name=moved_to]", "aria-invalid") == "true"
    assert "al een sessie van" in page.locator("label", has=page.locator("input[name=moved_to]")).inner_text()
    assert_accessible(page, "staff-calendar-refused")
    screenshot(page, "calendar-refused-move")
    assert site.sql("SELECT COUNT(*) AS n FROM calendar_changes") == before
    page.close()


def test_each_chart_has_a_name_and_a_summary_a_screen_reader_reads(site, context):
    from playwright.sync_api import expect
    page = context.new_page()
    page.goto(f"{site.url}/participants/{site.demo_person('Anoeshka')}")
    charts = page.get_by_role("img")
    assert charts.count() == 3
    for name in ("Gewicht (kg)", "Vetpercentage (%)", "Bloeddruk (mmHg)"):
        chart = page.get_by_role("img", name=name)
        expect(chart).to_have_accessible_description(re.compile(r"\d+ metingen van \d\d-\d\d-\d{4} tot"))
    page.locator(".charts").scroll_into_view_if_needed()
    screenshot(page, "participant-charts-with-summary")


# --- the programme's results: the trainer's weekly page, handover, outcome report ----

def open_week_page(site, page, week):
    page.goto(f"{site.url}/groups/{site.group_named('Groep Voorjaar')}/goals?week={week}")
    page.wait_for_selector("form.goal")


def test_the_trainer_scores_a_group_of_16_on_a_tablet_one_tap_per_goal(site, browser):
    ctx = browser.new_context(viewport={"width": 1024, "height": 768}, has_touch=True)
    page = ctx.new_page()
    page.goto(f"{site.url}/login")
    page.fill("input[name=email]", "trainer@fitwerk.test")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/goals$"))
    open_week_page(site, page, 3)     # all 16 were still in the programme in week 3
    people = page.locator("section.goal-person").count()
    assert people == 16, people
    screenshot(page, "goals-week-tablet-1024x768")
    before = page.inner_text("p.summary")
    # One tap on "+1" of the first goal: saved at once, no page load, the goal shows it.
    page.evaluate("window.__same_page = true")
    first = page.locator("form.goal").first
    first.locator("button[value='1']").tap()
    page.wait_for_function("() => document.querySelector('form.goal button[value=\"1\"]').getAttribute('aria-pressed') === 'true'")
    assert page.evaluate("window.__same_page") is True
    goal_id = int(page.locator("form.goal").first.get_attribute("action").split("/")[2])
    assert site.sql("SELECT score FROM goal_evaluations WHERE goal_id = ? AND week = 3", goal_id) == [{"score": 1}]
    assert_accessible(page, "staff-goals-week-tablet")
    assert before.startswith(("Alle doelen", "Nog "))
    ctx.close()


def test_score_a_week_of_goals_with_the_keyboard_alone(site, keyboard_page):
    page = keyboard_page
    log_in_by_keyboard(page, site)
    open_from_menu(page, "/goals")
    voorjaar = site.group_named("Groep Voorjaar")
    stops = tab_to(page, f'main a[href="/groups/{voorjaar}/goals?week=0"]')
    assert_reading_order(stops)
    page.keyboard.press("Enter")
    page.wait_for_selector("form.goal")
    tab_to(page, 'nav.weeks a[href$="week=9"]')
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*week=9$"))
    goals = [int(a.split("/")[2]) for a in page.eval_on_selector_all("form.goal", "fs => fs.map(f => f.getAttribute('action'))")]
    for goal, score in zip(goals, (-1, 0, 2)):
        stops = tab_to(page, f"form[action='/goals/{goal}/weeks/9'] button[value='{score}']")
        assert_reading_order(stops)
        page.keyboard.press("Enter")
        # The pressed score keeps the focus after the swap, so the next Tab goes on from there.
        page.wait_for_function(f"() => document.activeElement.id === 'goal-{goal}-score-{score}'"
                               " && document.activeElement.getAttribute('aria-pressed') === 'true'")
        assert_focus_visible(page)
    screenshot(page, "keyboard-goals-scored")
    scored = site.sql(f"SELECT goal_id, score FROM goal_evaluations WHERE week = 9 AND goal_id IN ({', '.join('?' * 3)}) "
                      "ORDER BY goal_id", *goals[:3])
    assert sorted((r["goal_id"], r["score"]) for r in scored) == sorted(zip(goals, (-1, 0, 2)))


def test_the_handover_and_the_outcome_report_as_staff_see_them(site, context):
    page = context.new_page()
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{site.url}/participants/{site.demo_person('Piet')}/handover")
    page.wait_for_selector("text=Slotnotitie van de beweegadviseur")
    assert "GAS T-score" in page.inner_text("main")
    screenshot(page, "handover-report")
    page.goto(f"{site.url}/reports/outcomes?group_id={site.group_named('Groep Voorjaar')}")
    page.wait_for_selector("figure svg[role=img]")
    text = page.inner_text("main")
    assert "Geschikt bevonden" in text and "Participatieladder" in text and "Anoeshka" not in text
    screenshot(page, "outcome-report")
    page.close()
