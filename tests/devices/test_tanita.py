"""Tanita key/value frames: the SC-240 manual's frame, checksum, tolerance of real-world quirks, PC mode."""
import pytest

from devices.driver import FrameError
from devices.tanita import Tanita, build_frame, checksum, pc_mode_commands

SC240 = (b'{0,16,~0,1,~1,1,~2,1,MO,"SC-240",SN,"00000002",Bt,0,GE,1,AG,30,Hm,170,Pt,0.0,Wk,82.7,'
         b'FW,18.6,fW,15.4,MW,67.3,mW,64.0,sW,19,bW,3.3,wW,48.0,ww,58.0,MI,28.6,Sw,63.6,OV,30.0,'
         b'IF,6,rb,8255,rB,1973,rJ,12,rA,28,ZF,369.4,CS,FD\r\n')

SC240_MEASUREMENT = {
    "weight_kg": 82.7, "height_cm": 170.0, "bmi": 28.6, "fat_pct": 18.6, "fat_mass_kg": 15.4,
    "fat_free_mass_kg": 67.3, "muscle_mass_kg": 64.0, "bone_mass_kg": 3.3, "water_kg": 48.0,
    "water_pct": 58.0, "visceral_fat": 6.0, "bmr_kcal": 1973, "metabolic_age": 28,
    "impedance_ohm": 369.4, "device_model": "SC-240", "device_serial": "00000002", "driver": "tanita",
    "inputs": {"sex": "male", "age": 30, "height_cm": 170.0, "body_type": "standard", "tare_kg": 0.0},
}


def feed(data: bytes) -> list:
    return Tanita().feed(data)


def test_sc240_manual_frame_yields_its_values():
    assert feed(SC240) == [SC240_MEASUREMENT]


def test_sc240_manual_checksum_is_fd():
    body = SC240[: SC240.index(b"CS,")]
    assert checksum(body) == 0xFD


def test_tanita_frame_with_wrong_checksum_is_rejected():
    assert feed(SC240.replace(b"CS,FD", b"CS,FE")) == [FrameError("checksum mismatch")]


def test_tanita_frame_with_changed_value_fails_its_checksum():
    assert feed(SC240.replace(b"Wk,82.7", b"Wk,82.8")) == [FrameError("checksum mismatch")]


def test_tanita_frame_without_checksum_is_rejected():
    assert feed(SC240.replace(b",CS,FD", b"")) == [FrameError("no checksum in frame")]


def test_tanita_frame_split_byte_by_byte_is_parsed():
    driver = Tanita()
    events = []
    for byte in SC240:
        events += driver.feed(bytes([byte]))
    assert events == [SC240_MEASUREMENT]


def test_tanita_frame_split_across_reads_is_parsed_once():
    driver = Tanita()
    assert driver.feed(SC240[:100]) == []
    assert driver.feed(SC240[100:]) == [SC240_MEASUREMENT]


def test_tanita_trailing_brace_after_checksum_is_tolerated():
    assert feed(SC240.replace(b"CS,FD", b"CS,FD}")) == [SC240_MEASUREMENT]


def test_tanita_brace_on_its_own_line_after_frame_is_ignored():
    assert feed(SC240 + b"}\r\n" + SC240) == [SC240_MEASUREMENT, SC240_MEASUREMENT]


def test_tanita_stray_byte_after_frame_does_not_spoil_the_next_frame():
    # The WB-3000 sends a stray byte ~0.1 s after each frame: it prefixes the next one.
    assert feed(SC240 + b"\x00" + SC240 + b"\xff") == [SC240_MEASUREMENT, SC240_MEASUREMENT]


def test_tanita_lf_only_and_cr_only_terminators_work():
    body = SC240.rstrip(b"\r\n")
    assert feed(body + b"\n" + body + b"\r") == [SC240_MEASUREMENT, SC240_MEASUREMENT]


def test_tanita_unknown_keys_are_ignored():
    frame = build_frame([("MO", "MC-780MA"), ("Xq", 12), ("Wk", 70.1), ("zz", "text, with comma")])
    assert feed(frame) == [{"weight_kg": 70.1, "device_model": "MC-780MA", "driver": "tanita"}]


