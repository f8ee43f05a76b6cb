"""Keyboard-wedge badge readers (python-evdev): KIOSK_READER ``wedge:[FORMAT:]/dev/input/by-id/<device>``.

A wedge reader is a USB keyboard that types the badge's number and Enter. The reader process
grabs the input device exclusively, so the digits never reach the browser or a shell, and
decodes the key codes itself with the reader's own key map (a HID reader sends US key codes
whatever the system's layout). A badge is the keys up to Enter; keys that stop coming for
KEY_TIMEOUT_S drop a half-read badge. FORMAT (common.badge_formats, default ``dec-reversed``)
turns the typed number into the canonical UID.
"""
from __future__ import annotations

import errno
import logging
import os
import select
import threading
import time
from pathlib import Path
from typing import Callable

from common.badge import BadgeUidError
from common.badge_formats import FORMATS, to_uid
from devices.reader import DEBOUNCE_SECONDS, ERROR, MISSING, OK, Reader

log = logging.getLogger(__name__)

DEFAULT_FORMAT = "dec-reversed"
KEY_TIMEOUT_S = 0.5  # readers type a whole badge in well under 0.2 s
WAIT_S = 0.5
EV_KEY, KEY_DOWN = 0x01, 1
ENTER_KEYS = {28, 96}  # KEY_ENTER, KEY_KPENTER
SHIFT_KEYS = {42, 54}  # KEY_LEFTSHIFT, KEY_RIGHTSHIFT
# Linux key codes (input-event-codes.h) as a US-layout HID reader sends them.
READER_KEYMAP = {
    2: "1", 3: "2", 4: "3", 5: "4", 6: "5", 7: "6", 8: "7", 9: "8", 10: "9", 11: "0",
    79: "1", 80: "2", 81: "3", 75: "4", 76: "5", 77: "6", 71: "7", 72: "8", 73: "9", 82: "0",  # keypad
    30: "A", 48: "B", 46: "C", 32: "D", 18: "E", 33: "F",
}


def parse_spec(spec: str) -> tuple[str, str]:
    """``"em4100:/dev/input/by-id/x"`` -> ``("em4100", "/dev/input/by-id/x")``; the format is optional."""
    fmt, sep, path = spec.partition(":")
    if not sep or fmt.startswith("/"):
        fmt, path = DEFAULT_FORMAT, spec
    if fmt not in FORMATS:
        raise ValueError(f"onbekend badgeformaat {fmt!r} in wedge:{spec}: kies uit {', '.join(FORMATS)}")
    if not path.startswith("/"):
        raise ValueError(f"wedge: wil het pad van het invoerapparaat, /dev/input/by-id/…: {spec!r}")
    return fmt, path


class WedgeDecoder:
    """Key events in, typed badge numbers out: digits up to Enter, a stalled half badge dropped."""

    def __init__(self, keymap: dict[int, str] | None = None, timeout: float = KEY_TIMEOUT_S):
        self.keymap = READER_KEYMAP if keymap is None else keymap
        self.timeout = timeout
        self._typed: list[str] = []
        self._garbled = False
        self._last_key_at = 0.0

    def feed(self, event_type: int, code: int, value: int, at: float) -> str | None:
        """One input event (type, code, value, time in seconds); the badge number when Enter ends one."""
        if event_type != EV_KEY or value != KEY_DOWN or code in SHIFT_KEYS:
            return None  # key up, autorepeat, MSC_SCAN and SYN_REPORT carry nothing new
        self.expire(at)
        self._last_key_at = at
        if code in ENTER_KEYS:
            typed, garbled = "".join(self._typed), self._garbled
            self._typed, self._garbled = [], False
            if garbled:
                log.warning("dropped a badge with keys outside the reader's key map (%d keys)", len(typed))
                return None
            return typed or None
        char = self.keymap.get(code)
        if char is None:
            self._garbled = True
        else:
            self._typed.append(char)
        return None

    def expire(self, now: float) -> bool:
        """Drop a half-typed badge whose keys stopped coming; True if one was dropped."""
        if (self._typed or self._garbled) and now - self._last_key_at > self.timeout:
            log.warning("dropped a half-read badge (%d keys, no Enter within %.1f s)", len(self._typed), self.timeout)
            self._typed, self._garbled = [], False
            return True
        return False


