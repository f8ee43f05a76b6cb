"""A&D TM-2657: command frames, reply parsing, and the host-side protocol that never reports an old result."""
import pytest

from devices.and_tm2657 import (
    ACK_FRAME,
    ERRORS,
    ETX,
    HEADER,
    NAK_FRAME,
    READ,
    RS,
    START,
    STOP,
    STX,
    AndTM2657,
    build_command,
    build_result_block,
    parse_commands,
    parse_result,
)
from devices.driver import FrameError, FrameRejected

OLD = {"systolic_mmhg": 131, "mean_arterial_mmhg": 99, "diastolic_mmhg": 83, "pulse_bpm": 66,
       "measured_at": "2026-07-10T14:12:00"}
NEW = {"systolic_mmhg": 122, "mean_arterial_mmhg": 94, "diastolic_mmhg": 80, "pulse_bpm": 71,
       "measured_at": "2026-07-11T09:05:00"}
NEW_MEASUREMENT = {**NEW, "device_model": "TM2657", "driver": "and-tm2657"}


class FakeMonitor:
    """Answers commands like the monitor: ACK, and for RB the stored result block."""

    def __init__(self, stored: bytes | None = None, refuse_start: bool = False, silent: bool = False):
        self.stored = stored
        self.refuse_start = refuse_start
        self.silent = silent
        self.received: list[str | None] = []
        self._buffer = bytearray()

    def answer(self, data: bytes) -> bytes:
        self._buffer.extend(data)
        reply = b""
        for command in parse_commands(self._buffer):
            self.received.append(command)
            if self.silent:
                continue
            if command == "ST" and self.refuse_start:
                reply += NAK_FRAME
            elif command == "RB" and self.stored is None:
                reply += NAK_FRAME
            elif command == "RB":
                reply += ACK_FRAME + self.stored
            else:
                reply += ACK_FRAME
        return reply


def run(driver: AndTM2657, monitor: FakeMonitor, start: float, until: float, step: float = 0.1) -> list:
    """Let time pass: tick the driver, deliver its commands to the monitor and the answers back."""
    events = []
    for n in range(round((until - start) / step)):
        for item in driver.tick(start + n * step):
            if isinstance(item, FrameError):
                events.append(item)
            else:
                events += driver.feed(monitor.answer(item))
    return events


def test_command_frames_match_the_manual():
    assert START == bytes([0x16, 0x16, 0x01, 0x30, 0x30, 0x02, 0x53, 0x54, 0x03, 0x07])
    assert STOP[-4:] == bytes([0x53, 0x50, 0x03, 0x03])
    assert READ[-1] == 0x10
    assert build_command("RB") == READ


def test_monitor_side_rejects_a_command_with_a_bad_bcc():
    buffer = bytearray(START[:-1] + b"\x08" + READ)
    assert parse_commands(buffer) == [None, "RB"]


def test_reply_block_is_parsed_into_readings():
    block = build_result_block(NEW)
    content = block[block.index(bytes([STX])) + 1: -1]
    assert parse_result(content) == {**{k: v for k, v in NEW.items()}, "device_model": "TM2657"}


def test_reply_in_the_public_driver_layout_is_parsed():
    fields = [b"TM2655", b"1910291429", b"RB", b"M", b"E00", b"S102", b"M 87", b"D 62", b"P 83", b"I17",
              b"L139", b""]
    assert parse_result(bytes([RS]).join(fields)) == {
        "systolic_mmhg": 102, "mean_arterial_mmhg": 87, "diastolic_mmhg": 62, "pulse_bpm": 83,
        "device_model": "TM2655", "measured_at": "2019-10-29T14:29:00"}


@pytest.mark.parametrize("code", sorted(ERRORS))
def test_every_documented_error_code_becomes_a_clear_message(code):
    block = build_result_block({}, error=code)
    with pytest.raises(FrameRejected) as rejected:
        parse_result(block[block.index(bytes([STX])) + 1: -1])
    assert rejected.value.code == code
    assert rejected.value.reason == f"{ERRORS[code]} ({code})"


def test_patient_moved_error_says_so():
    assert ERRORS["E44"].startswith("patient moved")


def test_first_result_on_a_connection_is_an_old_one_and_not_reported():
    driver, monitor = AndTM2657(poll_interval=1.0), FakeMonitor(build_result_block(OLD))
    assert run(driver, monitor, 0, 5) == []
    assert monitor.received.count("RB") >= 4


