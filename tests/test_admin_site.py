"""The staff site: logins that really end, cookies, CSRF, throttling, no personal data in
URLs, the audit trail, and the management and participant pages."""
import csv
import io
import re
import tomllib
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.support.live import PASSWORD, auth
from tests.support.site import KioskPusher, Site, post

AMS = ZoneInfo("Europe/Amsterdam")


def audit_rows(site, participant_id=None):
    if participant_id is None:
        return site.sql("SELECT * FROM audit_log ORDER BY id")
    return site.sql("SELECT * FROM audit_log WHERE participant_id = ? ORDER BY id", participant_id)


def pusher(site):
    client = site.app.test_client()
    return KioskPusher(lambda path, body, token: client.post(path, json=body, headers=auth(token)),
                       site.kiosk_token)


# --- login, sessions, cookies ------------------------------------------------------

def test_login_sets_an_httponly_samesite_session_cookie(site):
    r = site.app.test_client().post("/login", data={"email": "coach@example.test", "password": PASSWORD})
    cookie = r.headers["Set-Cookie"]
    assert r.status_code == 302
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


def test_every_page_names_the_version_of_pyproject_in_its_footer(site):
    version = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"]["version"]
    page = site.app.test_client().get("/login").get_data(as_text=True)
    assert f'<footer class="site">fitwerk {version}</footer>' in page


def test_behind_tls_the_session_cookie_is_secure(site):
    r = site.app.test_client().post("/login", data={"email": "coach@example.test", "password": PASSWORD},
                                    base_url="https://admin.example.test")
    assert "Secure" in r.headers["Set-Cookie"]


def test_behind_a_tls_proxy_the_forwarded_scheme_makes_the_cookie_secure(tmp_path):
    s = Site(tmp_path, ADMIN_BEHIND_PROXY="1")
    s.staff("coach@example.test", "lifecoach")
    r = s.app.test_client().post("/login", data={"email": "coach@example.test", "password": PASSWORD},
                                 headers={"X-Forwarded-Proto": "https"})
    assert "Secure" in r.headers["Set-Cookie"]


def test_the_session_id_is_stored_only_as_a_hash(site):
    client = site.login("coach@example.test")
    cookie = client.get_cookie("fitwerk_session").value
    stored = [r["id_hash"] for r in site.sql("SELECT id_hash FROM login_sessions")]
    assert cookie not in stored and len(stored) == 1


def test_logout_ends_the_session_even_for_a_kept_cookie(site):
    client = site.login("coach@example.test")
    cookie = client.get_cookie("fitwerk_session").value
    assert post(client, "/logout").status_code == 302
    assert site.sql("SELECT * FROM login_sessions") == []
    thief = site.app.test_client()
    thief.set_cookie("fitwerk_session", cookie)
    r = thief.get("/board")
    assert r.status_code == 302 and r.headers["Location"].endswith("/login")


def test_logout_needs_the_csrf_token_so_no_other_site_can_log_you_out(site):
    client = site.login("coach@example.test")
    assert client.post("/logout").status_code == 400
    assert len(site.sql("SELECT * FROM login_sessions")) == 1


def test_a_wrong_password_is_refused_with_401(site):
    r = site.app.test_client().post("/login", data={"email": "coach@example.test", "password": "wrong"})
    assert r.status_code == 401 and "klopt niet" in r.get_data(as_text=True)


def test_after_five_failures_logins_are_throttled_with_429_even_with_the_right_password(site):
    client = site.app.test_client()
    for _ in range(5):
        assert client.post("/login", data={"email": "coach@example.test", "password": "wrong"}).status_code == 401
    r = client.post("/login", data={"email": "coach@example.test", "password": PASSWORD})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    assert "fitwerk_session" not in r.headers.get("Set-Cookie", "")


