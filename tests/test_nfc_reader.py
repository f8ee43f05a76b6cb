"""The badge reader loop on the real nfcpy stack: a BadgeReader in a thread polls
nfcpy's udp: link, and emulated FeliCa badges (devices.card) tap it from another process."""
import errno
import logging
import random
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import nfc
import pytest
import serial
from nfc.clf import RemoteTarget

from devices.card import CardProcess, EmulatedCard
from devices.nfc import BadgeReader, Presence, badge_uid, describe_open_error

ROOT = Path(__file__).resolve().parent.parent
ANNA = "01010501B00AC30B"
BRAM = "0102030405060708"
NO_SUCH_READER = "tty:USB99:pn532"  # no /dev/ttyUSB99 here: nfcpy raises ENODEV at open


def wait_for(predicate, timeout=5.0, what="condition"):
    """Poll until predicate() is truthy and return its value, or fail the test."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    pytest.fail(f"timed out after {timeout}s waiting for {what}")


@pytest.fixture
def udp_path():
    """An nfcpy udp: path on a free port below the ephemeral range (no clash with the reader's own socket)."""
    while True:
        port = random.randint(20000, 32000)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            try:
                probe.bind(("0.0.0.0", port))
            except OSError:
                continue
        return f"udp:127.0.0.1:{port}"


@pytest.fixture
def card(udp_path):
    """A card process on the test link that taps badges on command."""
    with CardProcess(udp_path) as process:
        yield process


class Kiosk:
    """What the reader told its caller: taps and status changes."""

    def __init__(self):
        self.taps = []
        self.statuses = []

    def on_tap(self, uid):
        self.taps.append(uid)

    def on_status(self, state, detail):
        self.statuses.append((state, detail))

    def states(self):
        return [state for state, _ in self.statuses]

    def wait_for_state(self, state, timeout=5.0):
        wait_for(lambda: self.statuses and self.statuses[-1][0] == state, timeout, f"state {state}")
        return self.statuses[-1][1]


@contextmanager
def running(reader):
    """Run reader in a thread; stop it and check it ended on leaving."""
    stop = threading.Event()
    thread = threading.Thread(target=reader.run, args=(stop,), daemon=True)
    thread.start()
    try:
        yield thread
    finally:
        stop.set()
        thread.join(timeout=5)
        assert not thread.is_alive(), "reader did not stop"


class ReaderSocket:
    """A USB socket for the udp: reader: unplugged, it fails like an absent or pulled USB reader."""

    def __init__(self, udp_path, plugged=True):
        self.udp_path = udp_path
        self.plugged = plugged
        self.opened = []
        self.open_attempts = 0

    def open(self, path):
        self.open_attempts += 1
        clf = nfc.ContactlessFrontend(self.udp_path if self.plugged else NO_SUCH_READER)
        self.opened.append(clf)
        return clf

    def unplug(self):
        self.plugged = False
        for clf in self.opened:
            if clf.device is not None:
                clf.device.sense_ttf = _pulled_usb_device  # what nfcpy's USB transport raises then

    def plug(self):
        self.plugged = True


def _pulled_usb_device(target):
    raise OSError(errno.ENODEV, "No such device")


# --- taps -----------------------------------------------------------------------------

def test_a_tap_reports_the_badge_uid_as_upper_case_hex(udp_path):
    kiosk = Kiosk()
    with running(BadgeReader(udp_path, kiosk.on_tap, kiosk.on_status)):
        assert EmulatedCard(udp_path, ANNA.lower()).tap(hold=1.5)
        wait_for(lambda: kiosk.taps, what="a tap")
    assert kiosk.taps == [ANNA]
    assert kiosk.states() == ["ok"]


def test_the_reader_logs_no_more_than_the_last_four_digits_of_a_uid(udp_path, card, caplog):
    caplog.set_level(logging.DEBUG, logger="devices")
    kiosk = Kiosk()
    with running(BadgeReader(udp_path, kiosk.on_tap)):
        card.tap(ANNA, hold=1.5)
        wait_for(lambda: kiosk.taps, what="a tap")
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("devices")]
    assert any("C30B" in m for m in messages)
    assert not any(ANNA[:-4] in m for m in messages)


