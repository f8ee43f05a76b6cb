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
    with pytest.raises(ValueError):
        AndTM2657.start_commands(height_cm=170)
