"""Keyboard-wedge readers: the decoder on key-event sequences shaped as a USB HID reader sends
them, the reader loop, the badge formats (one card, one UID, whichever reader saw it), and a
real evdev device through /dev/uinput where the kernel offers one."""
import errno
import os
import time
from pathlib import Path

import evdev
import pytest
from evdev import ecodes as e

from common.badge import BadgeUidError
from common.badge_formats import FORMATS, format_of_uid, shown_as, to_uid
from devices.reader import open_reader
from devices.wedge import WedgeDecoder, WedgeReader, parse_spec
from tests.support.live import wait_for
from tests.support.readers import KEYS, Callbacks, ReplayedDevice, running, typed


def decode(events, decoder=None):
    decoder = decoder or WedgeDecoder()
    return [badge for (kind, code, value, at) in events if (badge := decoder.feed(kind, code, value, at))]


# --- decoder ------------------------------------------------------------------------------

def test_digits_up_to_enter_are_one_badge():
    assert decode(typed("3569595041\n")) == ["3569595041"]


def test_two_badges_one_after_another():
    assert decode(typed("0012345678\n") + typed("0087654321\n", start=103.0)) == ["0012345678", "0087654321"]


def test_the_readers_own_key_map_decides_not_the_system_layout():
    # An AZERTY system would make KEY_1 an '&': the reader means 1, and the decoder reads 1.
    assert decode(typed("2712847316\n", keypad=True)) == ["2712847316"]
    assert decode(typed("A1B2C3D4\n")) == ["A1B2C3D4"]


def test_a_half_read_badge_is_dropped_after_the_timeout():
    events = typed("35695") + typed("0012345678\n", start=101.0)
    assert decode(events) == ["0012345678"]


def test_a_stalled_badge_is_dropped_by_expire_even_without_more_keys():
    decoder = WedgeDecoder(timeout=0.5)
    assert decode(typed("35695"), decoder) == []
    assert not decoder.expire(100.2)
    assert decoder.expire(101.0)
    assert decode(typed("\n", start=101.1), decoder) == []


def test_keys_outside_the_key_map_spoil_the_badge():
    events = typed("123")[:-3] + [(e.EV_KEY, e.KEY_Q, 1, 100.03)] + typed("4\n", start=100.04)
    assert decode(events) == []
    assert decode(typed("0012345678\n", start=102.0)) == ["0012345678"]


def test_key_up_autorepeat_and_enter_alone_give_nothing():
    assert decode([(e.EV_KEY, e.KEY_1, 0, 1.0), (e.EV_KEY, e.KEY_1, 2, 1.0)] + typed("\n", start=2.0)) == []


# --- formats ------------------------------------------------------------------------------

# One MIFARE Classic: UID A1 B2 C3 D4 as a PC/SC reader (Get Data) and nfcpy report it.
@pytest.mark.parametrize("number, fmt", [
    ("A1B2C3D4", "hex"), ("a1:b2:c3:d4", "hex"),
    ("2712847316", "dec"),
    ("3569595041", "dec-reversed"),
])
def test_one_mifare_card_is_one_uid_whichever_way_its_number_is_written(number, fmt):
    assert to_uid(number, fmt) == "A1B2C3D4"
    assert to_uid(shown_as("A1B2C3D4", fmt), fmt) == "A1B2C3D4"


def test_seven_byte_uids_and_uids_ending_in_zero_survive_the_round_trip():
    for uid in ("04497622D93881", "A1B2C300", "00B2C3D4", "04112233445500"):
        for fmt in ("dec", "dec-reversed"):
            assert to_uid(shown_as(uid, fmt), fmt) == uid, (uid, fmt)


def test_em4100_numbers_are_five_bytes_and_never_a_mifare_uid():
    assert to_uid("0012345678", "em4100") == "0000BC614E"
    assert shown_as("0000BC614E", "em4100") == "0012345678"
    assert format_of_uid("0000BC614E") == "em4100"
    assert format_of_uid("A1B2C3D4") == "hex"
    assert len(to_uid("4294967295", "em4100")) == 10
    with pytest.raises(BadgeUidError):
        to_uid("4294967296", "em4100")


@pytest.mark.parametrize("number, fmt", [
    ("12ab", "dec"), ("", "dec-reversed"), ("1" * 30, "dec"), ("123", "hex"), ("12", "nope"),
])
def test_bad_numbers_are_refused_with_a_reason(number, fmt):
    with pytest.raises(BadgeUidError):
        to_uid(number, fmt)


def test_every_format_has_a_dutch_label():
    assert all(f.label for f in FORMATS.values())


# --- the reader loop (a replayed device where this kernel offers no real one) -----------

