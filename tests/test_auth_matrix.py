"""Roles decide who sees what: every page and every API endpoint × every role, allowed or
denied, and the table must name every route the app has — a new route without a rule
fails here. A denied request changes nothing, not even the audit log."""
import pytest

from tests.support.live import auth
from tests.support.site import Site, post, ram_dir

A, C, L, P, T, D = "admin", "coordinator", "lifecoach", "physio", "trainer", "doctor"
ROLES = [A, C, L, P, T, D]
EVERYONE = set(ROLES)
BOARD = {A, C, L}
MISSING = 999999  # an id nobody has: allowed roles get as far as 404

# (method, endpoint, path, allowed roles, form data). Paths use the ids of the `site`
# fixture: {pid} a participant of LifeCoach 1, {other_case} a case of LifeCoach 2
# (so the logged-in LifeCoach 1 may not open it), {group}, {staff} the physio.
# Write requests carry invalid or harmless data: an allowed role is refused by
# validation (400/422) or 404, never by the role check (403).
WEB = [
    ("GET", "board.home", "/", EVERYONE, None),
    ("GET", "board.board", "/board", BOARD, None),
    ("GET", "followup.index", "/follow-ups", BOARD, None),
    ("GET", "followup.case_page", "/follow-ups/{other_case}", {A, C}, None),
    ("POST", "followup.save_case", "/follow-ups/{other_case}", {A, C}, {"close": "1"}),
    ("POST", "followup.reopen", "/follow-ups/{other_case}/reopen", {A, C}, {}),
    ("GET", "excuses.index", "/excuses", BOARD, None),
    ("POST", "excuses.create", "/excuses", BOARD, {"participant_id": "{pid}", "date": "", "reason": ""}),
    ("POST", "excuses.delete", f"/excuses/{MISSING}/delete", BOARD, {}),
    ("GET", "calendar.index", "/calendar", {A, C}, None),
    ("POST", "calendar.create", "/calendar", {A, C}, {"target": "", "date": "", "reason": ""}),
    ("GET", "participant.index", "/participants", EVERYONE, None),
    ("POST", "participant.search", "/participants/search", EVERYONE, {"q": "Anoe"}),
    ("GET", "participant.new", "/participants/new", {A, C}, None),
    ("POST", "participant.create", "/participants", {A, C}, {"first_name": ""}),
    ("GET", "participant.page", "/participants/{pid}", EVERYONE, None),
    ("POST", "participant.update", "/participants/{pid}", {A, C}, {"first_name": "", "status": "active"}),
    ("POST", "participant.assign_badge", "/participants/{pid}/badge", {A, C}, {"uid": "not hex"}),
    ("POST", "participant.revoke_badge", f"/participants/{MISSING}/badge/revoke", {A, C}, {}),
    ("POST", "participant.add_excuse", "/participants/{pid}/excuses", BOARD, {"date": "gisteren", "reason": ""}),
    ("GET", "participant.measurements_csv", "/participants/{pid}/measurements.csv", {A, P, D}, None),
    ("GET", "goals.index", "/goals", {A, C, T}, None),
    ("GET", "goals.week_page", "/groups/{group}/goals", {A, C, T}, None),
    ("POST", "goals.score_from_page", f"/goals/{MISSING}/weeks/1", {A, C, T}, {"score": "0"}),
    ("GET", "outcomes.report_page", "/reports/outcomes", {A, C}, None),
    ("GET", "outcomes.programme_page", "/participants/{pid}/programme", {A, C, L, P, D}, None),
    ("POST", "outcomes.programme_form", "/participants/{pid}/programme/ladder", {A, C, L}, {"moment": "m99"}),
    ("GET", "outcomes.aftercare", "/aftercare", {A, C, L}, None),
    ("GET", "outcomes.handover_page", "/participants/{pid}/handover", {A, C, L, T}, None),
    ("POST", "outcomes.handover_note", f"/participants/{MISSING}/handover", {A, C, T}, {"note": ""}),
    ("GET", "manage.groups", "/groups", {A, C}, None),
    ("POST", "manage.create_group", "/groups", {A}, {"name": ""}),
    ("GET", "manage.group", "/groups/{group}", {A, C}, None),
    ("POST", "manage.update_group", "/groups/{group}", {A}, {"name": ""}),
    ("GET", "manage.group_attendance_csv", "/groups/{group}/attendance.csv", {A, C}, None),
    ("GET", "manage.badges", "/badges", {A, C}, None),
    ("POST", "manage.assign_badge", "/badges/assign", {A, C}, {"uid": "", "participant_id": ""}),
    ("POST", "manage.revoke_badge", f"/badges/{MISSING}/revoke", {A, C}, {}),
    ("GET", "manage.kiosks", "/kiosks", {A}, None),
    ("POST", "manage.add_kiosk", "/kiosks", {A}, {"name": "", "location": ""}),
    ("POST", "manage.revoke_kiosk", "/kiosks/no-such-kiosk/revoke", {A}, {}),
    ("GET", "manage.staff", "/staff", {A}, None),
    ("POST", "manage.create_staff", "/staff", {A}, {"email": "not-an-address", "role": "admin"}),
    ("POST", "manage.update_staff", "/staff/{staff}", {A}, {"role": "nonsense"}),
    ("GET", "audit.index", "/audit", {A}, None),
    ("GET", "privacy.page", "/participants/{pid}/privacy", {A}, None),
    ("GET", "privacy.export_page", "/participants/{pid}/export", {A}, None),
    ("POST", "privacy.legal_hold", "/participants/{pid}/legal-hold", {A}, {"reason": ""}),
    ("POST", "privacy.erase_page", "/participants/{pid}/erase", {A}, {"reason": "", "confirm": ""}),
    ("GET", "account.index", "/account", EVERYONE, None),
    ("POST", "account.update", "/account", EVERYONE, {"phone": "0" * 31}),
    ("POST", "account.change_password", "/account/password", EVERYONE, {"current_password": "wrong"}),
    ("POST", "account.set_pin", "/account/pin", {A, P}, {"current_password": "wrong", "pin": "1234"}),
    ("GET", "intake.index", "/intake", {A, P, D}, None),
    ("POST", "intake.add_check", "/intake/device-checks", {A, P}, {"device_serial": ""}),
    ("GET", "intake_ranges.page", "/intake/warning-ranges", {A, P}, None),
    ("POST", "intake_ranges.save", "/intake/warning-ranges", {A, P}, {"low_pulse_bpm": "x", "high_pulse_bpm": "1"}),
    ("POST", "intake.invalidate_page", "/participants/{pid}/measurements/no-such/invalidate", {A, P}, {"reason": ""}),
]
# Open to all by design, tested elsewhere: the login form, logout, static files, and the
# kiosk sync API (kiosk tokens, below).
NOT_IN_MATRIX = {"login.login", "login.logout", "static", "sync.push", "sync.roster", "api.openapi"}

