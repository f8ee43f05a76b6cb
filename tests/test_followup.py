"""Follow-up: every absence without notice opens a case for the participant's LifeCoach
the moment it is computed, the LifeCoach gets one e-mail (over real SMTP), a case nobody
picks up is escalated to the coordinator, and the call is logged until the case closes."""
import time
from datetime import datetime, timedelta, timezone

import pytest

from tests.support.live import auth, wait_for
from tests.support.site import KioskPusher, Site, post, ram_dir


def make(path, **config):
    s = Site(path, **config)
    s.coordinator = s.staff("coordinator@example.test", "coordinator", name="Carla de Wit")
    s.coach = s.staff("coach@example.test", "lifecoach", name="Lars Visser")
    s.other_coach = s.staff("samira@example.test", "lifecoach", name="Samira Ouali")
    s.group_id = s.group()
    s.anoeshka = s.participant("Anoeshka", s.group_id, s.coach, last_name="Ramdin", phone="06-11112222",
                               badge_uid="01010501B00A0001")
    s.mohamed = s.participant("Mohamed", s.group_id, s.other_coach, badge_uid="01010501B00A0002")
    s.kiosk_id, s.kiosk_token = s.kiosk()
    s.kiosk_delivered(s.kiosk_id)
    return s


@pytest.fixture
def site():
    """A group in session since 30 minutes (no grace), Anoeshka (LifeCoach Lars) and
    Mohamed (LifeCoach Samira), both absent; no SMTP server configured."""
    with ram_dir() as path:
        yield make(path)


@pytest.fixture
def mail_site(smtp_server):
    """As `site`, with SMTP going to a local aiosmtpd server (`site.inbox`)."""
    with ram_dir() as path:
        s = make(path, SMTP_HOST="127.0.0.1", SMTP_PORT=smtp_server.port, MAIL_FROM="fitwerk@example.test",
                 ADMIN_BASE_URL="https://admin.fitwerk.test")
        s.inbox = smtp_server
        yield s


def cases(site):
    return site.sql("SELECT * FROM follow_ups ORDER BY participant_id")


def run_command(site):
    result = site.app.test_cli_runner().invoke(args=["follow-ups"])
    assert result.exit_code == 0, result.output
    return dict(pair.split("=") for pair in result.output.split()[:6])


def push(site):
    client = site.app.test_client()
    return KioskPusher(lambda path, body, token: client.post(path, json=body, headers=auth(token)), site.kiosk_token)


def backdate(site, case_id, minutes):
    at = (datetime.now(timezone.utc) - timedelta(minutes=minutes)).isoformat(timespec="milliseconds")
    site.sql("UPDATE follow_ups SET opened_at = ? WHERE id = ?", at, case_id)


# --- opening ------------------------------------------------------------------------

def test_an_absence_on_the_board_opens_one_case_for_the_participants_lifecoach(site):
    board = site.login("coordinator@example.test")
    for _ in range(3):  # every poll computes attendance again; the case is opened once
        board.get("/board", headers={"HX-Request": "true"})
    rows = cases(site)
    assert [(c["participant_id"], c["lifecoach_id"]) for c in rows] == [(site.anoeshka, site.coach),
                                                                          (site.mohamed, site.other_coach)]
    assert rows[0]["group_id"] == site.group_id and rows[0]["closed_at"] is None


def test_the_attendance_api_opens_the_cases_too(site):
    from admin import auth as admin_auth
    conn = site.conn()
    token = admin_auth.new_api_token(conn, site.coach)
    conn.close()
    site.app.test_client().get("/api/v1/attendance", headers=auth(token))
    assert len(cases(site)) == 2


def test_the_command_opens_cases_without_anyone_looking(site):
    counts = run_command(site)
    assert counts["opened"] == "2" and len(cases(site)) == 2
    assert run_command(site)["opened"] == "0"


def test_no_case_while_a_kiosk_has_not_delivered_up_to_the_deadline(site):
    site.sql("UPDATE kiosks SET watermark_at = '2020-01-01T00:00:00+00:00'")
    run_command(site)
    assert cases(site) == []