def test_one_client_trying_many_addresses_is_throttled_too(site):
    client = site.app.test_client()
    for i in range(20):
        client.post("/login", data={"email": f"guess{i}@example.test", "password": "x"})
    r = client.post("/login", data={"email": "coach@example.test", "password": PASSWORD})
    assert r.status_code == 429
    other_client = site.app.test_client()
    r = other_client.post("/login", data={"email": "coach@example.test", "password": PASSWORD},
                          environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert r.status_code == 302


def test_the_throttle_keeps_no_ip_address(site):
    site.app.test_client().post("/login", data={"email": "x@example.test", "password": "x"},
                                environ_base={"REMOTE_ADDR": "192.0.2.77"})
    (row,) = site.sql("SELECT * FROM login_failures")
    assert "192.0.2.77" not in str(row) and row["client"]


def test_deactivating_a_staff_member_ends_their_sessions_and_api_tokens(site):
    coach = site.login("coach@example.test")
    from admin import auth as admin_auth
    conn = site.conn()
    token = admin_auth.new_api_token(conn, site.coach)
    conn.close()
    admin = site.login("beheer@example.test")
    r = post(admin, f"/staff/{site.coach}", {"name": "Lars Visser", "phone": "", "role": "lifecoach"})
    assert r.status_code in (200, 303)
    assert coach.get("/board").status_code == 302
    assert site.app.test_client().get("/api/v1/attendance", headers=auth(token)).status_code == 401


def test_changing_your_password_ends_your_other_sessions_but_not_this_one(site):
    laptop, phone = site.login("coach@example.test"), site.login("coach@example.test")
    r = post(laptop, "/account/password", {"current_password": PASSWORD, "new_password": "een nieuw wachtwoord",
                                           "repeat_password": "een nieuw wachtwoord"})
    assert r.status_code == 200 and "Wachtwoord gewijzigd" in r.get_data(as_text=True)
    assert laptop.get("/board").status_code == 200
    assert phone.get("/board").status_code == 302
    site.login("coach@example.test", "een nieuw wachtwoord")


# --- CSRF --------------------------------------------------------------------------

def test_a_form_post_without_the_csrf_token_is_refused_and_changes_nothing(site):
    client = site.login("coach@example.test")
    body = {"participant_id": site.anoeshka, "date": "2031-01-06", "reason": "tandarts"}
    assert client.post("/excuses", data=body).status_code == 400
    assert client.post("/excuses", data={**body, "csrf_token": "forged"}).status_code == 400
    assert site.sql("SELECT * FROM excuses") == []
    assert post(client, "/excuses", body).status_code == 303
    assert len(site.sql("SELECT * FROM excuses")) == 1


def test_an_htmx_request_carries_the_token_in_its_header(site):
    client = site.login("coach@example.test")
    body = {"participant_id": site.anoeshka, "date": "2031-01-06", "reason": "tandarts"}
    assert client.post("/excuses", data=body, headers={"HX-Request": "true"}).status_code == 400
    r = client.post("/excuses", data=body, headers={"HX-Request": "true", "X-CSRF-Token": client.csrf})
    assert r.status_code == 200 and "Afmelding vastgelegd" in r.get_data(as_text=True)


def test_the_page_gives_htmx_the_token_for_every_request(site):
    client = site.login("coach@example.test")
    page = client.get("/board").get_data(as_text=True)
    assert f'hx-headers=\'{{"X-CSRF-Token": "{client.csrf}"}}\'' in page


def test_another_sessions_csrf_token_is_refused(site):
    mine, theirs = site.login("coach@example.test"), site.login("coordinator@example.test")
    r = mine.post("/excuses", data={"participant_id": site.anoeshka, "date": "2031-01-06", "reason": "x",
                                    "csrf_token": theirs.csrf})
    assert r.status_code == 400


# --- headers and URLs ----------------------------------------------------------------

@pytest.mark.parametrize("path", ["/board", "/participants/{p}", "/participants/{p}/measurements.csv",
                                  "/groups/{g}/attendance.csv", "/follow-ups", "/audit"])
def test_staff_pages_and_exports_are_never_cached(site, path):
    admin = site.login("beheer@example.test")
    r = admin.get(path.format(p=site.anoeshka, g=site.group_id))
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"


def test_pages_forbid_framing_and_foreign_scripts(site):
    r = site.login("fysio@example.test").get(f"/participants/{site.anoeshka}")
    assert r.headers["X-Frame-Options"] == "DENY"
    assert "script-src 'self'" in r.headers["Content-Security-Policy"]


def test_htmx_keeps_no_copy_of_pages_in_the_browser(site):
    page = site.login("fysio@example.test").get(f"/participants/{site.anoeshka}").get_data(as_text=True)
    assert '"historyCacheSize": 0' in page


def test_search_by_name_is_a_post_and_finds_the_participant(site):
    client = site.login("fysio@example.test")
    r = post(client, "/participants/search", {"q": "anoe"}, htmx=True)
    text = r.get_data(as_text=True)
    assert r.status_code == 200 and "Anoeshka" in text and "Mohamed" not in text
    assert client.get("/participants?q=anoe").get_data(as_text=True).count("Mohamed") == 1  # GET ignores q


URL_ATTR = re.compile(r'(?:href|action|hx-get|hx-post|src)="([^"]*)"')


@pytest.mark.parametrize("email", ["beheer@example.test", "coach@example.test", "fysio@example.test"])
def test_no_link_or_form_on_any_page_carries_personal_data_in_its_url(site, email):
    client = site.login(email)
    site.sql("INSERT INTO excuses(participant_id, date, reason, created_at) VALUES (?, '2031-01-06', 'tandarts', 'x')",
             site.anoeshka)
    client.get("/board")  # opens the follow-up cases, so their pages are linked too
    personal = ["Anoeshka", "Ramdin", "Mohamed", "Amrani", "06-1111", "06-3333", "@example.test", "tandarts"]
    seen, queue = set(), ["/board", "/participants", "/follow-ups?view=all", "/groups", "/badges", "/excuses",
                          "/kiosks", "/staff", "/audit", f"/participants/{site.anoeshka}"]
    while queue:
        url = queue.pop()
        if url in seen or not url.startswith("/") or url.endswith(".csv") or url.startswith("/static"):
            continue
        seen.add(url)
        r = client.get(url)
        if r.status_code != 200:
            continue
        for target in URL_ATTR.findall(r.get_data(as_text=True)):
            if target.startswith("tel:"):
                continue  # a call link on the staff member's own phone: never sent to a server
            assert not any(p.lower() in target.lower() for p in personal), f"{target} on {url}"
            queue.append(target.replace("&amp;", "&"))
    assert len(seen) > 8


# --- audit trail -----------------------------------------------------------------------

def test_viewing_a_participant_page_is_audited_with_who_when_which_and_what(site):
    site.login("coach@example.test").get(f"/participants/{site.anoeshka}")
    (entry,) = [r for r in audit_rows(site, site.anoeshka) if r["action"] == "view"]
    assert entry["staff_id"] == site.coach and entry["staff_role"] == "lifecoach"
    assert entry["what"] == "participant page: details, attendance history" and entry["source"] == "web"
    assert datetime.fromisoformat(entry["at"]) > datetime.now(AMS) - timedelta(minutes=1)


def test_a_physio_view_of_measurements_is_audited(site):
    site.login("fysio@example.test").get(f"/participants/{site.anoeshka}")
    views = [r["what"] for r in audit_rows(site, site.anoeshka) if r["action"] == "view"]
    assert views == ["participant page: details, measurements"]


def test_exports_are_audited_for_every_participant_in_them(site):
    admin = site.login("beheer@example.test")
    admin.get(f"/groups/{site.group_id}/attendance.csv")
    admin.get(f"/participants/{site.anoeshka}/measurements.csv")
    exports = [(r["participant_id"], r["what"]) for r in audit_rows(site) if r["action"] == "export"]
    assert exports == [(site.anoeshka, f"attendance CSV of group {site.group_id}"),
                       (site.mohamed, f"attendance CSV of group {site.group_id}"),
                       (site.anoeshka, "measurements CSV")]


def test_changes_from_the_pages_are_audited(site):
    coordinator = site.login("coordinator@example.test")
    post(coordinator, f"/participants/{site.anoeshka}", {"first_name": "Anoeshka", "last_name": "Ramdin",
                                                         "status": "active", "group_id": site.group_id,
                                                         "lifecoach_id": site.coach, "phone": "06-99990000"})
    post(coordinator, f"/participants/{site.anoeshka}/excuses", {"date": "2031-01-06", "reason": "tandarts"})
    changes = [r["what"] for r in audit_rows(site, site.anoeshka) if r["action"] == "change"
               and r["staff_id"] == site.coordinator]
    assert changes == ["participant first_name, group_id, last_name, lifecoach_id, phone, status",
                       "excuse for 2031-01-06"]


def test_the_audit_page_lists_entries_for_admins_filtered_by_participant_number(site):
    site.login("fysio@example.test").get(f"/participants/{site.anoeshka}")
    site.login("coach@example.test").get(f"/participants/{site.mohamed}")
    page = site.login("beheer@example.test").get(f"/audit?participant_id={site.anoeshka}").get_data(as_text=True)
    assert "fysio@example.test" in page and "participant page: details, measurements" in page
    assert "coach@example.test" not in page


def test_the_audit_api_shows_web_views_too(site):
    site.login("fysio@example.test").get(f"/participants/{site.anoeshka}")
    from admin import auth as admin_auth
    conn = site.conn()
    token = admin_auth.new_api_token(conn, site.admin)
    conn.close()
    entries = site.app.test_client().get(f"/api/v1/audit?participant_id={site.anoeshka}",
                                         headers=auth(token)).json["entries"]
    assert any(e["staff"] == "fysio@example.test" and e["source"] == "web" and e["action"] == "view"
               for e in entries)


# --- management ------------------------------------------------------------------------

def group_form(**change):
    form = {"name": "Groep C", "location": "Rotterdam-Noord", "starts_on": "2027-01-04", "weeks": "12",
            "grace_minutes": "15", "weekday": ["0", "2", "4"], "start": ["09:00", "09:00", "13:00"],
            "end": ["12:00", "12:00", "16:00"]}
    form.update(change)
    return form


def test_an_admin_creates_a_group_with_three_half_days_a_week_and_its_own_grace(site):
    admin = site.login("beheer@example.test")
    r = post(admin, "/groups", group_form())
    assert r.status_code == 303
    (group,) = site.sql("SELECT * FROM groups WHERE name = 'Groep C'")
    assert group["grace_minutes"] == 15 and group["weeks"] == 12 and group["location"] == "Rotterdam-Noord"
    slots = site.sql("SELECT weekday, start, end FROM schedule_slots WHERE group_id = ? ORDER BY weekday", group["id"])
    assert slots == [{"weekday": 0, "start": "09:00", "end": "12:00"}, {"weekday": 2, "start": "09:00", "end": "12:00"},
                     {"weekday": 4, "start": "13:00", "end": "16:00"}]


@pytest.mark.parametrize("change, message", [
    ({"name": ""}, "Naam is verplicht"),
    ({"starts_on": "2027-02-30"}, "geen bestaande datum"),
    ({"grace_minutes": "500"}, "Coulance (minuten) moet een heel getal"),
    ({"end": ["08:00", "12:00", "16:00"]}, "Sessie 1: het eind moet na het begin liggen"),
])
def test_an_invalid_group_form_is_refused_in_dutch_and_nothing_is_written(site, change, message):
    r = post(site.login("beheer@example.test"), "/groups", group_form(**change), htmx=True)
    assert r.status_code == 422 and message in r.get_data(as_text=True)
    assert site.sql("SELECT * FROM groups WHERE location = 'Rotterdam-Noord'") == []


@pytest.mark.parametrize("change, field, message", [
    ({"name": ""}, "name", "Naam is verplicht."),
    ({"grace_minutes": "500"}, "grace_minutes", "Coulance (minuten) moet een heel getal van 0 tot en met 120 zijn."),
    ({"weekday": ["9", "2", "4"]}, "sessions", "Sessie 1: kies een weekdag."),
])
def test_a_form_error_is_shown_next_to_its_field(site, change, field, message):
    page = post(site.login("beheer@example.test"), "/groups", group_form(**change), htmx=True).get_data(as_text=True)
    assert f'<span class="field-error" id="error-{field}">{message}</span>' in page
    if field != "sessions":
        assert re.search(rf'name="{field}" aria-invalid="true"', page)


def test_changing_a_groups_schedule_reaches_the_kiosks_with_the_next_roster(site):
    before = site.app.test_client().get("/api/v1/sync/roster?since=0", headers=auth(site.kiosk_token)).json["version"]
    form = group_form(name="Groep B", location="Rotterdam-Zuid", grace_minutes="5")
    assert post(site.login("beheer@example.test"), f"/groups/{site.group_id}", form).status_code == 303
    roster = site.app.test_client().get(f"/api/v1/sync/roster?since={before}", headers=auth(site.kiosk_token)).json
    (group,) = roster["groups"]
    assert group["grace_minutes"] == 5 and len(group["slots"]) == 3


def test_a_coordinator_enrols_a_participant_with_status_and_lifecoach(site):
    r = post(site.login("coordinator@example.test"), "/participants",
             {"first_name": "Fatima", "last_name": "Bouzid", "group_id": site.group_id, "status": "intake",
              "lifecoach_id": site.coach, "phone": "06-55556666", "badge_uid": "04:49:76:22:d9:38:99"})
    assert r.status_code == 303
    (person,) = site.sql("SELECT * FROM participants WHERE first_name = 'Fatima'")
    assert r.headers["Location"].endswith(f"/participants/{person['id']}")
    assert person["status"] == "intake" and person["lifecoach_id"] == site.coach
    assert site.sql("SELECT uid FROM badges WHERE participant_id = ?", person["id"]) == [{"uid": "04497622D93899"}]


def test_staff_set_a_participants_kiosk_language_from_a_list_of_the_languages_we_speak(site):
    coordinator = site.login("coordinator@example.test")
    page = coordinator.get(f"/participants/{site.anoeshka}").get_data(as_text=True)
    assert '<option value="tr" lang="tr"' in page and "Türkçe" in page and "العربية" in page
    fields = {"first_name": "Anoeshka", "last_name": "Ramdin", "status": "active", "group_id": site.group_id,
              "lifecoach_id": site.coach, "phone": "06-11112222"}
    assert post(coordinator, f"/participants/{site.anoeshka}", fields | {"language": "pl"}).status_code == 303
    assert site.sql("SELECT language FROM participants WHERE id = ?", site.anoeshka) == [{"language": "pl"}]
    r = post(coordinator, f"/participants/{site.anoeshka}", fields | {"language": "klingon"}, htmx=True)
    assert r.status_code == 422 and "Kies een geldige waarde voor taal" in r.get_data(as_text=True)
    assert site.sql("SELECT language FROM participants WHERE id = ?", site.anoeshka) == [{"language": "pl"}]


def test_a_withdrawn_participant_leaves_the_board(site):
    coordinator = site.login("coordinator@example.test")
    r = post(coordinator, f"/participants/{site.mohamed}", {"first_name": "Mohamed", "last_name": "El Amrani",
                                                            "status": "withdrawn", "group_id": site.group_id,
                                                            "lifecoach_id": site.coach, "phone": ""})
    assert r.status_code == 303
    board = coordinator.get("/board").get_data(as_text=True)
    assert f'data-participant="{site.anoeshka}"' in board and f'data-participant="{site.mohamed}"' not in board


def test_an_unknown_badge_tapped_at_a_kiosk_is_assigned_from_the_enrolment_queue(site):
    pusher(site).checkin("04A1B2C3D4E5F6", result="unknown_badge")
    coordinator = site.login("coordinator@example.test")
    assert "04A1B2C3D4E5F6" in coordinator.get("/badges").get_data(as_text=True)
    r = post(coordinator, "/badges/assign", {"uid": "04A1B2C3D4E5F6", "participant_id": site.anoeshka}, htmx=True)
    assert r.status_code == 200 and "Badge toegekend" in r.get_data(as_text=True)
    assert site.sql("SELECT uid FROM badges WHERE participant_id = ? AND revoked_at IS NULL", site.anoeshka) == \
        [{"uid": "04A1B2C3D4E5F6"}]
    assert 'data-uid="04A1B2C3D4E5F6"' not in coordinator.get("/badges").get_data(as_text=True)


def test_a_badge_that_belongs_to_someone_else_is_refused(site):
    r = post(site.login("coordinator@example.test"), "/badges/assign",
             {"uid": "01010501B00A0002", "participant_id": site.anoeshka}, htmx=True)
    assert r.status_code == 422 and "al van iemand anders" in r.get_data(as_text=True)


def test_a_revoked_badge_is_inactive_for_the_kiosks(site):
    (badge,) = site.sql("SELECT id FROM badges WHERE participant_id = ?", site.anoeshka)
    assert post(site.login("coordinator@example.test"), f"/badges/{badge['id']}/revoke").status_code == 303
    roster = site.app.test_client().get("/api/v1/sync/roster?since=0", headers=auth(site.kiosk_token)).json
    assert {"uid": "01010501B00A0001", "inactive": True} in roster["badges"]


def test_a_new_kiosks_token_is_shown_once_and_only_its_hash_is_kept(site):
    admin = site.login("beheer@example.test")
    page = post(admin, "/kiosks", {"name": "noord-ingang", "location": "Rotterdam-Noord"}, htmx=True).get_data(as_text=True)
    token = re.search(r'<code class="token">(fwk_[^<]+)</code>', page).group(1)
    assert site.app.test_client().get("/api/v1/sync/roster", headers=auth(token)).status_code == 200
    assert token not in admin.get("/kiosks").get_data(as_text=True)
    assert token not in str(site.sql("SELECT * FROM kiosks"))


def test_a_revoked_kiosk_can_no_longer_sync(site):
    assert post(site.login("beheer@example.test"), f"/kiosks/{site.kiosk_id}/revoke").status_code == 303
    assert site.app.test_client().get("/api/v1/sync/roster", headers=auth(site.kiosk_token)).status_code == 401


def test_an_admin_creates_a_staff_account_that_can_log_in(site):
    r = post(site.login("beheer@example.test"), "/staff",
             {"email": "samira@example.test", "name": "Samira Ouali", "phone": "010-5550002", "role": "lifecoach",
              "password": "een goed wachtwoord"})
    assert r.status_code == 303
    site.login("samira@example.test", "een goed wachtwoord")


def test_an_admin_cannot_take_away_their_own_admin_rights(site):
    r = post(site.login("beheer@example.test"), f"/staff/{site.admin}", {"name": "B", "role": "lifecoach",
                                                                         "active": "1"})
    assert r.status_code == 422
    assert site.sql("SELECT role FROM staff WHERE id = ?", site.admin) == [{"role": "admin"}]


def test_a_staff_member_switches_off_email_notifications(site):
    client = site.login("coach@example.test")
    r = post(client, "/account", {"phone": "010-5550009"}, htmx=True)
    assert r.status_code == 200
    assert site.sql("SELECT phone, notify_email FROM staff WHERE id = ?", site.coach) == \
        [{"phone": "010-5550009", "notify_email": 0}]


# --- board, excuses, participant page ----------------------------------------------------

def test_the_board_flags_an_absence_with_the_lifecoach_and_the_number_to_call(site):
    page = site.login("coach@example.test").get("/board").get_data(as_text=True)
    alerts = page.split('class="alerts"')[1].split("</section>")[0]
    assert "Anoeshka Ramdin" in alerts and "06-11112222" in alerts and "Lars Visser" in alerts
    assert "010-5550001" in alerts


def test_the_board_shows_kiosk_health(site):
    site.sql("UPDATE kiosks SET clock_offset_s = -12.4, pending = 3, clock_synced = 0")
    page = site.login("coach@example.test").get("/board").get_data(as_text=True)
    row = page.split('class="kiosks"')[1].split("kiosk-1")[1].split("</tr>")[0]
    assert "-12 s" in row and "<td>3</td>" in row and "niet gesynchroniseerd" in row and "stil" not in row
    site.sql("UPDATE kiosks SET last_heard_at = '2026-01-01T09:00:00+00:00'")
    page = site.login("coach@example.test").get("/board").get_data(as_text=True)
    assert "stil" in page.split('class="kiosks"')[1]


def test_a_clock_a_few_milliseconds_either_side_does_not_change_the_board(site):
    coach = site.login("coach@example.test")
    versions = []
    for offset in (-0.002, 0.001, -0.4):
        site.sql("UPDATE kiosks SET clock_offset_s = ?", offset)
        page = coach.get("/board").get_data(as_text=True)
        versions.append(re.search(r'data-version="(\w+)"', page).group(1))
        assert "<td>+0 s" in page.split('class="kiosks"')[1]
    assert len(set(versions)) == 1


def test_an_excuse_entered_ahead_prevents_the_absence_flag_and_the_follow_up(site):
    coach = site.login("coach@example.test")
    today = datetime.now(AMS).date().isoformat()
    assert post(coach, "/excuses", {"participant_id": site.anoeshka, "date": today, "reason": "tandarts"}).status_code == 303
    page = coach.get("/board").get_data(as_text=True)
    assert re.search(rf'data-participant="{site.anoeshka}" data-status="excused"', page)
    assert [r["participant_id"] for r in site.sql("SELECT participant_id FROM follow_ups")] == [site.mohamed]


def test_the_board_fragment_answers_204_while_nothing_changed(site):
    coach = site.login("coach@example.test")
    version = re.search(r'data-version="(\w+)"', coach.get("/board").get_data(as_text=True)).group(1)
    assert coach.get(f"/board?v={version}", headers={"HX-Request": "true"}).status_code == 204
    pusher(site).checkin("01010501B00A0001", result="late")
    r = coach.get(f"/board?v={version}", headers={"HX-Request": "true"})
    assert r.status_code == 200 and re.search(rf'data-participant="{site.anoeshka}" data-status="late"', r.get_data(as_text=True))
    assert "<html" not in r.get_data(as_text=True)


def add_checkin(site, participant_id, at):
    site.sql("INSERT INTO checkins(id, kiosk_id, generation, seq, badge_uid, participant_id, result, at, local_date, "
             "time_source, kiosk_wall_at, clock_synced, boot_id, boot_s, received_at) VALUES "
             "(hex(randomblob(16)), ?, 'g', (SELECT coalesce(max(seq), 0) + 1 FROM checkins), 'X', ?, 'on_time', ?, "
             "?, 'synced', ?, 1, 'b', 0, ?)", site.kiosk_id, participant_id, at.isoformat(),
             at.astimezone(AMS).date().isoformat(), at.isoformat(), at.isoformat())


def test_the_attendance_history_gives_a_percentage_per_week_with_reasons(site):
    # The group meets once a week, on yesterday's weekday at 10:00, and started 15 days ago, so
    # all three sessions are past whatever the time of day: week 1 present, week 2 excused ahead
    # ("tandarts"), week 3 (yesterday) absent.
    today = datetime.now(AMS).date()
    site.sql("UPDATE schedule_slots SET weekday = ?, start = '10:00', end = '13:00'", (today - timedelta(days=1)).weekday())
    site.sql("UPDATE groups SET starts_on = ?", (today - timedelta(days=15)).isoformat())
    first = datetime.combine(today - timedelta(days=15), datetime.min.time(), AMS).replace(hour=10)
    add_checkin(site, site.anoeshka, first - timedelta(minutes=5))
    site.sql("INSERT INTO excuses(participant_id, date, reason, created_at) VALUES (?, ?, 'tandarts', 'x')",
             site.anoeshka, (first + timedelta(days=7)).date().isoformat())
    page = site.login("coach@example.test").get(f"/participants/{site.anoeshka}").get_data(as_text=True)
    weeks = re.findall(r"<tr><td>(\d)</td><td>1</td><td>(\d)</td>.*?<td class=\"pct\">(.*?)</td>\s*<td>(.*?)</td>",
                       page, flags=re.S)
    summary = [(w, attended, re.sub(r"<.*?>", "", pct).strip(), reasons) for w, attended, pct, reasons in weeks]
    assert summary == [("1", "1", "100%", ""), ("2", "0", "—", "tandarts"), ("3", "0", "0%", "")]


def test_the_participant_page_draws_trend_charts_and_shows_where_each_value_came_from(site):
    for day, weight, fat, sys_, dia in (("2026-10-05", 92.4, 35.1, 148, 95), ("2026-10-19", 91.0, 34.2, 141, 92),
                                        ("2026-11-02", 89.7, 33.0, 135, 88)):
        site.measurement(site.anoeshka, site.kiosk_id, f"{day}T08:00:00+00:00",
                         {"weight_kg": weight, "fat_pct": fat, "systolic_mmhg": sys_, "diastolic_mmhg": dia})
    site.measurement(site.anoeshka, site.kiosk_id, "2026-11-09T08:00:00+00:00", {"systolic_mmhg": 131, "diastolic_mmhg": 86},
                     sources={"bp": {"manual": True, "reason": "manchet gaf foutmelding"}})
    page = site.login("fysio@example.test").get(f"/participants/{site.anoeshka}").get_data(as_text=True)
    charts = re.findall(r'<svg class="chart".*?</svg>', page, flags=re.S)
    assert [c.count('class="point"') for c in charts] == [3, 3, 8]  # weight, fat %, blood pressure (two lines)
    assert "Gewicht" in charts[0] and "bovendruk" in charts[2] and "onderdruk" in charts[2]
    # Not by colour alone: the two blood-pressure lines differ in marker shape and dash too.
    assert charts[2].count('<circle class="point"') == 4 and charts[2].count('<rect class="point"') == 4
    assert charts[2].count("stroke-dasharray") == 2  # the dashed line and its legend sample
    # In words, for a screen reader (the svg is described by its caption) and for everyone.
    assert 'aria-describedby="chart-gewicht-summary"' in charts[0]
    assert ('<figcaption id="chart-gewicht-summary" class="chart-summary">Gewicht: 3 metingen van '
            '05-10-2026 tot 02-11-2026, van 92.4 naar 89.7 kg (laagste 89.7, hoogste 92.4).</figcaption>') in page
    assert "Bloeddruk. Bovendruk: 4 metingen van 05-10-2026 tot 09-11-2026, van 148 naar 131 mmHg" in page
    assert "SN-4711" in page and "BC-418" in page and "handmatig ingevoerd" in page and "manchet gaf foutmelding" in page


def test_the_group_attendance_csv_has_every_session_and_cannot_smuggle_a_formula(site):
    site.sql("UPDATE participants SET first_name = '=HYPERLINK(\"http://evil\")' WHERE id = ?", site.mohamed)
    r = site.login("coordinator@example.test").get(f"/groups/{site.group_id}/attendance.csv")
    assert r.headers["Content-Disposition"] == f'attachment; filename="aanwezigheid-groep-{site.group_id}.csv"'
    rows = list(csv.reader(io.StringIO(r.get_data(as_text=True).lstrip("\ufeff")), delimiter=";"))
    assert rows[0][:4] == ["deelnemer_id", "voornaam", "achternaam", "week"]
    statuses = {row[0]: row[6] for row in rows[1:] if row[4] == datetime.now(AMS).date().isoformat()}
    assert statuses == {str(site.anoeshka): "afwezig", str(site.mohamed): "afwezig"}
    assert any(row[1].startswith("'=HYPERLINK") for row in rows[1:])


def test_an_old_database_gets_the_new_columns_when_it_is_migrated(tmp_path):
    from common.db import connect, init_schema
    conn = connect(tmp_path / "old.sqlite")
    conn.execute("CREATE TABLE follow_ups (id INTEGER PRIMARY KEY, participant_id INTEGER NOT NULL, "
                 "session_date TEXT NOT NULL, session_start TEXT NOT NULL, lifecoach_id INTEGER, opened_at TEXT NOT NULL, "
                 "contacted TEXT, reason TEXT NOT NULL DEFAULT '', excused INTEGER, note TEXT NOT NULL DEFAULT '', "
                 "next_step TEXT NOT NULL DEFAULT '', escalated_at TEXT, closed_at TEXT, updated_at TEXT NOT NULL, "
                 "UNIQUE (participant_id, session_date, session_start))")
    conn.execute("CREATE TABLE login_failures (id INTEGER PRIMARY KEY, email TEXT NOT NULL, at TEXT NOT NULL)")
    init_schema(conn, "admin")
    init_schema(conn, "admin")  # and again: idempotent
    columns = {row[1] for row in conn.execute("PRAGMA table_info(follow_ups)")}
    assert {"picked_up_at", "mail_sent_at", "mail_result", "resolution", "group_id"} <= columns
    assert "client" in {row[1] for row in conn.execute("PRAGMA table_info(login_failures)")}


def test_a_login_posted_from_another_site_is_refused(site):
    client = site.app.test_client()
    for headers in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"},
                    {"Origin": "null", "Sec-Fetch-Site": "same-site"}):
        r = client.post("/login", data={"email": "coach@example.test", "password": PASSWORD}, headers=headers)
        assert r.status_code == 403 and "fitwerk_session" not in r.headers.get("Set-Cookie", "")
    r = client.post("/login", data={"email": "coach@example.test", "password": PASSWORD},
                    headers={"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"})
    assert r.status_code == 302


