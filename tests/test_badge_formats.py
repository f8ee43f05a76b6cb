"""Badge numbers in the admin: typed in any format, stored as the one canonical UID with the
format beside it, shown back as people know the number; bad numbers are refused, nothing written."""
from common.db import connect
from tests.support.live import auth
from tests.support.site import post
from tests.test_admin_api import GROUP


def badges(admin_app):
    return [dict(r) for r in connect(admin_app.config["ADMIN_DB"]).execute(
        "SELECT uid, format, participant_id, revoked_at FROM badges ORDER BY id")]


def test_a_participant_enrolled_with_a_wedge_readers_number_gets_the_cards_uid(client, tokens, admin_app):
    group = client.post("/api/v1/groups", json=GROUP, headers=auth(tokens["admin"])).json["id"]
    r = client.post("/api/v1/participants", headers=auth(tokens["admin"]), json={
        "first_name": "Anna", "last_name": "Test", "group_id": group,
        "badge_uid": "3569595041", "badge_format": "dec-reversed"})
    assert r.status_code == 201, r.json
    assert badges(admin_app) == [{"uid": "A1B2C3D4", "format": "dec-reversed", "participant_id": r.json["id"],
                                  "revoked_at": None}]


def test_an_em4100_fob_by_its_printed_number_and_a_tapped_uid_in_hex(client, tokens, admin_app):
    group = client.post("/api/v1/groups", json=GROUP, headers=auth(tokens["admin"])).json["id"]
    pid = client.post("/api/v1/participants", headers=auth(tokens["admin"]), json={
        "first_name": "Bram", "last_name": "Test", "group_id": group}).json["id"]
    r = client.put(f"/api/v1/participants/{pid}/badge", json={"uid": "0012345678", "format": "em4100"},
                   headers=auth(tokens["admin"]))
    assert r.status_code == 200, r.json
    r = client.put(f"/api/v1/participants/{pid}/badge", json={"uid": "0000BC614E"}, headers=auth(tokens["admin"]))
    assert r.status_code == 200, r.json  # the same fob, as a kiosk reported it: recognised as EM4100
    assert [(b["uid"], b["format"], b["revoked_at"] is None) for b in badges(admin_app)] == [
        ("0000BC614E", "em4100", False), ("0000BC614E", "em4100", True)]


def test_a_bad_number_or_format_is_a_json_400_and_writes_nothing(client, tokens, admin_app):
    group = client.post("/api/v1/groups", json=GROUP, headers=auth(tokens["admin"])).json["id"]
    for extra in ({"badge_uid": "12ab", "badge_format": "dec"}, {"badge_uid": "123", "badge_format": "octal"},
                  {"badge_uid": "4294967296", "badge_format": "em4100"},
                  {"badge_uid": "A1B2C3D4", "badge_format": ["hex"]}):
        r = client.post("/api/v1/participants", headers=auth(tokens["admin"]),
                        json={"first_name": "X", "last_name": "Y", "group_id": group, **extra})
        assert r.status_code == 400 and r.json["error"], (extra, r.json)
    assert badges(admin_app) == []
    assert client.get("/api/v1/openapi.json").json["components"]["schemas"]["Badge"]["properties"]["format"][
        "enum"] == ["hex", "dec", "dec-reversed", "em4100"]


def test_staff_type_a_fobs_number_on_the_badges_page_and_see_it_back(site):
    coordinator = site.login("coordinator@example.test")
    page = coordinator.get("/badges").get_data(as_text=True)
    assert 'name="format"' in page and "EM4100-nummer" in page
    r = post(coordinator, "/badges/assign", {"uid": "0012345678", "format": "em4100",
                                             "participant_id": site.anoeshka}, htmx=True)
    assert r.status_code == 200 and "Badge toegekend" in r.get_data(as_text=True)
    assert site.sql("SELECT uid, format FROM badges WHERE participant_id = ? AND revoked_at IS NULL",
                    site.anoeshka) == [{"uid": "0000BC614E", "format": "em4100"}]
    assert "0012345678" in r.get_data(as_text=True)
    r = post(coordinator, "/badges/assign", {"uid": "12ab", "format": "dec", "participant_id": site.mohamed},
             htmx=True)
    assert r.status_code == 422
    assert site.sql("SELECT uid FROM badges WHERE participant_id = ? AND revoked_at IS NULL", site.mohamed) == \
        [{"uid": "01010501B00A0002"}]


def test_the_staff_cli_takes_a_format(runner, admin_app):
    runner.invoke(args=["create-user", "fysio@example.test", "--role", "physio", "--password-stdin"],
                  input="correct horse battery\n")
    result = runner.invoke(args=["assign-staff-badge", "fysio@example.test", "3569595041", "--format", "dec-reversed"])
    assert result.exit_code == 0, result.output
    assert [(b["uid"], b["format"]) for b in badges(admin_app)] == [("A1B2C3D4", "dec-reversed")]