def test_no_case_before_start_plus_grace(site):
    site.sql("UPDATE groups SET grace_minutes = 120")
    run_command(site)
    assert cases(site) == []


def test_opening_a_case_is_in_the_audit_trail_as_the_systems_doing(site):
    run_command(site)
    (entry,) = site.sql("SELECT * FROM audit_log WHERE participant_id = ? AND what LIKE 'follow-up case%'",
                        site.anoeshka)
    assert entry["staff_id"] is None and entry["staff_role"] == "system" and "opened" in entry["what"]


def test_a_participant_without_a_lifecoach_goes_straight_to_the_coordinator(site):
    site.sql("UPDATE participants SET lifecoach_id = NULL WHERE id = ?", site.mohamed)
    run_command(site)
    by_person = {c["participant_id"]: c for c in cases(site)}
    assert by_person[site.mohamed]["escalated_at"] is not None
    assert by_person[site.anoeshka]["escalated_at"] is None


def test_an_untouched_case_closes_itself_when_the_participant_checks_in_after_all(site):
    run_command(site)
    push(site).checkin("01010501B00A0001", result="late")
    run_command(site)
    by_person = {c["participant_id"]: c for c in cases(site)}
    assert by_person[site.anoeshka]["closed_at"] and by_person[site.anoeshka]["resolution"] == "checked_in"
    assert by_person[site.mohamed]["closed_at"] is None


def test_a_case_someone_is_working_on_stays_open_after_a_late_check_in(site):
    run_command(site)
    (case,) = [c for c in cases(site) if c["participant_id"] == site.anoeshka]
    post(site.login("coach@example.test"), f"/follow-ups/{case['id']}",
         {"contacted": "not_reached", "note": "voicemail ingesproken"})
    push(site).checkin("01010501B00A0001", result="late")
    run_command(site)
    assert site.sql("SELECT closed_at FROM follow_ups WHERE id = ?", case["id"]) == [{"closed_at": None}]


# --- escalation ------------------------------------------------------------------------

def test_a_case_not_picked_up_in_time_is_escalated_to_the_coordinator(site):
    run_command(site)
    first, second = cases(site)
    backdate(site, first["id"], 121)
    backdate(site, second["id"], 119)
    assert run_command(site)["escalated"] == "1"
    escalated = {c["id"]: c["escalated_at"] for c in cases(site)}
    assert escalated[first["id"]] and escalated[second["id"]] is None
    page = site.login("coordinator@example.test").get("/follow-ups?view=escalated").get_data(as_text=True)
    assert f'data-case="{first["id"]}"' in page and f'data-case="{second["id"]}"' not in page


def test_the_escalation_time_is_configurable():
    with ram_dir() as path:
        s = make(path, FOLLOW_UP_ESCALATE_MINUTES="5")
        run_command(s)
        backdate(s, cases(s)[0]["id"], 6)
        assert run_command(s)["escalated"] == "1"


def test_a_picked_up_case_is_not_escalated(site):
    run_command(site)
    case = cases(site)[0]
    post(site.login("coach@example.test"), f"/follow-ups/{case['id']}", {"contacted": "", "note": "bel vanmiddag"})
    backdate(site, case["id"], 500)
    assert run_command(site)["escalated"] == "0"


# --- e-mail ------------------------------------------------------------------------------

def test_the_lifecoach_gets_one_email_per_case_with_a_link_and_no_health_data(mail_site):
    s = mail_site
    s.measurement(s.anoeshka, s.kiosk_id, "2026-11-02T09:00:00+00:00", {"weight_kg": 93.4})
    counts = run_command(s)
    assert counts["mailed"] == "2"
    run_command(s)
    (mail,) = s.inbox.to("coach@example.test")
    case = [c for c in cases(s) if c["participant_id"] == s.anoeshka][0]
    assert mail["subject"] == f"Opvolging nodig: afwezig zonder afmelding (casus {case['id']})"
    assert f"https://admin.fitwerk.test/follow-ups/{case['id']}" in mail["body"]
    assert "Anoeshka" in mail["body"] and "Lars Visser" in mail["body"]
    for secret in ("Ramdin", "06-1111", "93.4", "gewicht"):
        assert secret not in mail["body"] and secret not in mail["subject"]
    assert case["mail_sent_at"] and case["mail_result"] == "sent"
    assert len(s.inbox.to("samira@example.test")) == 1