API = [
    ("POST", "api.create_group", "/api/v1/groups", {A}, {}),
    ("GET", "api.list_groups", "/api/v1/groups", BOARD, None),
    ("POST", "api.create_participant", "/api/v1/participants", {A}, {}),
    ("GET", "api.participant", "/api/v1/participants/{pid}", EVERYONE, None),
    ("PUT", "api.assign_badge", "/api/v1/participants/{pid}/badge", {A, C}, {}),
    ("POST", "api.add_excuse", "/api/v1/participants/{pid}/excuses", BOARD, {}),
    ("GET", "api.attendance", "/api/v1/attendance", BOARD, None),
    ("GET", "api.checkins", "/api/v1/checkins", BOARD, None),
    ("GET", "api.measurements", "/api/v1/participants/{pid}/measurements", {A, P, D}, None),
    ("GET", "api.progress", "/api/v1/participants/{pid}/progress", {A, P, D}, None),
    ("POST", "api.invalidate", "/api/v1/measurements/no-such/invalidate", {A, P}, {}),
    ("POST", "api.device_check", "/api/v1/device-checks", {A, P}, {}),
    ("GET", "api.device_checks", "/api/v1/device-checks", {A, P, D}, None),
    ("GET", "intake_ranges.api_get", "/api/v1/warning-ranges", {A, P}, None),
    ("PUT", "intake_ranges.api_put", "/api/v1/warning-ranges", {A, P}, {"ranges": {"iq": {"low": 1, "high": 2}}}),
    ("GET", "api.group_gaps", "/api/v1/groups/{group}/gaps", {A, P, D}, None),
    ("POST", "goals_api.api_add_goal", "/api/v1/participants/{pid}/goals", {A, C, T}, {}),
    ("GET", "goals_api.api_goals", "/api/v1/participants/{pid}/goals", {A, C, L, T}, None),
    ("PUT", "goals_api.api_adjust_goal", f"/api/v1/goals/{MISSING}", {A, C, T}, {}),
    ("PUT", "goals_api.api_score", f"/api/v1/goals/{MISSING}/evaluations/1", {A, C, T}, {}),
    ("POST", "outcomes_api.api_screening", "/api/v1/participants/{pid}/screening", {A, D}, {}),
    ("POST", "outcomes_api.api_load_tests", "/api/v1/participants/{pid}/load-tests", {A, P}, {}),
    ("POST", "outcomes_api.api_placement", "/api/v1/participants/{pid}/placements", {A, C, L}, {}),
    ("POST", "outcomes_api.api_ladder", "/api/v1/participants/{pid}/ladder", {A, C, L}, {}),
    ("GET", "outcomes_api.api_report", "/api/v1/reports/outcomes", {A, C}, None),
    ("POST", "cancellations_api.cancel_group", "/api/v1/groups/{group}/cancellations", {A, C}, {}),
    ("POST", "cancellations_api.cancel_location", "/api/v1/locations/Rotterdam-Zuid/cancellations", {A, C}, {}),
    ("GET", "api.unknown_badges", "/api/v1/badges/unknown", {A, C}, None),
    ("GET", "api.audit_trail", "/api/v1/audit?participant_id={pid}", {A}, None),
    ("GET", "api.kiosks", "/api/v1/kiosks", BOARD, None),
    ("GET", "privacy_api.export_api", "/api/v1/participants/{pid}/export", {A}, None),
    ("POST", "privacy_api.erase_api", "/api/v1/participants/{pid}/erase", {A}, {}),
    ("GET", "followup_api.api_list", "/api/v1/follow-ups", BOARD, None),
    ("GET", "followup_api.api_get", "/api/v1/follow-ups/{other_case}", {A, C}, None),
    ("PATCH", "followup_api.api_update", "/api/v1/follow-ups/{other_case}", {A, C}, {"closed": True}),
]