@pytest.mark.parametrize("header", [b"{0,16,~0,1,~1,1,~2,1,", b"{0,16,", b"{0,16,~0,1,", b""])
def test_tanita_partial_or_missing_control_header_is_accepted(header):
    frame = build_frame([("Wk", 70.1)], header=header)
    assert feed(frame) == [{"weight_kg": 70.1, "driver": "tanita"}]


def test_tanita_frame_over_one_kilobyte_is_accepted():
    segments = [(letter + segment, 12.3) for letter in "FfMmSsPpQq" for segment in "RLrlT"]
    extra = [(f"X{n}", -1.5) for n in range(120)]
    frame = build_frame([("MO", "MC-780MA"), ("Wk", 90.5), *segments, *extra])
    assert len(frame) > 1024
    assert feed(frame) == [{"weight_kg": 90.5, "device_model": "MC-780MA", "driver": "tanita"}]


def test_tanita_garbage_without_terminator_does_not_grow_the_buffer():
    driver = Tanita()
    events = []
    for _ in range(100):
        events += driver.feed(b"x" * 1000)
    assert len(driver._buffer) <= Tanita.max_line
    assert events == [FrameError(f"frame longer than {Tanita.max_line} bytes discarded")]
    assert driver.feed(b"\r\n" + SC240) == [SC240_MEASUREMENT]


def test_tanita_negative_numbers_are_parsed():
    frame = build_frame([("Wk", 70.0), ("Pt", -0.5), ("MW", 60.0)])
    assert feed(frame)[0]["fat_free_mass_kg"] == 60.0


def test_tanita_segmental_error_status_is_a_clear_error():
    frame = build_frame([("MO", "MC-780MA"), ("St", 1), ("Wk", 80.0)])
    [error] = feed(frame)
    assert isinstance(error, FrameError)
    assert error.code == "St1"
    assert "segmental measurement failed" in error.reason


@pytest.mark.parametrize("line, code, words", [
    (b"E1", "E1", "exceeds the scale's capacity"),
    (b"E2", "E2", "impedance error"),
    (b"E4", "E4", "without personal data"),
    (b"E7", "E7", "scale reported an error"),
])
def test_tanita_error_codes_become_clear_messages(line, code, words):
    [error] = feed(line + b"\r\n")
    assert error.code == code
    assert words in error.reason and code in error.reason


def test_tanita_pc_mode_echoes_are_silent_and_bang_is_a_rejected_command():
    assert feed(b"M1\r\nD0\r\nD3\r\nG\r\n") == []
    assert feed(b"!\r\n") == [FrameError("scale rejected a command (!)", "!")]


def test_tanita_id_field_is_never_reported():
    frame = build_frame([("ID", "Jansen-1975"), ("Wk", 70.1)])
    [measurement] = feed(frame)
    assert "Jansen" not in repr(measurement)


def test_tanita_name_with_accents_in_id_does_not_reject_the_frame():
    frame = build_frame([("ID", "Zoë Çelik"), ("Wk", 70.1)])
    assert feed(frame) == [{"weight_kg": 70.1, "driver": "tanita"}]


@pytest.mark.parametrize("date", [("Da", "11/07/2026"), ("DT", "2026/07/11")])
def test_tanita_date_and_time_become_measured_at(date):
    [measurement] = feed(build_frame([date, ("TI", "09:05"), ("Wk", 70.1)]))
    assert measurement["measured_at"] == "2026-07-11T09:05:00"


def test_tanita_impossible_date_is_left_out():
    [measurement] = feed(build_frame([("Da", "31/02/2026"), ("TI", "09:05"), ("Wk", 70.1)]))
    assert "measured_at" not in measurement


def test_tanita_weight_in_pounds_is_converted():
    [measurement] = feed(build_frame([("Wp", 176.4)]))
    assert measurement["weight_kg"] == 80.0


def test_tanita_bmr_in_kilojoules_only_is_converted_to_kcal():
    [measurement] = feed(build_frame([("Wk", 70.0), ("rb", 8255)]))
    assert measurement["bmr_kcal"] == 1973


