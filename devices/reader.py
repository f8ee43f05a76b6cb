"""One contract for every kind of badge reader, and the registry that picks one by KIOSK_READER.

A reader is made as ``cls(spec, on_tap, on_status, on_round=...)`` and driven by ``run(stop)``
until *stop* is set. It reports each presentation of a badge once (``on_tap(uid)`` with the
canonical UID, upper-case hex, see common.badges), its state as ``on_status(state, detail)`` with
state ``ok | missing | error`` and a Dutch detail for the screen, and calls ``on_round()`` on every
turn of its loop, also while it waits for a missing reader (the watchdog's ping).

Adding a kind of reader: write ``devices/<kind>.py`` with a :class:`Reader` subclass and a
``discover()`` that lists what this machine has, then add one line to :data:`READERS`.
"""
from __future__ import annotations

import abc
import importlib
import logging
import threading
import traceback
from typing import Callable

log = logging.getLogger(__name__)

OK, MISSING, ERROR = "ok", "missing", "error"
# A badge counts again only after it was away this long (and for one whole loop turn): it
# bridges a wobbling hand and a few missed rounds, while a deliberate second tap a few
# seconds later still counts.
DEBOUNCE_SECONDS = 1.5

# KIOSK_READER scheme -> "module:class". Imported on use: pyscard or evdev are only needed
# on a kiosk that has such a reader.
READERS = {
    "nfc": "devices.nfc:BadgeReader",
    "pcsc": "devices.pcsc:PcscReader",
    "wedge": "devices.wedge:WedgeReader",
}


def split_reader(value: str) -> tuple[str, str]:
    """``"pcsc:ACR1252"`` -> ``("pcsc", "ACR1252")``; ValueError for an unknown scheme."""
    scheme, _, spec = value.strip().partition(":")
    if scheme not in READERS:
        known = ", ".join(f"{name}:" for name in READERS)
        raise ValueError(f"onbekende lezer {value!r} in KIOSK_READER: begin met {known}")
    return scheme, spec


def reader_class(scheme: str) -> type[Reader]:
    """The reader class registered for *scheme*."""
    module, _, name = READERS[scheme].partition(":")
    return getattr(importlib.import_module(module), name)


def kiosk_reader_value(config) -> str:
    """KIOSK_READER, or ``nfc:`` + the older KIOSK_NFC when only that is set."""
    value = (config.get("KIOSK_READER") or "").strip()
    return value or f"nfc:{(config.get('KIOSK_NFC') or 'usb').strip()}"


def open_reader(value: str, on_tap: Callable[[str], None],
                on_status: Callable[[str, str], None] | None = None, *,
                on_round: Callable[[], None] | None = None, **options) -> Reader:
    """Make the reader a KIOSK_READER value names; ValueError for a value no reader takes."""
    scheme, spec = split_reader(value)
    return reader_class(scheme)(spec, on_tap, on_status, on_round=on_round, **options)


def discover_all() -> list[tuple[str, str]]:
    """Every reader this machine shows, as (KIOSK_READER value, description), kind by kind."""
    found = []
    for scheme in READERS:
        module = READERS[scheme].partition(":")[0]
        try:
            found += importlib.import_module(module).discover()
        except Exception as exc:  # a missing library must not hide the other kinds
            found.append((f"{scheme}:", f"kan niet zoeken: {type(exc).__name__}: {exc}"))
    return found


class Presence:
    """Tells a fresh tap from a badge that stays on the reader (or is read again and again)."""

    def __init__(self, debounce_seconds: float = DEBOUNCE_SECONDS):
        self.debounce_seconds = debounce_seconds
        self._last_seen: dict[str, tuple[float, int]] = {}

    def is_new_tap(self, uid: str, now: float, round_no: int) -> bool:
        """Record that *uid* was seen in loop turn *round_no*; True if that is a new tap."""
        last = self._last_seen.get(uid)
        self._last_seen[uid] = (now, round_no)
        self._forget_gone(now, round_no)
        return last is None or self._gone(last, now, round_no)

    def _gone(self, last: tuple[float, int], now: float, round_no: int) -> bool:
        # Away means missed in at least one whole round AND for longer than the
        # debounce time: on a slow link (rounds longer than debounce_seconds) a
        # badge that lies still is seen every round and never counts twice.
        seen_at, seen_round = last
        return round_no - seen_round > 1 and now - seen_at > self.debounce_seconds

    def _forget_gone(self, now: float, round_no: int) -> None:
        for uid in [u for u, last in self._last_seen.items() if self._gone(last, now, round_no)]:
            del self._last_seen[uid]


class Reader(abc.ABC):
    """Base of every reader kind: callbacks, state reporting and the tap debounce; each kind
    (nfc, pcsc, wedge) supplies `run`."""

    def __init__(self, on_tap: Callable[[str], None], on_status: Callable[[str, str], None] | None = None,
                 *, on_round: Callable[[], None] | None = None,
                 debounce_seconds: float = DEBOUNCE_SECONDS):
        self.state: tuple[str, str] | None = None  # last (state, detail) reported
        self._on_tap = on_tap
        self._on_status = on_status
        self._on_round = on_round or (lambda: None)
        self._presence = Presence(debounce_seconds)

    @abc.abstractmethod
    def run(self, stop: threading.Event) -> None:
        """Read badges until *stop* is set; never returns early, never raises."""

    def _report_tap(self, uid: str) -> None:
        log.info("badge …%s tapped", uid[-4:])
        try:
            self._on_tap(uid)
        except Exception as exc:
            # Only the type and place: a message could hold the full UID.
            log.error("on_tap failed for badge …%s: %s at %s", uid[-4:], type(exc).__name__, where(exc))

    def _set_state(self, state: str, detail: str) -> None:
        if (state, detail) == self.state:
            return
        self.state = (state, detail)
        log.log(logging.INFO if state == OK else logging.WARNING, "reader %s: %s", state, detail)
        if self._on_status is None:
            return
        try:
            self._on_status(state, detail)
        except Exception as exc:
            log.error("on_status failed: %s at %s", type(exc).__name__, where(exc))


def where(exc: BaseException) -> str:
    """File and line an exception came from, for logs that must not carry its message."""
    frames = traceback.extract_tb(exc.__traceback__)
    return f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "?"