def test_a_lifecoach_who_opted_out_gets_no_email(mail_site):
    mail_site.sql("UPDATE staff SET notify_email = 0 WHERE id = ?", mail_site.coach)
    run_command(mail_site)
    assert mail_site.inbox.to("coach@example.test") == []
    assert {c["mail_result"] for c in cases(mail_site)} == {"opted_out", "sent"}


def test_the_board_opening_a_case_sends_the_email_at_once_without_the_command(mail_site):
    mail_site.login("coordinator@example.test").get("/board")
    wait_for(lambda: len(mail_site.inbox.messages) == 2, timeout=10, message="two e-mails")
    time.sleep(0.3)
    assert len(mail_site.inbox.messages) == 2
    assert run_command(mail_site)["mailed"] == "0"


def test_when_the_mail_server_is_down_the_email_goes_out_on_a_later_run(mail_site, smtp_server):
    s = mail_site
    s.app.config["SMTP_PORT"] = smtp_server.port + 1 if smtp_server.port < 65535 else 1  # nobody listens
    assert run_command(s)["mail_failed"] == "2"
    assert {c["mail_result"] for c in cases(s)} == {None}
    s.app.config["SMTP_PORT"] = smtp_server.port
    assert run_command(s)["mailed"] == "2"


def test_an_escalation_is_mailed_to_the_coordinators_once(mail_site):
    run_command(mail_site)
    backdate(mail_site, cases(mail_site)[0]["id"], 200)
    run_command(mail_site)
    run_command(mail_site)
    (mail,) = mail_site.inbox.to("coordinator@example.test")
    assert mail["subject"].startswith("Geëscaleerd") and "Lars Visser" in mail["body"]


def test_a_case_closed_before_the_email_went_out_is_not_mailed(mail_site):
    s = mail_site
    s.app.config["SMTP_HOST"] = ""  # open the cases without sending yet
    run_command(s)
    push(s).checkin("01010501B00A0001", result="late")
    run_command(s)
    s.app.config["SMTP_HOST"] = "127.0.0.1"
    run_command(s)
    assert s.inbox.to("coach@example.test") == [] and len(s.inbox.to("samira@example.test")) == 1


# --- logging the call --------------------------------------------------------------------

def open_case(site):
    run_command(site)
    return [c for c in cases(site) if c["participant_id"] == site.anoeshka][0]["id"]


def test_the_case_page_shows_whom_to_call(site):
    case_id = open_case(site)
    page = site.login("coach@example.test").get(f"/follow-ups/{case_id}").get_data(as_text=True)
    assert "Anoeshka Ramdin" in page and "06-11112222" in page and "Casus sluiten" in page


@pytest.mark.parametrize("form, message", [
    ({"close": "1"}, "Geef aan of je de deelnemer hebt bereikt"),
    ({"close": "1", "contacted": "reached"}, "Geef aan of de afwezigheid verschoond is"),
    ({"reason": "x" * 501}, "Reden is langer dan 500 tekens"),
    ({"contacted": "maybe"}, "contacted"),
])
def test_an_incomplete_call_log_is_refused_and_nothing_changes(site, form, message):
    case_id = open_case(site)
    before = site.sql("SELECT * FROM follow_ups WHERE id = ?", case_id)
    r = post(site.login("coach@example.test"), f"/follow-ups/{case_id}", form, htmx=True)
    assert r.status_code == 422 and message in r.get_data(as_text=True)
    assert site.sql("SELECT * FROM follow_ups WHERE id = ?", case_id) == before