def test_tanita_frame_without_weight_is_rejected():
    assert feed(build_frame([("FW", 20.0)])) == [FrameError("no weight in frame")]


@pytest.mark.parametrize("weight", [19.9, 300.1, -70.0])
def test_tanita_implausible_weight_is_rejected(weight):
    [error] = feed(build_frame([("Wk", weight)]))
    assert error == FrameError("weight_kg outside plausible range 20–300")


def test_tanita_duplicate_key_is_rejected():
    assert feed(build_frame([("Wk", 70.0), ("Wk", 71.0)])) == [FrameError("duplicate key Wk")]


def with_checksum(body: bytes) -> bytes:
    return body + b"CS,%02X\r\n" % checksum(body)


@pytest.mark.parametrize("value", [b"nan", b"inf", b"1e2", b"7_0", b"70.", b""])
def test_tanita_malformed_number_is_rejected_even_with_a_good_checksum(value):
    assert feed(with_checksum(b"{0,16,Wk," + value + b",")) == [FrameError("malformed value for Wk")]


def test_tanita_quote_inside_a_value_is_rejected():
    assert feed(with_checksum(b'{0,16,MO,"SC"240",Wk,70.0,')) == [FrameError("malformed quoted string")]


def test_pc_mode_commands_follow_the_manual():
    assert pc_mode_commands(height_cm=170, sex="male", age=30, tare_kg=0.5) == [
        b"M1\r\n", b"D000.5\r\n", b"D11\r\n", b"D20\r\n", b"D3170.0\r\n", b"D430\r\n", b"G\r\n"]


def test_pc_mode_commands_for_a_female_athlete():
    commands = pc_mode_commands(height_cm=165.5, sex=2, age=41, body_type="athlete")
    assert commands[2:6] == [b"D12\r\n", b"D22\r\n", b"D3165.5\r\n", b"D441\r\n"]


@pytest.mark.parametrize("personal", [
    {"height_cm": 170, "sex": "x", "age": 30},
    {"height_cm": 80, "sex": "male", "age": 30},
    {"height_cm": 170, "sex": "male", "age": 100},
    {"height_cm": 170, "sex": "male", "age": 30.5},
    {"height_cm": 170, "sex": "male", "age": 30, "tare_kg": 12},
    {"height_cm": 170, "sex": "male", "age": 30, "body_type": "child"},
])
def test_pc_mode_commands_reject_implausible_personal_data(personal):
    with pytest.raises(ValueError):
        pc_mode_commands(**personal)


def test_tanita_needs_no_start_without_personal_data():
    assert Tanita.start_commands() == []


def test_tanita_pc_mode_commands_are_released_at_least_100_ms_apart():
    driver = Tanita()
    driver.queue_commands(Tanita.start_commands(height_cm=170, sex=1, age=30), now=0.0)
    sent = [(t / 100, driver.tick(t / 100)) for t in range(0, 200)]
    times = [t for t, items in sent if items]
    assert len(times) == 7
    assert all(b - a >= 0.1 for a, b in zip(times, times[1:]))


# --- PC mode's echo: the frame says what the scale computed with (GE 1/2, Bt 0/2) ----------

FEMALE_ATHLETE = {"height_cm": 165.5, "sex": "female", "age": 41, "tare_kg": 0.8, "body_type": "athlete"}


def echo_frame(ge, bt, age=41, height=165.5, tare=0.8):
    return build_frame([("MO", "MC-780MA"), ("Bt", bt), ("GE", ge), ("AG", age), ("Hm", height), ("Pt", tare),
                        ("Wk", 61.2)])


def test_tanita_echo_of_a_female_athlete_ge_2_bt_2_is_read_and_accepted():
    driver = Tanita()
    driver.expect(FEMALE_ATHLETE)
    assert driver.feed(echo_frame(2, 2)) == [{
        "weight_kg": 61.2, "height_cm": 165.5, "device_model": "MC-780MA", "driver": "tanita",
        "inputs": {"sex": "female", "body_type": "athlete", "age": 41, "height_cm": 165.5, "tare_kg": 0.8}}]


