"""What the badge-reader tests share: what a reader told its caller, a reader loop run in a
thread, and a keyboard-wedge reader's key events (typed, or replayed as an input device)."""
import os
import threading
import time
from contextlib import contextmanager

import evdev
from evdev import ecodes as e

from tests.support.live import wait_for

KEYS = {**{str(d): getattr(e, f"KEY_{d}") for d in range(10)}, "\n": e.KEY_ENTER,
        **{c: getattr(e, f"KEY_{c}") for c in "ABCDEF"}}
SCANCODES = {**{str(d): 0x7001E + (d - 1) % 10 for d in range(10)}, "\n": 0x70028}


class Callbacks:
    """What the reader told its caller: taps, states, polling rounds."""

    def __init__(self):
        self.taps, self.statuses, self.rounds = [], [], 0

    def on_tap(self, uid):
        self.taps.append(uid)

    def on_status(self, state, detail):
        self.statuses.append((state, detail))

    def on_round(self):
        self.rounds += 1

    def wait_for_state(self, state, timeout=10.0, containing=""):
        """Wait until the last state reported is `state` (with `containing` in its detail)."""
        wait_for(lambda: self.statuses and self.statuses[-1][0] == state and containing in self.statuses[-1][1],
                 timeout, message=f"state {state} {containing}")
        return self.statuses[-1][1]


@contextmanager
def running(reader, stops_within=2.5):
    """The reader's loop in a thread while the block runs; it must stop when told (within
    `stops_within` seconds)."""
    stop = threading.Event()
    thread = threading.Thread(target=reader.run, args=(stop,), daemon=True)
    thread.start()
    try:
        yield
    finally:
        stopped_at = time.monotonic()
        stop.set()
        thread.join(timeout=5)
        assert not thread.is_alive(), "reader did not stop"
        if stops_within is not None:
            assert time.monotonic() - stopped_at < stops_within


def typed(text, start=100.0, gap=0.008, keypad=False, shift_letters=True):
    """The events a HID wedge reader sends for *text*: per key MSC_SCAN, key down, SYN, then the
    same for key up, `gap` seconds apart; letters with shift held."""
    events, at = [], start
    for char in text:
        code = KEYS[char] if not (keypad and char.isdigit()) else getattr(e, f"KEY_KP{char}")
        press = [(e.KEY_LEFTSHIFT, 1)] if char.isalpha() and shift_letters else []
        release = [(e.KEY_LEFTSHIFT, 0)] if press else []
        for key, value in press + [(code, 1), (code, 0)] + release:
            events += [(e.EV_MSC, e.MSC_SCAN, SCANCODES.get(char, 0x70004), at), (e.EV_KEY, key, value, at),
                       (e.EV_SYN, e.SYN_REPORT, 0, at)]
            at += gap / 2
    return events


class ReplayedDevice:
    """Stands in for the kernel's input device: the events of `typed` through a pipe."""

    def __init__(self, name="Sycreader RFID Technology Co., Ltd SYC ID&IC USB Reader"):
        self.name = name
        self.fd, self._write = os.pipe()
        self._events, self.grabbed, self.closed = [], False, False

    def type(self, text):
        for kind, code, value, _ in typed(text):
            now = time.time()
            self._events.append(evdev.InputEvent(int(now), int(now % 1 * 1e6), kind, code, value))
        os.write(self._write, b".")

    def grab(self):
        self.grabbed = True

    def read(self):
        os.read(self.fd, 4096)
        events, self._events = self._events, []
        return events

    def close(self):
        self.closed = True
        os.close(self.fd)
        os.close(self._write)