def test_start_is_sent_after_the_baseline_and_the_new_result_is_reported_once():
    driver, monitor = AndTM2657(poll_interval=1.0), FakeMonitor(build_result_block(OLD))
    driver.queue_commands(AndTM2657.start_commands(), now=0.0)
    assert run(driver, monitor, 0, 2) == []
    assert monitor.received[:2] == ["RB", "ST"]
    monitor.stored = build_result_block(NEW)
    assert run(driver, monitor, 2, 10) == [NEW_MEASUREMENT]


def test_measurement_started_on_the_monitor_itself_is_picked_up_by_polling():
    driver, monitor = AndTM2657(poll_interval=1.0), FakeMonitor(build_result_block(OLD))
    run(driver, monitor, 0, 2)
    monitor.stored = build_result_block(NEW)
    assert run(driver, monitor, 2, 4) == [NEW_MEASUREMENT]


def test_monitor_without_a_stored_result_still_reports_the_first_measurement():
    driver, monitor = AndTM2657(poll_interval=1.0), FakeMonitor(stored=None)
    driver.queue_commands([START], now=0.0)
    run(driver, monitor, 0, 2)
    assert "ST" in monitor.received
    monitor.stored = build_result_block(NEW)
    assert run(driver, monitor, 2, 4) == [NEW_MEASUREMENT]


def test_patient_moved_is_reported_as_an_error():
    driver, monitor = AndTM2657(poll_interval=1.0), FakeMonitor(build_result_block(OLD))
    driver.queue_commands([START], now=0.0)
    run(driver, monitor, 0, 2)
    monitor.stored = build_result_block({"measured_at": NEW["measured_at"]}, error="E44")
    [error] = run(driver, monitor, 2, 4)
    assert error.code == "E44" and "patient moved" in error.reason


def test_refused_start_is_an_error():
    driver, monitor = AndTM2657(poll_interval=1.0), FakeMonitor(build_result_block(OLD), refuse_start=True)
    driver.queue_commands([START], now=0.0)
    assert run(driver, monitor, 0, 2) == [
        FrameError("blood-pressure monitor refused to start (busy or not ready)", "NAK")]


def test_unanswered_start_is_an_error():
    driver, monitor = AndTM2657(poll_interval=1.0, reply_timeout=0.5), FakeMonitor(build_result_block(OLD))
    driver.queue_commands([START], now=0.0)
    run(driver, monitor, 0, 0.1)  # the baseline RB is answered
    monitor.silent = True
    assert run(driver, monitor, 0.1, 3) == [FrameError("blood-pressure monitor did not answer the start command")]


def test_start_without_any_result_in_time_is_an_error():
    driver = AndTM2657(poll_interval=1.0, measure_timeout=5.0)
    monitor = FakeMonitor(build_result_block(OLD))
    driver.queue_commands([START], now=0.0)
    assert run(driver, monitor, 0, 7) == [FrameError("no result from the blood-pressure monitor within 5 s")]


def test_silent_monitor_gets_no_start_command():
    driver, monitor = AndTM2657(poll_interval=1.0), FakeMonitor(silent=True)
    driver.queue_commands([START], now=0.0)
    run(driver, monitor, 0, 5)
    assert "ST" not in monitor.received


def test_reply_split_byte_by_byte_is_parsed():
    driver = AndTM2657()
    driver.tick(0.0)
    reply = ACK_FRAME + build_result_block(OLD)
    for byte in reply:
        assert driver.feed(bytes([byte])) == []
    driver.tick(5.0)
    events = []
    for byte in ACK_FRAME + b"\x00\xff" + build_result_block(NEW):
        events += driver.feed(bytes([byte]))
    assert events == [NEW_MEASUREMENT]


def test_stray_control_bytes_outside_a_reply_are_not_replies():
    driver = AndTM2657()
    driver.tick(0.0)
    # A lone STX without SOH '0' '0' before it does not open a block.
    assert driver.feed(bytes([STX]) + b"garbage" + bytes([ETX, 0x06, 0x15])) == []
    assert driver._awaiting == "RB"


def test_overlong_reply_is_discarded():
    driver = AndTM2657()
    events = driver.feed(HEADER + bytes([STX]) + b"x" * 600 + bytes([ETX]))
    assert events == [FrameError("reply longer than 512 bytes discarded")]


