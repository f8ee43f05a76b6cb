"""The physio team's warning ranges: set on the API and the staff site by a physio or an admin
(refused clearly when wrong, every change audited old → new), carried to station kiosks only,
and used there instead of the station's own KIOSK_WARN_RANGES; end to end on real processes."""
import json
import re

import pytest
import requests

from kiosk import station, store
from tests.a11y import assert_accessible
from tests.station_helpers import add_physio, answer_questions, running_station, unlock
from tests.support.live import PASSWORD, auth, screenshot, wait_for
from tests.support.site import Site, post, ram_dir

URL = "/api/v1/warning-ranges"
SYSTOLIC = {"ranges": {"systolic_mmhg": {"low": 90, "high": 160}}}


def token(site, email):
    return site.app.test_cli_runner().invoke(args=["create-token", email]).output.strip().splitlines()[-1]


@pytest.fixture
def site():
    with ram_dir() as path:
        s = Site(path)
        s.tokens = {}
        for role in ("admin", "physio", "lifecoach", "coordinator", "doctor"):
            s.staff(f"{role}@example.test", role)
            s.tokens[role] = token(s, f"{role}@example.test")
        s.client = s.app.test_client()
        yield s


def put(site, body, role="physio"):
    return site.client.put(URL, json=body, headers=auth(site.tokens[role]))


def stored(site):
    return {r["field"]: (r["low"], r["high"]) for r in site.sql("SELECT field, low, high FROM warning_ranges")}


def audited(site):
    return [(r["staff_role"], r["what"]) for r in site.sql(
        "SELECT staff_role, what FROM audit_log WHERE what LIKE 'warning range %' ORDER BY id")]


def test_a_physio_sets_and_changes_ranges_and_every_change_is_audited_old_to_new(site):
    r = put(site, SYSTOLIC)
    assert r.status_code == 200, r.json
    assert r.json["ranges"]["systolic_mmhg"] | {"set_at": None} == {"low": 90, "high": 160, "set_by":
                                                                      "physio@example.test", "set_at": None}
    r = put(site, {"ranges": {"systolic_mmhg": {"low": 90, "high": 140.5},
                              "pulse_bpm": {"low": 40, "high": 120}}}, role="admin")
    assert r.status_code == 200, r.json
    assert stored(site) == {"systolic_mmhg": (90, 140.5), "pulse_bpm": (40, 120)}
    got = site.client.get(URL, headers=auth(site.tokens["physio"])).json
    assert got["ranges"]["pulse_bpm"]["set_by"] == "admin@example.test"
    assert got["fields"]["systolic_mmhg"] == {"unit": "mmHg", "limits": [50, 280]}
    assert put(site, {"ranges": {"systolic_mmhg": {"low": 90, "high": 140.5}}}).status_code == 200  # pulse left out
    assert stored(site) == {"systolic_mmhg": (90, 140.5)}
    assert put(site, {"ranges": {"systolic_mmhg": {"low": 90, "high": 140.5}}}).status_code == 200  # no change
    assert audited(site) == [
        ("physio", "warning range systolic_mmhg: none → 90–160"),
        ("admin", "warning range systolic_mmhg: 90–160 → 90–140.5"),
        ("admin", "warning range pulse_bpm: none → 40–120"),
        ("physio", "warning range pulse_bpm: 40–120 → none"),
    ]


@pytest.mark.parametrize("body, status, says", [
    ({"ranges": {"iq": {"low": 90, "high": 130}}}, 422, "unknown field 'iq'"),
    ({"ranges": {"systolic_mmhg": {"low": 160, "high": 90}}}, 422, "'low' must be below 'high'"),
    ({"ranges": {"systolic_mmhg": {"low": 120, "high": 120}}}, 422, "'low' must be below 'high'"),
    ({"ranges": {"systolic_mmhg": {"low": 40, "high": 160}}}, 422, "hard limits, 50 to 280"),
    ({"ranges": {"pulse_bpm": {"low": 40, "high": 251}}}, 422, "hard limits, 25 to 250"),
    ({"ranges": {"systolic_mmhg": {"low": "90", "high": 160}}}, 400, "'ranges.systolic_mmhg.low' must be a number"),
    ({"ranges": {"systolic_mmhg": {"low": 90, "high": True}}}, 400, "'ranges.systolic_mmhg.high' must be a number"),
    ({"ranges": {"systolic_mmhg": {"low": None, "high": 160}}}, 400, "must be a number"),
    ({"ranges": {"systolic_mmhg": {"low": 90}}}, 400, "with 'low' and 'high'"),
    ({"ranges": {"systolic_mmhg": [90, 160]}}, 400, "with 'low' and 'high'"),
    ({"systolic_mmhg": {"low": 90, "high": 160}}, 400, "body must be a JSON object"),
    ([], 400, "body must be a JSON object"),
])
def test_a_wrong_range_is_refused_with_a_clear_json_error_and_nothing_written(site, body, status, says):
    assert put(site, SYSTOLIC).status_code == 200
    before = site.sql("SELECT count(*) AS n FROM audit_log")[0]["n"]
    r = put(site, body)
    assert r.status_code == status and says in r.json["error"], (r.status_code, r.json)
    assert stored(site) == {"systolic_mmhg": (90, 160)}
    assert site.sql("SELECT count(*) AS n FROM audit_log")[0]["n"] == before