def test_logging_the_call_records_everything_and_closes_the_case(site):
    case_id = open_case(site)
    coach = site.login("coach@example.test")
    r = post(coach, f"/follow-ups/{case_id}", {"contacted": "reached", "reason": "ziek", "excused": "yes",
                                               "note": "Griep, belt morgen terug.", "next_step": "Donderdag weer",
                                               "close": "1"}, htmx=True)
    assert r.status_code == 200 and "Gesloten" in r.get_data(as_text=True)
    (case,) = site.sql("SELECT * FROM follow_ups WHERE id = ?", case_id)
    assert (case["contacted"], case["reason"], case["excused"], case["note"], case["next_step"]) == \
        ("reached", "ziek", 1, "Griep, belt morgen terug.", "Donderdag weer")
    assert case["closed_at"] and case["closed_by"] == site.coach and case["picked_up_at"]
    assert case["resolution"] == "handled"
    audit = [r["what"] for r in site.sql("SELECT what FROM audit_log WHERE staff_id = ?", site.coach)]
    assert f"follow-up case {case_id} closed" in audit


def test_an_absence_excused_afterwards_counts_as_excused_in_the_history(site):
    case_id = open_case(site)
    post(site.login("coach@example.test"), f"/follow-ups/{case_id}",
         {"contacted": "reached", "reason": "ziek", "excused": "yes", "close": "1"})
    page = site.login("coach@example.test").get(f"/participants/{site.anoeshka}").get_data(as_text=True)
    assert "afwezig (verschoond)" in page and "ziek" in page


def test_a_closed_case_is_read_only_until_it_is_reopened(site):
    case_id = open_case(site)
    coach = site.login("coach@example.test")
    post(coach, f"/follow-ups/{case_id}", {"contacted": "not_reached", "close": "1"})
    r = post(coach, f"/follow-ups/{case_id}", {"note": "toch nog iets"}, htmx=True)
    assert r.status_code == 422 and "heropen" in r.get_data(as_text=True)
    assert post(coach, f"/follow-ups/{case_id}/reopen").status_code == 303
    assert site.sql("SELECT closed_at FROM follow_ups WHERE id = ?", case_id) == [{"closed_at": None}]


def test_a_lifecoach_cannot_open_or_log_another_coachs_case(site):
    run_command(site)
    (theirs,) = [c for c in cases(site) if c["participant_id"] == site.mohamed]
    coach = site.login("coach@example.test")
    assert coach.get(f"/follow-ups/{theirs['id']}").status_code == 403
    assert post(coach, f"/follow-ups/{theirs['id']}", {"contacted": "reached"}).status_code == 403
    assert f'data-case="{theirs["id"]}"' not in coach.get("/follow-ups?view=all").get_data(as_text=True)


def test_on_the_board_a_lifecoachs_call_list_holds_their_own_people_only(site):
    run_command(site)
    ids = {c["participant_id"]: c["id"] for c in cases(site)}
    page = site.login("coach@example.test").get("/board").get_data(as_text=True)
    assert f"/follow-ups/{ids[site.anoeshka]}" in page and f"/follow-ups/{ids[site.mohamed]}" not in page
    assert page.count("casus open") == 1  # another coach's absentee is theirs to call (issue #11)


def test_the_follow_up_api_logs_a_call_with_validation(site):
    from admin import auth as admin_auth
    case_id = open_case(site)
    conn = site.conn()
    token = admin_auth.new_api_token(conn, site.coach)
    conn.close()
    client = site.app.test_client()
    r = client.patch(f"/api/v1/follow-ups/{case_id}", json={"closed": True}, headers=auth(token))
    assert r.status_code == 400 and "reached" in r.json["error"]
    r = client.patch(f"/api/v1/follow-ups/{case_id}", json={"colour": "red"}, headers=auth(token))
    assert r.status_code == 400
    r = client.patch(f"/api/v1/follow-ups/{case_id}", json={"contacted": "reached", "excused": False,
                                                            "reason": "verslapen", "closed": True}, headers=auth(token))
    assert r.status_code == 200 and r.json["state"] == "closed" and r.json["excused"] is False
    listed = client.get("/api/v1/follow-ups?status=closed", headers=auth(token)).json["follow_ups"]
    assert [c["id"] for c in listed] == [case_id] and "note" not in listed[0]


def test_the_openapi_document_describes_the_follow_up_endpoints(site):
    paths = site.app.test_client().get("/api/v1/openapi.json").json["paths"]
    assert set(paths["/api/v1/follow-ups/{id}"]) == {"get", "patch"} and "get" in paths["/api/v1/follow-ups"]