@pytest.mark.parametrize("ge, bt, differing", [
    (1, 2, "sex"), (2, 0, "body_type"), (1, 0, "sex, body_type"),
])
def test_tanita_echo_of_another_sex_or_body_type_rejects_the_frame_naming_the_fields(ge, bt, differing):
    driver = Tanita()
    driver.expect(FEMALE_ATHLETE)
    assert driver.feed(echo_frame(ge, bt)) == [FrameError(
        "the scale computed with other personal data than was sent "
        f"({differing}): not this person's measurement, measure again", "echo")]


def test_tanita_echo_expectation_holds_for_the_next_frame_only():
    driver = Tanita()
    driver.expect(FEMALE_ATHLETE)
    assert driver.feed(echo_frame(1, 0))[0].code == "echo"
    [measurement] = driver.feed(echo_frame(1, 0))
    assert measurement["inputs"]["sex"] == "male" and measurement["inputs"]["body_type"] == "standard"


def test_tanita_echo_within_a_tenth_of_the_sent_height_and_tare_is_the_same_person():
    driver = Tanita()
    driver.expect(FEMALE_ATHLETE)
    assert "weight_kg" in driver.feed(echo_frame(2, 2, height=165.45, tare=0.85))[0]
    driver.expect(FEMALE_ATHLETE)
    assert driver.feed(echo_frame(2, 2, age=42, height=165.3))[0].reason.startswith(
        "the scale computed with other personal data than was sent (age, height_cm)")


@pytest.mark.parametrize("key, value", [("GE", 0), ("GE", 3), ("GE", "2"), ("Bt", 1), ("Bt", 3), ("Bt", "")])
def test_tanita_echo_codes_other_than_the_manuals_reject_the_frame(key, value):
    assert feed(build_frame([(key, value), ("Wk", 70.0)])) == [FrameError(f"malformed value for {key}")]


def test_tanita_expecting_nothing_checks_no_echo():
    driver = Tanita()
    driver.expect({})
    assert driver.feed(echo_frame(1, 0))[0]["inputs"]["sex"] == "male"


# --- a weight sent in pounds: converted at 0.45359237 kg/lb, rounded to 0.1 kg ------------------

@pytest.mark.parametrize("pounds, kg", [(165.0, 74.8), (165.2, 74.9), (44.1, 20.0), (150.3, 68.2), (661.4, 300.0)])
def test_tanita_weight_in_pounds_is_rounded_to_a_tenth_of_a_kilogram(pounds, kg):
    [measurement] = feed(build_frame([("Wp", pounds)]))
    assert measurement["weight_kg"] == kg and isinstance(measurement["weight_kg"], float)


def test_tanita_weight_in_kilograms_wins_over_pounds():
    [measurement] = feed(build_frame([("Wk", 70.1), ("Wp", 165.0)]))
    assert measurement["weight_kg"] == 70.1


def test_tanita_malformed_pound_weight_is_rejected_naming_it():
    assert feed(build_frame([("Wp", "176.4")])) == [FrameError("malformed value for Wp")]


# --- each check of a frame, with its reason ---------------------------------------------------

@pytest.mark.parametrize("tail", [b"F", b"FDD", b"G0", b" FD", b""])
def test_tanita_malformed_checksum_is_rejected(tail):
    assert feed(SC240.replace(b"CS,FD", b"CS," + tail)) == [FrameError("malformed checksum")]


def test_tanita_checksum_in_lower_case_and_trailing_spaces_are_accepted():
    assert feed(SC240.replace(b"CS,FD", b"CS,fd } \t")) == [SC240_MEASUREMENT]


@pytest.mark.parametrize("body, reason", [
    (b"{0,16,Wk,", "unpaired key or value"),
    (b"{0,16,Wk,70.0,FW,", "unpaired key or value"),
    (b"{0,16,W-k,70.0,", "malformed key"),
    (b"{0,16,Wk,70.0,Abcde,1,", "malformed key"),
    (b'{0,16,Wk,70.0,"MO",1,', "malformed key"),
    (b"{0,16,Wk,70.0,,1,", "malformed key"),
])
def test_tanita_unpaired_or_malformed_keys_are_rejected(body, reason):
    assert feed(with_checksum(body)) == [FrameError(reason)]


