"""Omron HBP-9030 and HBP-9020: readings parsed, the 20-character ID never leaves the parser."""
import json
import logging

import pytest

from devices.driver import FrameError
from devices.omron import OmronHBP9020, OmronHBP9030, build_hbp9020_frame, build_hbp9030_frame

HBP9030 = b"2026,07,11,09,05,12345678901234567890,0,120,080,072,0\r\n"
HBP9030_MEASUREMENT = {"systolic_mmhg": 120, "diastolic_mmhg": 80, "pulse_bpm": 72,
                       "device_model": "HBP-9030", "measured_at": "2026-07-11T09:05:00",
                       "driver": "omron-hbp9030", "flags": {"body_movement": False}}

HBP9020 = b"bp,12345678901234567890,2026/07/11,09:05,120,93,80,72,0\r\n"
HBP9020_MEASUREMENT = {"systolic_mmhg": 120, "mean_arterial_mmhg": 93, "diastolic_mmhg": 80,
                       "pulse_bpm": 72, "device_model": "HBP-9020", "measured_at": "2026-07-11T09:05:00",
                       "driver": "omron-hbp9020", "flags": {"device_flag": "0"}}

SECRET_ID = "ANNA-DE-VRIES-190385"  # 20 characters of personal data


def assert_id_absent(events, patient_id=SECRET_ID):
    text = json.dumps([e if isinstance(e, dict) else [e.reason, e.code] for e in events])
    for start in range(0, len(patient_id) - 5):
        assert patient_id[start:start + 6] not in text


def test_hbp9030_example_frame_yields_its_readings():
    assert len(HBP9030.rstrip(b"\r\n")) == 53
    assert OmronHBP9030().feed(HBP9030) == [HBP9030_MEASUREMENT]


def test_hbp9030_error_frame_is_a_clear_error_without_the_id():
    frame = build_hbp9030_frame({}, patient_id=SECRET_ID, error=3)
    assert len(frame) == 55
    events = OmronHBP9030().feed(frame)
    assert events == [FrameError("blood-pressure monitor reported error 3: measure again", "E3")]
    assert_id_absent(events)


@pytest.mark.parametrize("frame", [
    HBP9030.replace(b"12345678901234567890", SECRET_ID.encode()),
    HBP9030.replace(b"12345678901234567890", SECRET_ID.encode()).replace(b"120,080", b"300,080"),
    HBP9030.replace(b"12345678901234567890", SECRET_ID.encode()).replace(b",0,120", b",x,120"),
    HBP9030.replace(b"12345678901234567890", SECRET_ID.encode())[:40] + b"\r\n",
    HBP9030.replace(b"12345678901234567890", SECRET_ID.encode()).replace(b",072", b",07x"),
])
def test_hbp9030_id_never_appears_in_output_errors_or_logs(frame, caplog):
    caplog.set_level(logging.DEBUG)
    events = OmronHBP9030().feed(frame)
    assert events
    assert_id_absent(events)
    assert SECRET_ID[:6] not in caplog.text


def test_hbp9030_id_containing_commas_does_not_shift_the_readings():
    frame = build_hbp9030_frame(HBP9030_MEASUREMENT, patient_id="1,2,3,4,5,6,7,8,9,0,")
    assert OmronHBP9030().feed(frame) == [HBP9030_MEASUREMENT]


def test_hbp9030_wrong_length_is_rejected():
    assert OmronHBP9030().feed(HBP9030.replace(b",072,", b",72,")) == [
        FrameError("wrong frame length 52 (expected 53)")]


def test_hbp9030_split_byte_by_byte_is_parsed():
    driver, events = OmronHBP9030(), []
    for byte in HBP9030:
        events += driver.feed(bytes([byte]))
    assert events == [HBP9030_MEASUREMENT]


def test_hbp9030_stray_bytes_before_frame_are_skipped():
    assert OmronHBP9030().feed(b"\x00" + HBP9030) == [HBP9030_MEASUREMENT]


@pytest.mark.parametrize("readings, reason", [
    (b"300,080,072", "systolic_mmhg outside plausible range 50–280"),
    (b"120,020,072", "diastolic_mmhg outside plausible range 30–200"),
    (b"120,080,260", "pulse_bpm outside plausible range 25–250"),
    (b"090,095,072", "diastolic pressure not below systolic"),
])
def test_hbp9030_implausible_readings_are_rejected(readings, reason):
    assert OmronHBP9030().feed(HBP9030.replace(b"120,080,072", readings)) == [FrameError(reason)]