@pytest.fixture(scope="module")
def site():
    """Staff of every role, a group in session with two absent participants (so two
    follow-up cases), a kiosk, a badge and a measurement; a logged-in client and an
    API token per role."""
    with ram_dir() as path:
        yield make_site(path)


def make_site(path):
    from admin import auth as admin_auth
    s = Site(path)
    ids = {role: s.staff(f"{role}@example.test", role) for role in ROLES}
    coach2 = s.staff("coach2@example.test", L, name="Tweede Coach")
    group = s.group()
    pid = s.participant("Anoeshka", group, lifecoach_id=ids[L], badge_uid="04497622D93881")
    other = s.participant("Mohamed", group, lifecoach_id=coach2, last_name="Bouzid", phone="06-99887766")
    kiosk_id, _ = s.kiosk()
    s.kiosk_delivered(kiosk_id)
    s.measurement(pid, kiosk_id, "2026-11-02T09:00:00+00:00", {"weight_kg": 80.5})
    s.clients = {role: s.login(f"{role}@example.test") for role in ROLES}
    s.clients[A].get("/board")  # computing attendance opens the two cases
    cases = {r["participant_id"]: r["id"] for r in s.sql("SELECT id, participant_id FROM follow_ups")}
    assert set(cases) == {pid, other}
    conn = s.conn()
    s.tokens = {role: admin_auth.new_api_token(conn, ids[role]) for role in ROLES}
    conn.close()
    s.ids = {"pid": pid, "other_case": cases[other], "own_case": cases[pid], "group": group, "staff": ids[P],
             "other": other}
    conn = s.conn()
    s.ids["other_excuse"] = conn.execute(
        "INSERT INTO excuses(participant_id, date, reason, created_by, created_at) VALUES (?, '2099-01-05', "
        "'tandarts', ?, '2026-01-01T00:00:00+00:00')", (other, coach2)).lastrowid
    conn.close()
    return s


def snapshot(site):
    """Everything in the database except the sessions' last-seen stamps."""
    conn = site.conn()
    try:
        return [line for line in conn.iterdump() if "login_sessions" not in line]
    finally:
        conn.close()


def _request(client, method, path, data, csrf=None):
    if method == "GET":
        return client.get(path)
    form = {k: v for k, v in (data or {}).items()}
    if csrf:
        form["csrf_token"] = csrf
    return client.open(path, method=method, data=form)


def test_every_route_of_the_app_is_in_the_matrix(site):
    covered = {(endpoint, method) for method, endpoint, *_ in WEB + API}
    for rule in site.app.url_map.iter_rules():
        if rule.endpoint in NOT_IN_MATRIX:
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (rule.endpoint, method) in covered, f"{method} {rule.rule} has no row in the auth matrix"


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("method, endpoint, path, allowed, data", WEB, ids=[f"{m} {e}" for m, e, *_ in WEB])
def test_web_route_by_role(site, role, method, endpoint, path, allowed, data):
    client = site.clients[role]
    url = path.format(**site.ids)
    form = {k: v.format(**site.ids) if isinstance(v, str) else v for k, v in (data or {}).items()}
    before = snapshot(site)
    response = _request(client, method, url, form, csrf=client.csrf)
    if role in allowed:
        assert response.status_code not in (401, 403), f"{role} was refused {method} {url}"
        assert response.status_code < 500
        assert "/login" not in response.headers.get("Location", "")
        if method == "GET":
            assert response.status_code in (200, 302)
    else:
        assert response.status_code == 403, f"{role} got {response.status_code} for {method} {url}"
        assert snapshot(site) == before, f"a refused {method} {url} changed the database"