class WedgeReader(Reader):
    """Reads one keyboard-wedge reader, grabbed; reports each badge once and the reader's state."""

    def __init__(self, spec: str, on_tap: Callable[[str], None],
                 on_status: Callable[[str, str], None] | None = None, *,
                 on_round: Callable[[], None] | None = None, debounce_seconds: float = DEBOUNCE_SECONDS,
                 retry_seconds: float = 2.0, open_device: Callable[[str], object] | None = None):
        super().__init__(on_tap, on_status, on_round=on_round, debounce_seconds=debounce_seconds)
        self.format, self.path = parse_spec(spec)
        self.retry_seconds = retry_seconds
        self._open_device = open_device or _open_evdev
        self._round = 0

    def run(self, stop: threading.Event) -> None:
        """Read badges until *stop* is set, opening the device again whenever it goes away."""
        while not stop.is_set():
            self._on_round()
            device = self._open()
            if device is not None:
                try:
                    self._read(device, stop)
                finally:
                    _close_quietly(device)
            stop.wait(self.retry_seconds)

    def _open(self):
        try:
            device = self._open_device(self.path)
        except OSError as exc:
            self._set_state(*describe_open_error(exc, self.path))
            return None
        except ImportError as exc:
            self._set_state(ERROR, f"python-evdev ontbreekt: {exc}")
            return None
        try:
            device.grab()  # exclusive: the typed digits go nowhere else
        except OSError as exc:
            _close_quietly(device)
            self._set_state(ERROR, f"{self.path} is in gebruik door een ander programma en kan niet "
                                   f"exclusief geopend worden: {exc.strerror or exc}")
            return None
        self._set_state(OK, f"lezer klaar: {device.name} ({self.format})")
        return device

    def _read(self, device, stop: threading.Event) -> None:
        decoder = WedgeDecoder()
        while not stop.is_set():
            self._on_round()
            self._round += 1
            try:
                ready, _, _ = select.select([device.fd], [], [], WAIT_S)
                events = list(device.read()) if ready else []
            except OSError as exc:
                if exc.errno in (errno.EAGAIN, errno.EINTR):
                    continue
                self._set_state(MISSING, f"toetsenbordlezer {self.path} is weg ({exc.strerror or exc})")
                return
            for event in events:
                typed = decoder.feed(event.type, event.code, event.value, event.timestamp())
                if typed:
                    self._typed(typed)
            if not events:
                decoder.expire(time.time())

    def _typed(self, typed: str) -> None:
        try:
            uid = to_uid(typed, self.format)
        except BadgeUidError as exc:
            log.warning("wedge reader typed %d characters that are no %s badge: %s", len(typed), self.format, exc)
            return
        if self._presence.is_new_tap(uid, time.monotonic(), self._round):
            self._report_tap(uid)


def describe_open_error(exc: OSError, path: str) -> tuple[str, str]:
    """Map an error opening an input device to a reader state and a clear detail."""
    if exc.errno in (errno.ENOENT, errno.ENODEV, errno.ENXIO):
        return MISSING, f"geen toetsenbordlezer op {path}"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return ERROR, (f"geen toegang tot {path}: de udev-regel 62-fitwerk-input.rules (groep "
                       "fitwerk-hw) ontbreekt of de lezer kwam er niet onder")
    return ERROR, f"{path} gaat niet open: {exc.strerror or exc}"


def _open_evdev(path: str):
    import evdev
    return evdev.InputDevice(path)


def _close_quietly(device) -> None:
    try:
        device.close()
    except Exception as exc:  # gone already
        log.debug("closing the input device failed: %s", type(exc).__name__)


def discover(root: str = "/dev/input") -> list[tuple[str, str]]:
    """Keyboards this machine has, wedge readers among them, as (KIOSK_READER value, description)."""
    base = Path(root)
    if not base.is_dir():
        return []
    import evdev

    links = {}
    for folder in ("by-path", "by-id"):  # by-id wins: it survives a move to another USB socket
        for link in sorted((base / folder).glob("*-event-kbd")) if (base / folder).is_dir() else []:
            links[os.path.realpath(link)] = str(link)
    found = []
    for path in sorted(str(p) for p in base.glob("event*")):
        try:
            device = evdev.InputDevice(path)
        except OSError as exc:
            found.append((f"wedge:{path}", f"invoerapparaat, niet te openen: {exc.strerror or exc}"))
            continue
        with device:
            keys = set(device.capabilities().get(EV_KEY, []))
            if keys >= {2, 11, 28}:  # types digits and Enter
                found.append((f"wedge:{links.get(os.path.realpath(path), path)}",
                              f"toetsenbord '{device.name}' (een toetsenbordlezer? formaat met "
                              f"wedge:FORMAAT:pad, standaard {DEFAULT_FORMAT})"))
    return found