def test_hbp9030_body_movement_flag_is_kept_with_the_readings():
    frame = HBP9030.replace(b"072,0\r", b"072,1\r")
    assert OmronHBP9030().feed(frame) == [{**HBP9030_MEASUREMENT, "flags": {"body_movement": True}}]


def test_hbp9020_frame_yields_readings_with_map_between_sys_and_dia():
    assert OmronHBP9020().feed(HBP9020) == [HBP9020_MEASUREMENT]


def test_hbp9020_build_frame_matches_the_documented_layout():
    assert build_hbp9020_frame(HBP9020_MEASUREMENT, patient_id="12345678901234567890") == HBP9020


def test_hbp9020_cr_only_terminator_works():
    frame = HBP9020.replace(b"\r\n", b"\r")
    assert OmronHBP9020().feed(frame + frame) == [HBP9020_MEASUREMENT, HBP9020_MEASUREMENT]


def test_hbp9020_map_outside_sys_and_dia_is_rejected():
    assert OmronHBP9020().feed(HBP9020.replace(b",93,", b",70,")) == [
        FrameError("mean arterial pressure not between diastolic and systolic")]


def test_hbp9020_id_with_commas_is_skipped_by_position_and_never_reported(caplog):
    caplog.set_level(logging.DEBUG)
    patient_id = "A,NNA,DE,VRIES,19038"
    events = OmronHBP9020().feed(build_hbp9020_frame(HBP9020_MEASUREMENT, patient_id=patient_id))
    assert events == [HBP9020_MEASUREMENT]
    assert_id_absent(events, patient_id)


def test_hbp9020_non_numeric_readings_are_rejected_without_the_id():
    frame = build_hbp9020_frame(HBP9020_MEASUREMENT, patient_id=SECRET_ID).replace(b",120,", b",Err,")
    events = OmronHBP9020().feed(frame)
    assert events == [FrameError("monitor sent no valid reading (error or malformed frame)")]
    assert_id_absent(events)


def test_hbp9020_missing_field_is_rejected():
    assert OmronHBP9020().feed(HBP9020.replace(b",72,0", b",72")) == [
        FrameError("wrong field count 8 (expected 9)")]


# --- HBP-9030: each check of the 53-byte frame, with its reason -------------------------------

def hbp9030(position, byte):
    """The example frame with the byte at `position` (0-based, in the 53 bytes) replaced."""
    frame = bytearray(HBP9030)
    frame[position] = ord(byte)
    return bytes(frame)


@pytest.mark.parametrize("position", [4, 7, 10, 13, 16, 37, 39, 43, 47, 51])
def test_hbp9030_any_comma_out_of_place_is_a_malformed_layout(position):
    assert OmronHBP9030().feed(hbp9030(position, "0")) == [FrameError("malformed frame layout")]


@pytest.mark.parametrize("position", [0, 3, 5, 6, 8, 9, 11, 12, 14, 15])
def test_hbp9030_a_non_digit_in_the_date_or_time_is_rejected(position):
    assert OmronHBP9030().feed(hbp9030(position, " ")) == [FrameError("malformed date or time")]


@pytest.mark.parametrize("position, byte", [(38, "x"), (38, " "), (52, "2"), (52, " ")])
def test_hbp9030_malformed_error_digit_or_body_movement_flag_is_rejected(position, byte):
    assert OmronHBP9030().feed(hbp9030(position, byte)) == [FrameError("malformed status fields")]


@pytest.mark.parametrize("digit", ["1", "9"])
def test_hbp9030_error_digits_are_reported_with_their_code(digit):
    assert OmronHBP9030().feed(hbp9030(38, digit)) == [
        FrameError(f"blood-pressure monitor reported error {digit}: measure again", f"E{digit}")]


@pytest.mark.parametrize("position, name", [(40, "systolic"), (46, "diastolic"), (49, "pulse")])
def test_hbp9030_malformed_reading_is_rejected_naming_it(position, name):
    assert OmronHBP9030().feed(hbp9030(position, "x")) == [FrameError(f"malformed {name}")]


def test_hbp9030_space_padded_readings_are_read():
    frame = HBP9030.replace(b"120,080,072", b"120, 80, 72")
    assert OmronHBP9030().feed(frame) == [HBP9030_MEASUREMENT]


def test_hbp9030_frame_of_exactly_53_bytes_after_stray_bytes_and_short_noise():
    assert OmronHBP9030().feed(b"\x00\r\n" + b"x" * 52 + b"\r\n" + HBP9030) == [
        FrameError("wrong frame length 52 (expected 53)"), HBP9030_MEASUREMENT]