def test_tanita_keys_of_one_to_four_letters_and_digits_are_read():
    assert feed(with_checksum(b"{0,16,~0,1,~1,1,-2,W,1,Ab12,2,Wk,70.0,")) == [{"weight_kg": 70.0, "driver": "tanita"}]


def test_tanita_header_tokens_are_skipped_only_before_the_first_key():
    assert feed(with_checksum(b"{0,-16,~-2,Wk,70.0,16,~0,")) == [FrameError("malformed key")]


@pytest.mark.parametrize("status, error", [
    ("0", None), ("2", FrameError("scale reported an unknown status")),
    ("", FrameError("scale reported an unknown status")),
    ("1", FrameError("segmental measurement failed (St 1): hold the hand grips and measure again", "St1")),
])
def test_tanita_status_zero_is_a_measurement_and_others_are_errors(status, error):
    [event] = feed(build_frame([("St", int(status) if status else ""), ("Wk", 70.0)]) if status != ""
                   else with_checksum(b"{0,16,St,,Wk,70.0,"))
    assert event == (error or {"weight_kg": 70.0, "driver": "tanita"})


def test_tanita_bmr_in_kcal_wins_over_kilojoules():
    [measurement] = feed(build_frame([("Wk", 70.0), ("rb", 8255), ("rB", 1500)]))
    assert measurement["bmr_kcal"] == 1500


def test_tanita_malformed_bmr_in_kilojoules_is_rejected():
    assert feed(build_frame([("Wk", 70.0), ("rb", "8255")])) == [FrameError("malformed value for rb")]


def test_tanita_model_and_serial_are_unquoted_and_trimmed_and_left_out_when_blank():
    [measurement] = feed(build_frame([("MO", " MC-980MA "), ("SN", " 0012 "), ("Wk", 70.0)]))
    assert (measurement["device_model"], measurement["device_serial"]) == ("MC-980MA", "0012")
    [measurement] = feed(build_frame([("MO", "  "), ("SN", ""), ("Wk", 70.0)]))
    assert "device_model" not in measurement and "device_serial" not in measurement


@pytest.mark.parametrize("fields, when", [
    ([("Da", "11/07/2026"), ("TI", "23:59")], "2026-07-11T23:59:00"),
    ([("DT", "2026/12/31"), ("TI", "00:00")], "2026-12-31T00:00:00"),
    ([("Da", "31/02/2026"), ("DT", "2026/07/11"), ("TI", "09:05")], None),  # a bad Da is not replaced by DT
    ([("Da", "2026/07/11"), ("DT", "2026/07/12"), ("TI", "09:05")], "2026-07-12T09:05:00"),
    ([("Da", "11/07/2026")], None), ([("TI", "09:05")], None),
    ([("Da", "11/07/2026"), ("TI", "9:05")], None), ([("Da", "11/07/2026"), ("TI", "09:05:00")], None),
    ([("Da", "11/07/26"), ("TI", "09:05")], None), ([("DT", "26/07/11"), ("TI", "09:05")], None),
    ([("Da", "11/07/2026"), ("TI", "25:00")], None),
])
def test_tanita_measured_at_needs_a_valid_date_and_time(fields, when):
    [measurement] = feed(build_frame([*fields, ("Wk", 70.1)]))
    assert measurement.get("measured_at") == when


def test_tanita_unquoted_date_and_time_are_read_too():
    [measurement] = feed(with_checksum(b"{0,16,Da,11/07/2026,TI,09:05,Wk,70.1,"))
    assert measurement["measured_at"] == "2026-07-11T09:05:00"


@pytest.mark.parametrize("value", ['"', '"x', 'x"'])
def test_tanita_a_lone_quote_is_not_a_quoted_string(value):
    assert feed(with_checksum(b"{0,16,Wk,70.1,MO," + value.encode() + b","))[0] == FrameError(
        "malformed quoted string")