def test_a_badge_that_no_longer_counts_is_listed_for_the_desk_on_the_board(site):
    pusher(site).checkin("01010501B00A0001", result="inactive")
    page = site.login("coach@example.test").get("/board").get_data(as_text=True)
    assert "pas niet meer actief" in page and "Anoeshka" in page.split("pas niet meer actief")[1]


def test_sex_and_birth_date_are_entered_on_the_staff_site_and_shown(site):
    coordinator = site.login("coordinator@example.test")
    r = post(coordinator, "/participants", {"first_name": "Fatima", "last_name": "Bouzid", "group_id": site.group_id,
                                            "sex": "female", "birth_date": "1985-03-14"})
    assert r.status_code == 303
    (person,) = site.sql("SELECT id, sex, birth_date FROM participants WHERE first_name = 'Fatima'")
    assert (person["sex"], person["birth_date"]) == ("female", "1985-03-14")
    page = coordinator.get(f"/participants/{person['id']}").get_data(as_text=True)
    assert "vrouw" in page and "1985-03-14" in page
    r = post(coordinator, f"/participants/{site.mohamed}", {"first_name": "Mohamed", "last_name": "El Amrani",
                                                            "status": "active", "group_id": site.group_id,
                                                            "sex": "male", "birth_date": "2031-01-01"})
    assert r.status_code == 422 and "De geboortedatum ligt na 1900" in r.get_data(as_text=True)
    assert site.sql("SELECT sex FROM participants WHERE id = ?", site.mohamed) == [{"sex": None}]