def test_the_reader_grabs_the_device_and_reports_each_badge_once_as_its_uid():
    device, kiosk = ReplayedDevice(), Callbacks()
    reader = WedgeReader("/dev/input/by-id/usb-reader-event-kbd", kiosk.on_tap, kiosk.on_status,
                         open_device=lambda path: device)
    with running(reader):
        wait_for(lambda: kiosk.statuses, message="state")
        assert device.grabbed
        device.type("3569595041\n")
        wait_for(lambda: kiosk.taps, message="a tap")
        device.type("3569595041\n")  # readers that repeat while the card lies there: one tap
        time.sleep(0.3)
    assert kiosk.taps == ["A1B2C3D4"]
    assert kiosk.statuses == [("ok", f"lezer klaar: {device.name} (dec-reversed)")]
    assert device.closed


def test_an_em4100_reader_gives_the_fobs_uid():
    device, kiosk = ReplayedDevice(), Callbacks()
    reader = open_reader("wedge:em4100:/dev/input/by-id/usb-125khz-event-kbd", kiosk.on_tap, kiosk.on_status,
                         open_device=lambda path: device)
    with running(reader):
        wait_for(lambda: kiosk.statuses, message="state")
        device.type("0012345678\n")
        wait_for(lambda: kiosk.taps, message="a tap")
    assert kiosk.taps == ["0000BC614E"]


@pytest.mark.parametrize("error, state, words", [
    (OSError(errno.ENOENT, "No such file or directory"), "missing", "geen toetsenbordlezer op /dev/input/by-id/x"),
    (PermissionError(errno.EACCES, "Permission denied"), "error", "geen toegang tot /dev/input/by-id/x"),
    (ImportError("No module named 'evdev'"), "error", "python-evdev ontbreekt"),
])
def test_a_device_that_does_not_open_is_reported_and_retried(error, state, words):
    kiosk, attempts = Callbacks(), []

    def fail(path):
        attempts.append(path)
        raise error
    with running(WedgeReader("/dev/input/by-id/x", kiosk.on_tap, kiosk.on_status, open_device=fail,
                             retry_seconds=0.1)):
        wait_for(lambda: len(attempts) >= 2, message="a retry")
    assert kiosk.statuses[0][0] == state and words in kiosk.statuses[0][1]


def test_a_device_grabbed_by_another_program_is_an_error():
    class Busy(ReplayedDevice):
        def grab(self):
            raise OSError(errno.EBUSY, "Device or resource busy")
    kiosk = Callbacks()
    with running(WedgeReader("/dev/input/by-id/x", kiosk.on_tap, kiosk.on_status, open_device=lambda p: Busy())):
        wait_for(lambda: kiosk.statuses, message="state")
    assert kiosk.statuses[0] == ("error", "/dev/input/by-id/x is in gebruik door een ander programma en kan "
                                          "niet exclusief geopend worden: Device or resource busy")


def test_the_spec_takes_an_optional_format_and_refuses_unknown_ones():
    assert parse_spec("/dev/input/by-id/usb-x-event-kbd") == ("dec-reversed", "/dev/input/by-id/usb-x-event-kbd")
    assert parse_spec("em4100:/dev/input/by-path/pci-0000:00:14.0-usb-0:2:1.0-event-kbd") == (
        "em4100", "/dev/input/by-path/pci-0000:00:14.0-usb-0:2:1.0-event-kbd")
    with pytest.raises(ValueError, match="onbekend badgeformaat"):
        parse_spec("octal:/dev/input/event3")
    with pytest.raises(ValueError, match="pad"):
        parse_spec("event3")


# --- a real evdev device ------------------------------------------------------------------

@pytest.fixture
def uinput_reader():
    """A virtual keyboard through /dev/uinput, named like a wedge reader."""
    if not Path("/dev/uinput").exists():
        os.system("modprobe uinput >/dev/null 2>&1")
    if not Path("/dev/uinput").exists():
        pytest.skip("no /dev/uinput: this kernel offers no uinput (CONFIG_INPUT_UINPUT), so the wedge "
                    "reader was tested on key-event sequences only, not on a kernel input device")
    keys = list(KEYS.values()) + [e.KEY_LEFTSHIFT]
    with evdev.UInput({e.EV_KEY: keys}, name="fitwerk test wedge reader") as device:
        yield device


def test_a_real_input_device_is_grabbed_and_read(uinput_reader):
    path = uinput_reader.device.path
    kiosk = Callbacks()
    with running(open_reader(f"wedge:{path}", kiosk.on_tap, kiosk.on_status)):
        wait_for(lambda: kiosk.statuses, message="state")
        assert kiosk.statuses[-1][0] == "ok", kiosk.statuses
        other = evdev.InputDevice(path)
        with pytest.raises(OSError):
            other.grab()  # ours alone: the digits reach no browser or shell
        other.close()
        for kind, code, value, _ in typed("3569595041\n"):
            if kind == e.EV_KEY:
                uinput_reader.write(kind, code, value)
                uinput_reader.syn()
        wait_for(lambda: kiosk.taps, message="a tap")
    assert kiosk.taps == ["A1B2C3D4"]