@pytest.mark.parametrize("method, endpoint, path, allowed, data", WEB, ids=[f"{m} {e}" for m, e, *_ in WEB])
def test_web_route_without_login_goes_to_the_login_page(site, method, endpoint, path, allowed, data):
    anonymous = site.app.test_client()
    before = snapshot(site)
    response = _request(anonymous, method, path.format(**site.ids), data)
    if method == "GET":
        assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    else:
        assert response.status_code in (302, 400)  # no session, so no CSRF token either
    assert snapshot(site) == before


def test_an_htmx_request_without_login_is_told_to_go_to_the_login_page(site):
    response = site.app.test_client().get("/board", headers={"HX-Request": "true"})
    assert response.status_code == 401 and response.headers["HX-Redirect"].endswith("/login")


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("method, endpoint, path, allowed, body", API, ids=[f"{m} {e}" for m, e, *_ in API])
def test_api_endpoint_by_role(site, role, method, endpoint, path, allowed, body):
    client = site.app.test_client()
    url = path.format(**site.ids)
    before = snapshot(site)
    response = client.open(url, method=method, json=body, headers=auth(site.tokens[role]))
    if role in allowed:
        assert response.status_code not in (401, 403), f"{role} was refused {method} {url}: {response.json}"
        assert response.status_code < 500
    else:
        assert response.status_code == 403 and "error" in response.json
        assert snapshot(site) == before


@pytest.mark.parametrize("method, endpoint, path, allowed, body", API, ids=[f"{m} {e}" for m, e, *_ in API])
def test_api_endpoint_without_a_token_is_401(site, method, endpoint, path, allowed, body):
    response = site.app.test_client().open(path.format(**site.ids), method=method, json=body)
    assert response.status_code == 401 and "error" in response.json


@pytest.mark.parametrize("role", ROLES)
def test_a_staff_token_cannot_use_the_kiosk_sync_api(site, role):
    client = site.app.test_client()
    assert client.get("/api/v1/sync/roster", headers=auth(site.tokens[role])).status_code == 401
    assert client.post("/api/v1/sync/push", json={}, headers=auth(site.tokens[role])).status_code == 401


def test_a_lifecoach_handles_their_own_case(site):
    lifecoach = site.clients[L]
    assert lifecoach.get(f"/follow-ups/{site.ids['own_case']}").status_code == 200
    r = site.app.test_client().get(f"/api/v1/follow-ups/{site.ids['own_case']}", headers=auth(site.tokens[L]))
    assert r.status_code == 200 and r.json["first_name"] == "Anoeshka"


def test_a_lifecoach_lists_only_their_own_cases(site):
    r = site.app.test_client().get("/api/v1/follow-ups?status=all", headers=auth(site.tokens[L]))
    assert [c["id"] for c in r.json["follow_ups"]] == [site.ids["own_case"]]
    r = site.app.test_client().get("/api/v1/follow-ups?status=all", headers=auth(site.tokens[C]))
    assert len(r.json["follow_ups"]) == 2


def test_only_health_roles_see_measurements_on_the_participant_page(site):
    url = f"/participants/{site.ids['pid']}"
    for role in (A, P):
        page = site.clients[role].get(url).get_data(as_text=True)
        assert 'id="measurements"' in page and "80.5" in page, role
    for role in (C, L):
        page = site.clients[role].get(url).get_data(as_text=True)
        assert 'id="measurements"' not in page and "80.5" not in page, role


def test_the_physio_sees_no_attendance_history_or_follow_ups(site):
    page = site.clients[P].get(f"/participants/{site.ids['pid']}").get_data(as_text=True)
    assert 'id="attendance"' not in page and 'id="excuses"' not in page


def test_the_menu_shows_each_role_only_what_it_may_open(site):
    nav = site.clients[P].get("/account").get_data(as_text=True).split("<main>")[0]
    assert "/participants" in nav and "/board" not in nav and "/audit" not in nav
    nav = site.clients[L].get("/account").get_data(as_text=True).split("<main>")[0]
    assert "/follow-ups" in nav and "/staff" not in nav and "/groups" not in nav