@pytest.mark.parametrize("key, field, value", [
    ("AG", "age", 41), ("Hm", "height_cm", 165.5), ("Pt", "tare_kg", 1.5),
])
def test_tanita_echoed_age_height_and_tare_are_reported_as_inputs(key, field, value):
    [measurement] = feed(build_frame([(key, value), ("Wk", 70.1)]))
    assert measurement["inputs"] == {field: value}


@pytest.mark.parametrize("key", ["AG", "Pt"])
def test_tanita_malformed_echoed_input_is_rejected(key):
    assert feed(build_frame([(key, "x"), ("Wk", 70.1)])) == [FrameError(f"malformed value for {key}")]


@pytest.mark.parametrize("line", [b"M1", b"D0", b"D000.8", b"D3170.0", b"D441", b"G", b" G }", b"\x00D12\xff"])
def test_tanita_pc_mode_echoes_with_their_values_are_silent(line):
    assert feed(line + b"\r\n") == []


@pytest.mark.parametrize("line", [b"D5170.0", b"M2 Wk 70", b"G0000", b"E12 Wk,7", b"XXXG", b"XE2X"])
def test_tanita_lines_that_only_look_like_echoes_need_a_checksum(line):
    assert feed(line + b"\r\n") == [FrameError("no checksum in frame")]


def test_tanita_error_code_among_noise_bytes_is_still_reported():
    assert feed(b"\x00E2 }\r\n") == [FrameError(
        "impedance error: bare feet on the electrodes, then measure again (E2)", "E2")]


def test_tanita_frame_starts_at_its_brace_or_else_its_first_key():
    assert feed(b"12#" + SC240) == [SC240_MEASUREMENT]
    assert feed(b"12#" + build_frame([("Wk", 70.1)], header=b"")) == [{"weight_kg": 70.1, "driver": "tanita"}]
    assert feed(b"Wk" + build_frame([("Wk", 70.1)])) == [{"weight_kg": 70.1, "driver": "tanita"}]


def test_pc_mode_commands_pad_each_value_to_the_manuals_width():
    assert pc_mode_commands(height_cm=95, sex="f", age=7, tare_kg=10) == [
        b"M1\r\n", b"D010.0\r\n", b"D12\r\n", b"D20\r\n", b"D3095.0\r\n", b"D407\r\n", b"G\r\n"]
    assert pc_mode_commands(height_cm=249.5, sex="m", age=99)[1:6] == [
        b"D000.0\r\n", b"D11\r\n", b"D20\r\n", b"D3249.5\r\n", b"D499\r\n"]


def test_tanita_start_sends_pc_mode_only_with_personal_data():
    assert Tanita.start_commands(height_cm=170, sex="male", age=30) == pc_mode_commands(
        height_cm=170, sex="male", age=30)


@pytest.mark.parametrize("header", [b"{0,16,~0,1,", b"{0,16,~0,"])
def test_tanita_frame_of_only_a_control_header_has_no_weight(header):
    assert feed(with_checksum(header)) == [FrameError("no weight in frame")]


def test_tanita_unknown_error_digit_has_the_general_message():
    assert feed(b"E7\r\n") == [FrameError("scale reported an error (E7)", "E7")]


def test_tanita_line_without_a_brace_or_a_letter_has_no_checksum():
    assert feed(b"12,34,56,78\r\n") == [FrameError("no checksum in frame")]


@pytest.mark.parametrize("value", ["a{b", "x,CS,00", "{0,16,", ",CS,FD"])
def test_tanita_braces_and_checksum_look_alikes_inside_a_quoted_value_do_not_move_the_frame(value):
    assert feed(build_frame([("ID", value), ("Wk", 70.1)])) == [{"weight_kg": 70.1, "driver": "tanita"}]


def test_tanita_frame_without_an_echo_when_one_is_expected_is_rejected_naming_every_field():
    driver = Tanita()
    driver.expect(FEMALE_ATHLETE)
    assert driver.feed(build_frame([("Wk", 61.2)])) == [FrameError(
        "the scale computed with other personal data than was sent "
        "(sex, age, height_cm, body_type, tare_kg): not this person's measurement, measure again", "echo")]