def test_malformed_new_result_is_rejected():
    driver = AndTM2657()
    driver.tick(0.0)
    driver.feed(ACK_FRAME + build_result_block(OLD))
    bad = build_result_block(NEW).replace(b"S122", b"X122")
    assert driver.feed(ACK_FRAME + bad) == [FrameError("malformed systolic_mmhg")]


def test_start_takes_no_personal_data():
    with pytest.raises(ValueError, match="^and-tm2657 does not take personal data$"):
        AndTM2657.start_commands(height_cm=170)


# --- the RB reply's fields, one check at a time (public drivers' layout) ---------------------

def reply(**changed):
    """The public driver's RB fields (TM2655, 2019-10-29 14:29, 102/87/62, pulse 83) with some replaced."""
    fields = {0: b"TM2655", 1: b"1910291429", 2: b"RB", 3: b"M", 4: b"E00", 5: b"S102", 6: b"M 87", 7: b"D 62",
              8: b"P 83", 9: b"I17", 10: b"L139", 11: b""}
    for key, value in changed.items():
        fields[int(key[1:])] = value
    return bytes([RS]).join(value for _, value in sorted(fields.items()) if value is not None)


PUBLIC = {"systolic_mmhg": 102, "mean_arterial_mmhg": 87, "diastolic_mmhg": 62, "pulse_bpm": 83,
          "device_model": "TM2655", "measured_at": "2019-10-29T14:29:00"}


def rejected(content):
    with pytest.raises(FrameRejected) as caught:
        parse_result(content)
    return caught.value.reason, caught.value.code


def test_reply_with_exactly_nine_fields_is_enough():
    assert parse_result(reply(f9=None, f10=None, f11=None)) == PUBLIC


def test_reply_with_fewer_than_nine_fields_is_rejected_counting_them():
    assert rejected(reply(f8=None, f9=None, f10=None, f11=None)) == (
        "wrong field count 8 (expected at least 9)", None)


@pytest.mark.parametrize("stamp", [b"191029142", b"19102914290", b"19102914x9", b" 910291429", b""])
def test_reply_with_a_malformed_time_stamp_is_rejected(stamp):
    assert rejected(reply(f1=stamp)) == ("malformed date and time", None)


def test_reply_with_an_impossible_date_keeps_the_readings_without_a_time():
    assert parse_result(reply(f1=b"1902301429")) == {k: v for k, v in PUBLIC.items() if k != "measured_at"}


@pytest.mark.parametrize("stamp, when", [(b"0001010000", "2000-01-01T00:00:00"),
                                         (b"9912312359", "2099-12-31T23:59:00")])
def test_reply_time_stamp_is_yymmddhhmm_in_this_century(stamp, when):
    assert parse_result(reply(f1=stamp))["measured_at"] == when


@pytest.mark.parametrize("code", [b"E0", b"E000", b"X00", b"e00", b"E 0", b"", b"E00X", b"XE00"])
def test_reply_with_a_malformed_error_code_is_rejected(code):
    assert rejected(reply(f4=code)) == ("malformed error code", None)


def test_reply_error_code_padded_with_spaces_is_read():
    assert parse_result(reply(f4=b" E00 ")) == PUBLIC
    assert rejected(reply(f4=b" E44")) == (f"{ERRORS['E44']} (E44)", "E44")


def test_an_undocumented_error_code_is_still_an_error_naming_the_code():
    assert rejected(reply(f4=b"E99")) == ("blood-pressure monitor reported an error (E99)", "E99")


@pytest.mark.parametrize("index, value, field", [
    (5, b"D102", "systolic_mmhg"), (5, b"S", "systolic_mmhg"), (5, b"S1020", "systolic_mmhg"),
    (5, b"102", "systolic_mmhg"), (6, b"87", "mean_arterial_mmhg"), (6, b"M8.7", "mean_arterial_mmhg"),
    (7, b"S 62", "diastolic_mmhg"), (7, b"D", "diastolic_mmhg"), (8, b"D 83", "pulse_bpm"),
    (8, b"P -3", "pulse_bpm"), (8, b"PP 83", "pulse_bpm"), (5, b"S102X", "systolic_mmhg"),
])
def test_reply_with_a_malformed_or_mistagged_reading_is_rejected_naming_it(index, value, field):
    assert rejected(reply(**{f"f{index}": value})) == (f"malformed {field}", None)