def test_the_api_description_names_them(site):
    paths = site.client.get("/api/v1/openapi.json").json["paths"]
    assert {"get", "put"} <= set(paths[URL])


def test_only_a_physio_or_an_admin_reads_or_sets_them(site):
    for role in ("lifecoach", "coordinator", "doctor"):
        assert site.client.get(URL, headers=auth(site.tokens[role])).status_code == 403
        r = put(site, SYSTOLIC, role=role)
        assert r.status_code == 403 and r.json["error"]
    assert site.client.get(URL).status_code == 401
    assert stored(site) == {} and audited(site) == []
    for role in ("physio", "admin"):
        assert site.client.get(URL, headers=auth(site.tokens[role])).status_code == 200


def test_a_station_gets_the_ranges_with_its_roster_a_check_in_kiosk_never(site):
    from admin import programme
    station_token = site._with_request(lambda conn: programme.add_kiosk(conn, "station-1", "Rotterdam-Zuid",
                                                                        "station"))[1]
    checkin_token = site.kiosk()[1]

    def roster(kiosk_token, since=0):
        r = site.client.get(f"/api/v1/sync/roster?since={since}", headers=auth(kiosk_token))
        assert r.status_code == 200
        return r.json

    assert roster(station_token)["warn_ranges"] == {}
    version = roster(station_token)["version"]
    put(site, {"ranges": {"pulse_bpm": {"low": 40, "high": 120}, "systolic_mmhg": {"low": 90, "high": 160}}})
    answer = roster(station_token, since=version)  # a pull with nothing else new still carries them
    assert answer["version"] > version
    assert answer["warn_ranges"] == {"systolic_mmhg": [90, 160], "pulse_bpm": [40, 120]}
    assert "warn_ranges" not in roster(checkin_token)


def test_the_station_uses_the_teams_ranges_and_its_own_setting_only_when_the_team_set_none(tmp_path):
    conn = store.open_db(tmp_path / "kiosk.sqlite")
    own = station.warn_ranges("systolic_mmhg=90-180,pulse_bpm=40-120")
    roster = {"version": 1, "kiosk_id": 1, "location": "Zuid", "groups": [], "people": [], "badges": []}
    store.apply_roster(conn, roster)  # an admin from before the team's ranges: the station's own
    assert station.ranges_in_use(conn, own) == own
    store.apply_roster(conn, {**roster, "warn_ranges": {}})  # the team set none
    assert station.ranges_in_use(conn, own) == own
    store.apply_roster(conn, {**roster, "warn_ranges": {"systolic_mmhg": [90, 140]}})
    assert station.ranges_in_use(conn, own) == {"systolic_mmhg": (90, 140)}  # the whole set replaces its own
    store.apply_roster(conn, roster)  # a pull without the key keeps what the last one brought
    assert station.ranges_in_use(conn, own) == {"systolic_mmhg": (90, 140)}


# --- the staff page ---------------------------------------------------------------

def test_the_page_saves_refuses_next_to_the_field_and_is_only_for_physio_and_admin(site):
    physio = site.login("physio@example.test")
    r = post(physio, "/intake/warning-ranges", {"low_pulse_bpm": "40", "high_pulse_bpm": "120,5"})
    assert r.status_code == 303
    assert stored(site) == {"pulse_bpm": (40, 120.5)}
    page = physio.get("/intake/warning-ranges?saved=1").get_data(as_text=True)
    assert 'value="120.5"' in page and "Opgeslagen" in page
    for form, control, says in (
            ({"low_pulse_bpm": "40", "high_pulse_bpm": "30"}, "high_pulse_bpm", "lager zijn dan de bovengrens"),
            ({"low_pulse_bpm": "10", "high_pulse_bpm": "120"}, "low_pulse_bpm", "25 tot en met 250"),
            ({"low_pulse_bpm": "veertig", "high_pulse_bpm": "120"}, "low_pulse_bpm", "vul een getal in"),
            ({"low_pulse_bpm": "40", "high_pulse_bpm": ""}, "high_pulse_bpm", "allebei")):
        r = post(physio, "/intake/warning-ranges", form)
        text = r.get_data(as_text=True)
        assert r.status_code == 422 and says in text, text[-800:]
        field = re.search(rf'<input name="{control}"[^>]*>', text)[0]
        assert 'aria-invalid="true"' in field and f'aria-describedby="error-{control}"' in field
        assert f'id="error-{control}"' in text
        assert stored(site) == {"pulse_bpm": (40, 120.5)}
    for role in ("lifecoach", "doctor"):
        site.staff(f"{role}2@example.test", role)
        other = site.login(f"{role}2@example.test")
        assert other.get("/intake/warning-ranges").status_code == 403
        assert post(other, "/intake/warning-ranges", {"low_pulse_bpm": "50", "high_pulse_bpm": "90"}).status_code == 403
    assert stored(site) == {"pulse_bpm": (40, 120.5)}