def test_hbp9030_impossible_date_keeps_the_readings_without_a_time():
    [measurement] = OmronHBP9030().feed(HBP9030.replace(b"2026,07,11", b"2026,02,30"))
    assert measurement == {k: v for k, v in HBP9030_MEASUREMENT.items() if k != "measured_at"}


def test_hbp9030_date_fields_are_year_month_day_hour_minute():
    frame = build_hbp9030_frame({**HBP9030_MEASUREMENT, "measured_at": "2025-12-31T23:58:00"})
    assert OmronHBP9030().feed(frame)[0]["measured_at"] == "2025-12-31T23:58:00"


# --- HBP-9020: each check, with its reason ------------------------------------------------------

@pytest.mark.parametrize("frame, reason", [
    (b"bp,1234567890123456789,2026/07/11,09:05,120,93,80,72,0", "malformed frame layout"),
    (b"bp,12345678901234567890", "malformed frame layout"),
    (b"bp,12345678901234567890,2026/07/11,09:05,120,93,80,72,0,1", "wrong field count 10 (expected 9)"),
    (b"bp,12345678901234567890,2026-07-11,09:05,120,93,80,72,0", "malformed date or time"),
    (b"bp,12345678901234567890,2026/07/11,0905,120,93,80,72,0", "malformed date or time"),
    (b"bp,12345678901234567890,2026/07/11,09:05,120,93,80,72,", "malformed flag"),
    (b"bp,12345678901234567890,2026/07/11,09:05,120,93,80,72,ABCDE", "malformed flag"),
    (b"bp,12345678901234567890,2026/07/11,09:05,120,93,80,72,!", "malformed flag"),
    (b"bp,12345678901234567890,2026/07/11,09:05,120,93,80,1000,0", "monitor sent no valid reading (error or malformed frame)"),
    (b"bp,12345678901234567890,2026/07/11,09:05,120,93,,72,0", "monitor sent no valid reading (error or malformed frame)"),
    (b"mean arterial pressure 93 and more", "unrecognised data (check the driver and line settings)"),
])
def test_hbp9020_malformed_frame_is_rejected_with_its_reason(frame, reason):
    assert OmronHBP9020().feed(frame + b"\r\n") == [FrameError(reason)]


def test_hbp9020_stray_bytes_before_and_spaces_after_the_frame_are_tolerated():
    frame = b"\x00xy" + HBP9020.replace(b"\r\n", b"  \r\n")
    assert OmronHBP9020().feed(b"ab\r\n" + frame) == [HBP9020_MEASUREMENT]


def test_hbp9020_flag_of_letters_and_digits_is_kept_as_sent():
    [measurement] = OmronHBP9020().feed(HBP9020.replace(b",72,0\r", b",72,Ab9Z\r"))
    assert measurement["flags"] == {"device_flag": "Ab9Z"}


def test_hbp9020_impossible_date_keeps_the_readings_without_a_time():
    [measurement] = OmronHBP9020().feed(HBP9020.replace(b"2026/07/11", b"2026/13/11"))
    assert measurement == {k: v for k, v in HBP9020_MEASUREMENT.items() if k != "measured_at"}


def test_hbp9020_date_and_time_fields_are_read_in_order():
    frame = build_hbp9020_frame({**HBP9020_MEASUREMENT, "measured_at": "2025-12-31T23:58:00"})
    assert OmronHBP9020().feed(frame)[0]["measured_at"] == "2025-12-31T23:58:00"


def test_hbp9020_id_containing_bp_comma_does_not_move_the_frame_start(caplog):
    caplog.set_level(logging.DEBUG)
    patient_id = "bp,ANNA,bp,VRIES,bp,"
    events = OmronHBP9020().feed(build_hbp9020_frame(HBP9020_MEASUREMENT, patient_id=patient_id))
    assert events == [HBP9020_MEASUREMENT]
    assert "ANNA" not in caplog.text


def test_hbp9030_three_digit_diastolic_and_pulse_are_read_whole():
    frame = HBP9030.replace(b"120,080,072", b"180,105,110")
    [measurement] = OmronHBP9030().feed(frame)
    assert (measurement["systolic_mmhg"], measurement["diastolic_mmhg"], measurement["pulse_bpm"]) == (180, 105, 110)


def test_hbp9020_flag_ending_in_a_letter_is_kept_whole():
    [measurement] = OmronHBP9020().feed(HBP9020.replace(b",72,0\r", b",72,0XX\r"))
    assert measurement["flags"] == {"device_flag": "0XX"}


def test_hbp9020_only_spaces_pad_the_end_of_a_frame():
    assert OmronHBP9020().feed(HBP9020.replace(b",72,0\r", b",72,0\t\x0c\r")) == [FrameError("malformed flag")]