def test_readings_may_be_padded_and_the_mean_pressure_may_carry_any_tag():
    assert parse_result(reply(f5=b" S 102 ", f6=b"A87", f7=b"D  62", f8=b"P83")) == PUBLIC
    assert parse_result(reply(f6=b"X 87"))["mean_arterial_mmhg"] == 87


@pytest.mark.parametrize("model", [b"T", b"TM 2655", b"TM2655/P", b"X" * 17, b""])
def test_an_unreadable_model_name_is_left_out(model):
    assert parse_result(reply(f0=model)) == {k: v for k, v in PUBLIC.items() if k != "device_model"}


@pytest.mark.parametrize("model", [b"TM", b"TM-2657P", b"X" * 16])
def test_a_model_name_of_2_to_16_letters_digits_or_dashes_is_kept(model):
    assert parse_result(reply(f0=model))["device_model"] == model.decode()


# --- command sequencing, tick by tick ----------------------------------------------------------

NAMES = {READ: "RB", START: "ST"}


def at(driver: AndTM2657, monitor: FakeMonitor, now: float) -> list:
    """One tick at `now`: the commands sent (by name) and the events, the monitor's answers delivered."""
    out = []
    for item in driver.tick(now):
        if isinstance(item, FrameError):
            out.append(item)
        else:
            out.append(NAMES[item])
            out += driver.feed(monitor.answer(item))
    return out


def timeline(driver, monitor, until, step=0.25, start=0.0):
    """(time, what happened) for every tick from `start` to `until` at which something happened."""
    ticks = (start + n * step for n in range(round((until - start) / step) + 1))
    return [(now, happened) for now in ticks if (happened := at(driver, monitor, now))]


def test_by_default_rb_is_polled_every_2_s_from_the_first_tick():
    driver, monitor = AndTM2657(), FakeMonitor(build_result_block(OLD))
    assert timeline(driver, monitor, 6.75) == [(0.0, ["RB"]), (2.0, ["RB"]), (4.0, ["RB"]), (6.0, ["RB"])]


def test_by_default_an_unanswered_start_is_given_up_after_1_5_s():
    driver, monitor = AndTM2657(), FakeMonitor(stored=None)  # RB answered NAK: no stored result
    driver.queue_commands([START], now=0.0)
    assert at(driver, monitor, 0.0) == ["RB"]
    monitor.silent = True
    assert timeline(driver, monitor, 4.0, start=0.25) == [
        (0.25, ["ST"]), (1.75, [FrameError("blood-pressure monitor did not answer the start command")]),
        (2.0, ["RB"]), (4.0, ["RB"])]


def test_no_command_is_sent_while_a_reply_is_outstanding():
    driver, monitor = AndTM2657(poll_interval=1.0, reply_timeout=1.5), FakeMonitor(silent=True)
    assert timeline(driver, monitor, 3.5) == [(0.0, ["RB"]), (1.5, ["RB"]), (3.0, ["RB"])]


def test_start_goes_out_on_the_tick_after_the_baseline_arrives_and_only_once():
    driver, monitor = AndTM2657(), FakeMonitor(build_result_block(OLD))
    driver.queue_commands([START], now=0.0)
    assert timeline(driver, monitor, 5.0) == [(0.0, ["RB"]), (0.25, ["ST"]), (2.0, ["RB"]), (4.0, ["RB"])]
    assert monitor.received == ["RB", "ST", "RB", "RB"]


def test_each_start_request_sends_one_start_and_other_commands_are_no_start_request():
    driver, monitor = AndTM2657(), FakeMonitor(build_result_block(OLD))
    driver.queue_commands([STOP], now=0.0)
    assert timeline(driver, monitor, 1.0) == [(0.0, ["RB"])]
    driver.queue_commands([START], now=1.0)
    assert timeline(driver, monitor, 1.5, start=1.25) == [(1.25, ["ST"])]
    monitor.stored = build_result_block(NEW)
    assert timeline(driver, monitor, 3.0, start=1.5) == [(2.0, ["RB", NEW_MEASUREMENT])]
    driver.queue_commands([START], now=3.0)
    assert timeline(driver, monitor, 3.5, start=3.25) == [(3.25, ["ST"])]
    assert monitor.received.count("ST") == 2