# --- ownership: a LifeCoach sees and changes their own people only -------------------

def test_a_lifecoach_gets_403_for_another_coachs_participant_and_nothing_changes(site):
    before = snapshot(site)
    r = site.app.test_client().get(f"/api/v1/participants/{site.ids['other']}", headers=auth(site.tokens[L]))
    assert r.status_code == 403 and "own participants" in r.json["error"]
    assert snapshot(site) == before  # not even an audit entry: nothing was shown


def test_the_api_shows_all_fields_to_their_own_lifecoach_coordinators_and_admins(site):
    for role, pid in ((L, site.ids["pid"]), (C, site.ids["other"]), (A, site.ids["other"])):
        r = site.app.test_client().get(f"/api/v1/participants/{pid}", headers=auth(site.tokens[role]))
        assert r.status_code == 200, role
        assert {"first_name", "last_name", "phone", "group_id", "status", "lifecoach_id"} <= set(r.json), role
    r = site.app.test_client().get(f"/api/v1/participants/{site.ids['other']}", headers=auth(site.tokens[C]))
    assert r.json["last_name"] == "Bouzid" and r.json["phone"] == "06-99887766"
    assert site.app.test_client().get("/api/v1/participants/999999", headers=auth(site.tokens[A])).status_code == 404


def test_a_lifecoach_sees_only_first_name_group_and_status_of_another_coachs_participant(site):
    page = site.clients[L].get(f"/participants/{site.ids['other']}").get_data(as_text=True)
    assert "Mohamed" in page and "Groep B" in page
    for secret in ("Bouzid", "06-99887766", 'id="attendance"', 'id="excuses"', "tandarts"):
        assert secret not in page, secret
    own = site.clients[L].get(f"/participants/{site.ids['pid']}").get_data(as_text=True)
    assert 'id="attendance"' in own and "06-12345678" in own
    full = site.clients[C].get(f"/participants/{site.ids['other']}").get_data(as_text=True)
    assert "Bouzid" in full and "06-99887766" in full and "tandarts" in full


def test_a_lifecoach_lists_and_finds_other_coaches_people_by_first_name_only(site):
    listing = site.clients[L].get("/participants").get_data(as_text=True)
    assert "Mohamed" in listing and "Bouzid" not in listing and "Tweede Coach" not in listing
    found = post(site.clients[L], "/participants/search", {"q": "Bouzid"}).get_data(as_text=True)
    assert "Mohamed" not in found  # a surname must not find someone else's participant
    assert "Mohamed" in post(site.clients[L], "/participants/search", {"q": "Moh"}).get_data(as_text=True)
    assert "Bouzid" in post(site.clients[C], "/participants/search", {"q": "Bouzid"}).get_data(as_text=True)


def test_a_lifecoachs_call_list_holds_their_own_people_and_a_coordinators_everybody(site):
    def call_list(role):
        page = site.clients[role].get("/board").get_data(as_text=True)
        return page[page.index('class="alerts"'):] if 'class="alerts"' in page else ""
    mine = call_list(L)
    assert "Anoeshka Test" in mine and "Bouzid" not in mine and "06-99887766" not in mine
    everyone = call_list(C)
    assert "Anoeshka Test" in everyone and "Mohamed Bouzid" in everyone


@pytest.mark.parametrize("how", ["page", "excuses page", "api", "delete"])
def test_a_lifecoach_cannot_add_or_delete_another_coachs_participants_excuses(site, how):
    before = snapshot(site)
    valid = {"date": "2099-02-02", "reason": "ziek"}
    if how == "page":
        r = post(site.clients[L], f"/participants/{site.ids['other']}/excuses", valid)
    elif how == "excuses page":
        r = post(site.clients[L], "/excuses", {"participant_id": str(site.ids["other"]), **valid})
    elif how == "api":
        r = site.app.test_client().post(f"/api/v1/participants/{site.ids['other']}/excuses", json=valid,
                                        headers=auth(site.tokens[L]))
        assert r.json == {"error": "a LifeCoach may do this only for their own participants"}
    else:
        r = post(site.clients[L], f"/excuses/{site.ids['other_excuse']}/delete")
    assert r.status_code == 403
    assert snapshot(site) == before


def test_the_excuses_page_of_a_lifecoach_lists_only_their_own_people(site):
    page = site.clients[L].get("/excuses").get_data(as_text=True)
    assert "tandarts" not in page and "Bouzid" not in page and "Anoeshka" in page
    assert "tandarts" in site.clients[C].get("/excuses").get_data(as_text=True)