def test_a_badge_left_on_the_reader_counts_once(udp_path, card):
    kiosk = Kiosk()
    with running(BadgeReader(udp_path, kiosk.on_tap)):
        card.tap(ANNA, hold=4.0)
        time.sleep(0.3)
    assert kiosk.taps == [ANNA]


def test_two_badges_tapped_one_after_another_are_reported_in_order(udp_path, card):
    kiosk = Kiosk()
    with running(BadgeReader(udp_path, kiosk.on_tap)):
        card.tap(ANNA, hold=1.5)
        card.tap(BRAM, hold=1.5)
        wait_for(lambda: len(kiosk.taps) == 2, what="two taps")
    assert kiosk.taps == [ANNA, BRAM]


def test_tapping_again_after_taking_the_badge_away_counts_again(udp_path):
    kiosk = Kiosk()
    with running(BadgeReader(udp_path, kiosk.on_tap)):
        done = subprocess.run([sys.executable, "-m", "devices.card", udp_path, "--uid", ANNA,
                               "--hold", "1.5", "--taps", "2", "--gap", "2"],
                              capture_output=True, text=True, timeout=30, cwd=ROOT)
        wait_for(lambda: len(kiosk.taps) == 2, what="two taps")
    assert done.returncode == 0
    assert done.stdout.splitlines() == [f"tapped {ANNA}", f"tapped {ANNA}"]
    assert kiosk.taps == [ANNA, ANNA]


def test_an_exception_in_on_tap_does_not_stop_the_reader(udp_path, card):
    calls = []

    def failing_on_tap(uid):
        calls.append(uid)
        raise OSError("disk full")  # nfcpy would swallow an OSError and end connect()

    kiosk = Kiosk()
    with running(BadgeReader(udp_path, failing_on_tap, kiosk.on_status)):
        card.tap(ANNA, hold=1.5)
        card.tap(BRAM, hold=1.5)
        wait_for(lambda: len(calls) == 2, what="two taps")
    assert calls == [ANNA, BRAM]
    assert kiosk.states() == ["ok"]


def test_a_card_answering_garbage_does_not_stop_the_reader(udp_path, card, caplog):
    kiosk = Kiosk()
    port = int(udp_path.rsplit(":", 1)[1])
    with running(BadgeReader(udp_path, kiosk.on_tap, kiosk.on_status)):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as junk:
            junk.bind(("127.0.0.1", port))
            junk.settimeout(1.5)
            for answer in (b"212F zz", b"212F 1201", b"nonsense"):
                _, reader_address = junk.recvfrom(1024)
                junk.sendto(answer, reader_address)
        card.tap(ANNA, hold=1.5)
        wait_for(lambda: kiosk.taps, what="a tap")
    assert kiosk.taps == [ANNA]
    assert kiosk.states() == ["ok"]
    assert "ignored a card that nfcpy could not handle" in caplog.text


# --- stopping ---------------------------------------------------------------------------

def test_stop_ends_run_within_two_seconds_while_polling(udp_path):
    kiosk = Kiosk()
    stop = threading.Event()
    thread = threading.Thread(target=BadgeReader(udp_path, kiosk.on_tap, kiosk.on_status).run, args=(stop,))
    thread.start()
    kiosk.wait_for_state("ok")
    started = time.monotonic()
    stop.set()
    thread.join(timeout=5)
    assert not thread.is_alive()
    assert time.monotonic() - started < 2.0


def test_stop_ends_run_at_once_while_waiting_for_a_missing_reader():
    kiosk = Kiosk()
    stop = threading.Event()
    thread = threading.Thread(target=BadgeReader(NO_SUCH_READER, kiosk.on_tap, kiosk.on_status,
                                                 retry_seconds=30).run, args=(stop,))
    thread.start()
    kiosk.wait_for_state("missing")
    started = time.monotonic()
    stop.set()
    thread.join(timeout=5)
    assert time.monotonic() - started < 0.5


# --- reader missing, unplugged, broken --------------------------------------------------

