"""A&D standard format: one weight per person from the first stable line."""
import pytest

from devices.and_scale import AndScale, build_frame, parse_weight
from devices.driver import FrameError


def lines(*texts: str) -> bytes:
    return b"".join(text.encode() + b"\r\n" for text in texts)


def test_standard_format_line_is_17_bytes():
    assert build_frame(70.5) == b"ST,+00070.50 kg\r\n"
    assert len(build_frame(70.5)) == 17


def test_stable_line_yields_weight():
    assert AndScale().feed(b"ST,+00070.50 kg\r\n") == [{"weight_kg": 70.5, "driver": "and-scale"}]


def test_unstable_lines_are_ignored():
    assert AndScale().feed(lines("US,+00035.10 kg", "US,+00069.80 kg")) == []


def test_only_the_first_stable_line_of_a_person_is_taken():
    stream = lines("ST,+00000.00 kg", "US,+00040.00 kg", "US,+00070.90 kg", "ST,+00070.50 kg",
                   "ST,+00070.50 kg", "ST,+00070.55 kg", "US,+00070.80 kg", "ST,+00070.45 kg")
    assert AndScale().feed(stream) == [{"weight_kg": 70.5, "driver": "and-scale"}]


def test_stepping_off_rearms_the_scale_for_the_next_person():
    stream = lines("ST,+00070.50 kg", "ST,+00070.50 kg", "ST,+00000.00 kg", "US,+00050.00 kg",
                   "ST,+00070.50 kg")
    assert [m["weight_kg"] for m in AndScale().feed(stream)] == [70.5, 70.5]


def test_a_clearly_different_stable_weight_is_a_new_person():
    # Auto-print mode sends one stable line per weighing and nothing in between.
    stream = lines("ST,+00070.50 kg", "ST,+00092.15 kg")
    assert [m["weight_kg"] for m in AndScale().feed(stream)] == [70.5, 92.15]


def test_empty_scale_and_light_objects_are_silent():
    assert AndScale().feed(lines("ST,+00000.00 kg", "ST,-00000.05 kg", "ST,+00012.30 kg")) == []


def test_overload_is_an_error():
    assert AndScale().feed(b"OL,+9999E+19 kg\r\n") == [FrameError("scale overloaded (OL)", "OL")]


def test_weight_above_range_is_rejected():
    assert AndScale().feed(b"ST,+00312.00 kg\r\n") == [FrameError("weight_kg outside plausible range 20–300")]


def test_pounds_are_converted_to_kilograms():
    assert AndScale().feed(b"ST,+00155.00 lb\r\n") == [{"weight_kg": 70.31, "driver": "and-scale"}]


def test_unsupported_unit_is_rejected():
    assert AndScale().feed(b"ST,+00070.50  g\r\n") == [
        FrameError("unsupported unit (set the scale to kg or lb)")]


@pytest.mark.parametrize("line", [b"ST,+0070.50 kg", b"ST:+00070.50 kg", b"ST,+000x0.50 kg",
                                  b"QT,+00000070 PC"])
def test_malformed_lines_are_rejected(line):
    [event] = AndScale().feed(line + b"\r\n")
    assert isinstance(event, FrameError)


def test_space_padded_value_is_accepted():
    assert AndScale().feed(b"ST,+   70.50 kg\r\n") == [{"weight_kg": 70.5, "driver": "and-scale"}]


def test_stray_byte_before_line_is_skipped():
    assert AndScale().feed(b"\x00ST,+00070.50 kg\r\n") == [{"weight_kg": 70.5, "driver": "and-scale"}]


def test_line_split_byte_by_byte_is_parsed():
    driver, events = AndScale(), []
    for byte in b"US,+00060.00 kg\r\nST,+00070.50 kg\r\n":
        events += driver.feed(bytes([byte]))
    assert events == [{"weight_kg": 70.5, "driver": "and-scale"}]


@pytest.mark.parametrize("line, reason", [
    (b"ST,+0070.50 kg", "wrong frame length 14 (expected 15)"), (b"ST:+00070.50 kg", "malformed A&D frame"),
    (b"ST,+000x0.50 kg", "malformed A&D frame"),
    (b"QT,+00000070 PC", "unsupported A&D header (scale not in weighing mode)"),
    (b"ST,+00.70.50 kg", "malformed weight value"),
])
def test_a_malformed_line_is_rejected_with_its_reason(line, reason):
    [event] = AndScale().feed(line + b"\r\n")
    assert event.reason == reason


def test_the_sign_of_the_weight_is_read():
    assert parse_weight(b"ST,-00070.50 kg") == ("ST", -70.5)
    assert parse_weight(b"US,+00070.50 kg") == ("US", 70.5)
    assert parse_weight(b"ST,-00155.00 lb") == ("ST", -70.31)
    assert parse_weight(b"OL,+9999E+19 kg") == ("OL", None)


def test_the_plausible_range_and_the_new_person_step_include_their_edges():
    assert AndScale().feed(b"ST,+00020.00 kg\r\n") == [{"weight_kg": 20.0, "driver": "and-scale"}]
    assert AndScale().feed(b"ST,+00300.00 kg\r\n") == [{"weight_kg": 300.0, "driver": "and-scale"}]
    assert AndScale().feed(b"ST,+00019.99 kg\r\nST,+00300.01 kg\r\n") == [
        FrameError("weight_kg outside plausible range 20–300")]
    # 0.5 kg from the last weight taken is a new person; less is the same one swaying.
    assert [m["weight_kg"] for m in AndScale().feed(lines("ST,+00070.50 kg", "ST,+00070.99 kg", "ST,+00071.00 kg"))] \
        == [70.5, 71.0]


@pytest.mark.parametrize("weight, line", [
    (-1.5, b"ST,-00001.50 kg\r\n"), (0.0, b"ST,+00000.00 kg\r\n"), (0.5, b"ST,+00000.50 kg\r\n"),
])
def test_build_frame_signs_only_a_negative_weight(weight, line):
    assert build_frame(weight) == line