def test_by_default_a_started_measurement_is_given_up_after_more_than_180_s():
    driver, monitor = AndTM2657(), FakeMonitor(build_result_block(OLD))
    driver.queue_commands([START], now=0.0)
    errors = [(now, e) for now, happened in timeline(driver, monitor, 200.0) for e in happened
              if isinstance(e, FrameError)]
    assert errors == [(180.25, FrameError("no result from the blood-pressure monitor within 180 s"))]


@pytest.mark.parametrize("ending", ["result", "refused", "unanswered"])
def test_a_start_that_ended_is_not_timed_out_later(ending):
    driver = AndTM2657(poll_interval=1.0, measure_timeout=5.0)
    monitor = FakeMonitor(build_result_block(OLD), refuse_start=ending == "refused")
    driver.queue_commands([START], now=0.0)
    assert at(driver, monitor, 0.0) == ["RB"]
    monitor.silent = ending == "unanswered"
    if ending == "result":
        monitor.stored = build_result_block(NEW)
    events = [e for _, happened in timeline(driver, monitor, 12.0, start=0.25) for e in happened
              if not isinstance(e, str)]
    assert len(events) == 1 and "within 5 s" not in repr(events)


def test_a_block_cut_off_by_a_new_one_is_dropped_and_the_new_one_read():
    driver = AndTM2657()
    driver.tick(0.0)
    driver.feed(ACK_FRAME + build_result_block(OLD))
    assert driver.feed(HEADER + bytes([STX]) + b"TM2657" + bytes([RS]) + b"26" + build_result_block(NEW)) == [
        NEW_MEASUREMENT]


def padded_block(values, size):
    """A result block whose content (STX..ETX exclusive) is `size` bytes, padded in its last field."""
    block = build_result_block(values)
    content = block[len(HEADER) + 1:-1]
    return HEADER + bytes([STX]) + content + b"x" * (size - len(content)) + bytes([ETX])


def test_a_reply_of_exactly_512_bytes_is_read_and_one_of_513_discarded():
    driver = AndTM2657()
    driver.tick(0.0)
    driver.feed(ACK_FRAME + build_result_block(OLD))
    assert driver.feed(padded_block(NEW, 513)) == [FrameError("reply longer than 512 bytes discarded")]
    assert driver.feed(padded_block(NEW, 512)) == [NEW_MEASUREMENT]


def test_after_a_block_a_stray_stx_opens_no_new_one():
    driver = AndTM2657()
    driver.tick(0.0)
    driver.feed(ACK_FRAME + build_result_block(OLD))
    assert driver.feed(bytes([STX]) + b"junk" + bytes([ETX])) == []
    assert driver.feed(bytes([0x06, STX]) + b"junk" + bytes([ETX, 0x15])) == []


def test_a_refusal_with_nothing_outstanding_is_ignored():
    driver = AndTM2657()
    assert driver.feed(NAK_FRAME + ACK_FRAME) == []
    driver.tick(0.0)
    assert driver.feed(build_result_block(OLD)) == []  # the first block read is the baseline
    assert driver.feed(build_result_block(NEW)) == [NEW_MEASUREMENT]


def test_the_same_result_read_again_is_not_reported_again():
    driver, monitor = AndTM2657(poll_interval=1.0), FakeMonitor(build_result_block(OLD))
    run(driver, monitor, 0, 1)
    monitor.stored = build_result_block(NEW)
    assert run(driver, monitor, 1, 6) == [NEW_MEASUREMENT]
    monitor.stored = build_result_block(OLD)  # an older result differs from the last one: reported
    assert run(driver, monitor, 6, 8) == [{**OLD, "device_model": "TM2657", "driver": "and-tm2657"}]


def test_the_measurement_timeout_counts_from_the_start_request_not_from_zero():
    driver = AndTM2657(poll_interval=1.0, measure_timeout=5.0)
    monitor = FakeMonitor(build_result_block(OLD))
    assert at(driver, monitor, 100.0) == ["RB"]
    driver.queue_commands([START], now=100.0)
    errors = [(now, e) for now, happened in timeline(driver, monitor, 110.0, start=100.25) for e in happened
              if isinstance(e, FrameError)]
    assert errors == [(105.25, FrameError("no result from the blood-pressure monitor within 5 s"))]


@pytest.mark.parametrize("changed, reason", [
    ({"f4": b"\tE00"}, "malformed error code"), ({"f5": b"S102\t"}, "malformed systolic_mmhg"),
])
def test_only_spaces_pad_a_reply_field(changed, reason):
    assert rejected(reply(**changed)) == (reason, None)