def test_a_missing_reader_is_reported_and_retried_without_ending_the_loop():
    kiosk = Kiosk()
    attempts = []

    def open_frontend(path):
        attempts.append(path)
        return nfc.ContactlessFrontend(path)

    reader = BadgeReader(NO_SUCH_READER, kiosk.on_tap, kiosk.on_status, retry_seconds=0.1,
                         open_frontend=open_frontend)
    with running(reader) as thread:
        wait_for(lambda: len(attempts) >= 4, what="retries")
        assert thread.is_alive()
    assert kiosk.statuses == [("missing", f"geen lezer gevonden op {NO_SUCH_READER}")]


def test_an_exception_in_on_status_does_not_stop_the_reader():
    attempts = []

    def open_frontend(path):
        attempts.append(path)
        return nfc.ContactlessFrontend(path)

    def failing_on_status(state, detail):
        raise RuntimeError("screen gone")

    reader = BadgeReader(NO_SUCH_READER, lambda uid: None, failing_on_status, retry_seconds=0.1,
                         open_frontend=open_frontend)
    with running(reader):
        wait_for(lambda: len(attempts) >= 3, what="retries")


def test_a_reader_plugged_in_later_reports_ok_and_then_taps_work(udp_path, card):
    kiosk = Kiosk()
    usb = ReaderSocket(udp_path, plugged=False)
    reader = BadgeReader(udp_path, kiosk.on_tap, kiosk.on_status, retry_seconds=0.2, open_frontend=usb.open)
    with running(reader):
        assert "geen lezer gevonden" in kiosk.wait_for_state("missing")
        usb.plug()
        kiosk.wait_for_state("ok")
        card.tap(ANNA, hold=1.5)
        wait_for(lambda: kiosk.taps, what="a tap")
    assert kiosk.states() == ["missing", "ok"]
    assert kiosk.taps == [ANNA]


def test_a_reader_pulled_out_while_polling_is_reported_and_recovers_when_put_back(udp_path, card):
    kiosk = Kiosk()
    usb = ReaderSocket(udp_path)
    reader = BadgeReader(udp_path, kiosk.on_tap, kiosk.on_status, retry_seconds=0.2, open_frontend=usb.open)
    with running(reader) as thread:
        kiosk.wait_for_state("ok")
        usb.unplug()
        kiosk.wait_for_state("missing")
        assert thread.is_alive()
        usb.plug()
        kiosk.wait_for_state("ok")
        card.tap(BRAM, hold=1.5)
        wait_for(lambda: kiosk.taps, what="a tap")
    assert kiosk.states() == ["ok", "error", "missing", "ok"]
    assert kiosk.taps == [BRAM]


def test_a_reader_that_opens_but_fails_every_round_is_reported_as_error():
    kiosk = Kiosk()
    attempts = []

    def open_frontend(path):
        attempts.append(path)
        return nfc.ContactlessFrontend(path)

    # Port 0 opens, but every send fails with EINVAL: a reader that no longer answers.
    reader = BadgeReader("udp:127.0.0.1:0", kiosk.on_tap, kiosk.on_status, retry_seconds=0.1,
                         open_frontend=open_frontend)
    with running(reader):
        detail = kiosk.wait_for_state("error")
        wait_for(lambda: len(attempts) >= 2, what="a reopen")
    assert detail == "lezer op udp:127.0.0.1:0 reageert niet meer"
    assert kiosk.states() == ["error"]


# --- pieces -------------------------------------------------------------------------------