@pytest.mark.browser
def test_a_physio_changes_a_range_on_the_staff_site_in_chromium(live_admin, page_at):
    add_physio(live_admin)
    page = page_at(1280, 900)
    page.goto(f"{live_admin.url}/login")
    page.fill("input[name=email]", "fysio@example.test")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)
    page.goto(f"{live_admin.url}/intake")
    page.click("text=Waarschuwingsgrenzen van de meetwaarden")
    page.wait_for_selector("h1:has-text('Waarschuwingsgrenzen')")
    assert page.inner_text("header.top nav a[aria-current=page]") == "Intake"
    assert_accessible(page, "staff-warning-ranges")
    page.fill("input[name=low_systolic_mmhg]", "90")
    page.fill("input[name=high_systolic_mmhg]", "300")
    page.click("button:has-text('Grenzen opslaan')")
    page.wait_for_selector("#error-high_systolic_mmhg")
    assert page.get_attribute("input[name=high_systolic_mmhg]", "aria-invalid") == "true"
    assert_accessible(page, "staff-warning-ranges-refused")
    page.fill("input[name=high_systolic_mmhg]", "150")
    page.click("button:has-text('Grenzen opslaan')")
    page.wait_for_selector("p.saved")
    screenshot(page, "staff-warning-ranges")
    assert page.input_value("input[name=high_systolic_mmhg]") == "150"
    ranges = live_admin.api("GET", "/warning-ranges").json()["ranges"]
    assert {k: (v["low"], v["high"], v["set_by"]) for k, v in ranges.items()} == {
        "systolic_mmhg": (90, 150, "fysio@example.test")}


# --- end to end: gunicorn admin, station kiosk processes, Chromium -----------------

@pytest.mark.browser
def test_a_range_set_on_the_admin_reaches_the_station_which_then_asks_for_confirmation(live_admin, procs, tmp_path,
                                                                                       page_at):
    add_physio(live_admin)
    physio = live_admin.flask("create-token", "fysio@example.test").strip().splitlines()[-1]

    def set_ranges(body):
        r = requests.put(f"{live_admin.url}{URL}", json=body, headers=auth(physio), timeout=10)
        assert r.status_code == 200, r.text

    def on_station(kiosk):
        rows = kiosk.db_rows("SELECT value FROM meta WHERE key = 'warn_ranges'")
        return json.loads(rows[0]["value"]) if rows else None

    # The station's own setting accepts a systolic 150 without a question; the team's 90-140 does not.
    with running_station(procs, tmp_path, live_admin, instruments=("bp",), badges=3,
                         env={"KIOSK_WARN_RANGES": "systolic_mmhg=90-180", "KIOSK_ROSTER_S": "1"}) as (kiosk, card, _):
        set_ranges({"ranges": {"systolic_mmhg": {"low": 90, "high": 140}}})
        wait_for(lambda: on_station(kiosk) == {"systolic_mmhg": [90, 140]}, 30, message="the team's range on the station")
        page = page_at(1280, 800)
        page.goto(kiosk.url)
        unlock(page, card)

        def measure(name, systolic):
            card.tap(live_admin.people[name]["uid"])
            page.wait_for_selector(f"h1:has-text('{name}')")
            answer_questions(page)
            page.click("details.manual:has-text('Bloeddrukmeter') summary")
            page.check("input[name=bp_manual]")
            page.fill("input[name=bp_systolic_mmhg]", str(systolic))
            page.fill("input[name=bp_diastolic_mmhg]", "85")
            page.fill("input[name=bp_reason]", "manchet defect")
            page.check("input[value=intake]")
            page.click("button.save")

        measure("Anoeshka", 150)
        page.wait_for_selector("text=controleer deze waarden: Bovendruk (mmHg)")
        screenshot(page, "station-confirm-team-range")
        assert not kiosk.db_rows("SELECT 1 FROM outbox WHERE kind = 'measurement'")
        page.check("input[name=confirm]")
        page.click("button.save")
        page.wait_for_selector("text=Opgeslagen")
        pid = live_admin.people["Anoeshka"]["id"]
        (m,) = wait_for(lambda: live_admin.api("GET", f"/participants/{pid}/measurements").json()["measurements"],
                        timeout=20, message="the confirmed measurement on the admin")
        assert m["systolic_mmhg"] == 150 and m["confirmed"] == ["systolic_mmhg"]

        # The team takes its ranges away: the station's own setting applies again, 150 needs no question.
        set_ranges({"ranges": {}})
        wait_for(lambda: on_station(kiosk) == {}, 30, message="no team ranges on the station")
        measure("Mohamed", 150)
        page.wait_for_selector("text=Opgeslagen")
        pid = live_admin.people["Mohamed"]["id"]
        (m,) = wait_for(lambda: live_admin.api("GET", f"/participants/{pid}/measurements").json()["measurements"],
                        timeout=20, message="the unconfirmed measurement on the admin")
        assert m["systolic_mmhg"] == 150 and "confirmed" not in m
