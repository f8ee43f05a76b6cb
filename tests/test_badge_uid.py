"""A badge UID has one rule (common.badge), and the reader, the emulated card, the
sync protocol and the admin's enrolment all follow it, at its edges."""
import uuid

import pytest
from nfc.clf import RemoteTarget

from common.badge import BadgeUidError, normalise_uid
from common.db import connect
from common.protocol import ProtocolError, parse_push
from devices.card import felica_idm
from devices.nfc import badge_uid
from tests.support.live import auth

ACCEPTED = [
    ("01010501b00a0001", "01010501B00A0001"),            # FeliCa IDm, lower case
    ("04:49:76:22:d9:38:81", "04497622D93881"),          # NFC-A 7 bytes as a phone app shows it
    (" a1 b2-c3\td4\n", "A1B2C3D4"),                     # 4 bytes, the shortest, with separators
    ("0102030405060708090A", "0102030405060708090A"),    # 10 bytes, the longest
    ("01FE0102030405", "01FE0102030405"),                # 01FE is a phone only as an 8-byte IDm
    ("01FE01020304050607", "01FE01020304050607"),
    ("01FD0102030405FF", "01FD0102030405FF"),
    ("02FE0102030405FF", "02FE0102030405FF"),
]
REFUSED = [
    (None, "string"), (1234567890, "string"), (b"01010501B00A0001", "string"),
    ("", "hex digits"), ("A1B2C3", "hex digits"),                    # 3 bytes
    ("0102030405060708090A0B", "hex digits"),                       # 11 bytes
    ("A1B2C3D", "hex digits"), ("A1B2C3D4E", "whole bytes"),         # 7 and 9 digits
    ("0102030405060708090A0", "hex digits"),                        # 21 digits
    ("ZZZZZZZZ", "hex digits"), ("0x01010501B00A", "hex digits"), ("A1B2C3D4.", "hex digits"),
    ("A1B2C3D4_", "hex digits"), ("A1B2 C3D4;", "hex digits"),
    ("01FE0102030405FF", "phone"), ("01fe:01:02:03:04:05:ff", "phone"),
]


@pytest.mark.parametrize("text, uid", ACCEPTED)
def test_a_badge_uid_is_upper_case_hex_of_four_to_ten_whole_bytes(text, uid):
    assert normalise_uid(text) == uid
    assert normalise_uid(uid) == uid  # idempotent


@pytest.mark.parametrize("text, reason", REFUSED)
def test_anything_else_is_refused_with_the_reason(text, reason):
    with pytest.raises(BadgeUidError, match=reason):
        normalise_uid(text)
    assert issubclass(BadgeUidError, ValueError)


def _push(uid):
    record = {"id": str(uuid.uuid4()), "seq": 1, "kind": "checkin", "badge_uid": uid, "result": "unknown_badge",
              "wall_at": "2026-11-09T08:02:00+00:00", "clock_synced": True, "boot_id": "b", "boot_s": 1.0}
    return parse_push({"generation": "g", "boot_id": "b", "boot_s": 2.0, "clock": "2026-11-09T08:03:00+00:00",
                       "clock_synced": True, "pending": 0, "records": [record]})["records"][0]["badge_uid"]


@pytest.mark.parametrize("text, uid", ACCEPTED)
def test_the_protocol_the_card_and_the_reader_accept_the_same_badges(text, uid):
    assert _push(text) == uid
    if len(uid) == 16:
        assert felica_idm(text) == uid
        felica = RemoteTarget("212F", sensf_res=bytes.fromhex("01" + uid + "00F1000000014300" + "88B4"))
        assert badge_uid(felica) == uid
    if len(uid) in (8, 14, 20) and not uid.startswith("08"):
        assert badge_uid(RemoteTarget("106A", sens_res=b"\x44\x00", sel_res=b"\x00", sdd_res=bytes.fromhex(uid))) == uid


@pytest.mark.parametrize("text, reason", [r for r in REFUSED if isinstance(r[0], str)])
def test_the_protocol_and_the_card_refuse_the_same_text(text, reason):
    with pytest.raises(ProtocolError, match=rf"records\[0\]: .*{reason}"):
        _push(text)
    with pytest.raises(ValueError, match=reason):
        felica_idm(text)


def test_the_card_takes_only_felica_idms_and_the_reader_never_reports_a_phone():
    with pytest.raises(ValueError, match="16 hex digits"):
        felica_idm("04497622D93881")
    phone = RemoteTarget("212F", sensf_res=bytes.fromhex("01" "01FE0102030405FF" "00F1000000014300" "88B4"))
    assert badge_uid(phone) is None


@pytest.fixture
def person(client, tokens):
    group = {"name": "Groep B", "location": "Zuid", "starts_on": "2026-11-02", "weeks": 12, "grace_minutes": 10,
             "sessions": [{"weekday": 0, "start": "09:00", "end": "12:00"}]}
    gid = client.post("/api/v1/groups", json=group, headers=auth(tokens["admin"])).json["id"]
    return client.post("/api/v1/participants", json={"first_name": "Anoeshka", "last_name": "Ramdin",
                                                     "group_id": gid}, headers=auth(tokens["admin"])).json["id"]


def test_the_admin_enrols_a_badge_in_the_one_form_and_refuses_a_phone(client, tokens, person, admin_app):
    def put(uid):
        return client.put(f"/api/v1/participants/{person}/badge", json={"uid": uid}, headers=auth(tokens["admin"]))
    r = put("01fe:01:02:03:04:05:ff")
    assert r.status_code == 400 and "phone" in r.json["error"]
    r = put("A1B2C3D4E")
    assert r.status_code == 400 and "whole bytes" in r.json["error"]
    assert put("01:01:05:01:b0:0a:00:01").status_code == 200
    conn = connect(admin_app.config["ADMIN_DB"])
    try:
        assert [r[0] for r in conn.execute("SELECT uid FROM badges")] == ["01010501B00A0001"]
    finally:
        conn.close()


@pytest.mark.parametrize("text, message", [
    (None, "badge uid must be a string"),
    ("A1B2C3", "badge uid must be 8-20 hex digits"),
    ("A1B2C3D4E", "badge uid must be whole bytes: an even number of hex digits"),
    ("01FE0102030405FF", "a uid starting 01FE is a phone's random ID, not a badge"),
])
def test_the_reasons_are_said_plainly(text, message):
    with pytest.raises(BadgeUidError) as caught:
        normalise_uid(text)
    assert str(caught.value) == message