@pytest.mark.parametrize("target, uid", [
    (RemoteTarget("212F", sensf_res=bytes.fromhex("01" "01010501B00AC30B" "00F1000000014300" "88B4")),
     "01010501B00AC30B"),
    (RemoteTarget("106A", sens_res=b"\x04\x00", sel_res=b"\x08", sdd_res=bytes.fromhex("a1b2c3d4")),
     "A1B2C3D4"),  # MIFARE Classic: UID only, memory unreadable
    (RemoteTarget("106A", sens_res=b"\x44\x00", sel_res=b"\x00", sdd_res=bytes.fromhex("04497622D93881")),
     "04497622D93881"),
    (RemoteTarget("106B", sensb_res=bytes.fromhex("50" "1A2B3C4D" "00000000" "718185")), "1A2B3C4D"),
    (RemoteTarget("106A", sens_res=b"\x00\x0c", rid_res=bytes.fromhex("1148" "DEADBEEF")), "DEADBEEF"),
    (RemoteTarget("106A", sens_res=b"\x04\x00", sel_res=b"\x20", sdd_res=bytes.fromhex("08a1b2c3")),
     None),  # random ID: a phone or bank card, different on every poll
    (RemoteTarget("212F", sensf_res=bytes.fromhex("01" "01FE0102030405FF" "00F1000000014300" "88B4")),
     None),  # NFC-DEP (a phone), random too
    (RemoteTarget("212F", sensf_res=b"\x01\x02"), None),
    (RemoteTarget("106B", sensb_res=b"\x50"), None),
    (RemoteTarget("106A"), None),
])
def test_badge_uid_comes_from_the_discovery_response(target, uid):
    assert badge_uid(target) == uid


@pytest.mark.parametrize("exc, state, words", [
    (OSError(errno.ENODEV, "No such device"), "missing", "geen lezer gevonden op usb:054c:06c1"),
    (FileNotFoundError("cannot find a suitable libusb-1.0"), "missing", "libusb-1.0 ontbreekt"),
    (OSError(errno.EACCES, "Permission denied"), "error", "geen toegang"),
    (OSError(errno.EBUSY, "Device or resource busy"), "error", "port100/pn533"),
    (OSError(errno.EBUSY, "Device or resource busy"), "error", "pcscd"),
    (TimeoutError(errno.ETIMEDOUT, "Connection timed out"), "missing", "geen antwoord"),
    (socket.gaierror(-2, "Name or service not known"), "missing", "onbekende host"),
    (serial.SerialException(errno.ENOENT, "could not open port"), "missing", "geen lezer gevonden"),
    (ValueError("argument *path* must not be empty"), "error", "gaat niet open"),
])
def test_open_errors_map_to_reader_states_with_a_clear_detail(exc, state, words):
    got_state, detail = describe_open_error(exc, "usb:054c:06c1")
    assert got_state == state
    assert words in detail


def test_nfcpy_open_errors_for_absent_readers_are_reported_missing():
    for path in ("tty:USB99:pn532", "tty:AMA9:pn532", "bogus"):
        with pytest.raises(OSError) as raised:
            nfc.ContactlessFrontend(path)
        assert describe_open_error(raised.value, path) == ("missing", f"geen lezer gevonden op {path}")


def test_a_badge_seen_in_every_round_counts_once():
    presence = Presence(debounce_seconds=1.5)
    assert [presence.is_new_tap(ANNA, 0.1 * n, n) for n in range(1, 60)] == [True] + [False] * 58


def test_a_badge_away_briefly_counts_once():
    presence = Presence(debounce_seconds=1.5)
    assert presence.is_new_tap(ANNA, 10.0, 1)
    assert not presence.is_new_tap(ANNA, 11.0, 5)


def test_a_badge_away_longer_than_the_debounce_time_counts_again():
    presence = Presence(debounce_seconds=1.5)
    assert presence.is_new_tap(ANNA, 10.0, 1)
    assert presence.is_new_tap(ANNA, 12.0, 4)


def test_a_badge_lying_on_a_slow_reader_counts_once_even_with_long_rounds():
    presence = Presence(debounce_seconds=1.5)
    assert presence.is_new_tap(ANNA, 10.0, 1)
    assert not presence.is_new_tap(ANNA, 12.1, 2)
    assert not presence.is_new_tap(ANNA, 14.2, 3)


def test_each_badge_is_debounced_on_its_own():
    presence = Presence(debounce_seconds=1.5)
    assert presence.is_new_tap(ANNA, 10.0, 1)
    assert presence.is_new_tap(BRAM, 10.1, 2)
    assert not presence.is_new_tap(ANNA, 10.2, 2)


def test_the_card_command_refuses_a_uid_that_is_not_a_felica_idm(udp_path):
    done = subprocess.run([sys.executable, "-m", "devices.card", udp_path, "--uid", "04497622D93881"],
                          capture_output=True, text=True, timeout=30, cwd=ROOT)
    assert done.returncode == 2
    assert "16 hex digits" in done.stderr
