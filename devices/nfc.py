"""Badge reader loop on nfcpy: reports each tap's UID once, and the reader's state.

Measured here with nfcpy 1.0.4 (no hardware; udp: link and absent USB/TTY devices):

- ``usb``, ``usb:054c:06c1``, ``tty:USB9:pn532`` with no such device raise
  ``OSError(ENODEV)`` at open within 1 ms. ``tty:S0:pn532`` (a port with nothing that
  answers) raises ``TimeoutError(ETIMEDOUT)`` after 0.1 s. An unresolvable host in a
  ``udp:`` path raises ``socket.gaierror``.
- ``udp:HOST:PORT`` always opens: it is only a socket, and a missing card process is
  indistinguishable from an empty reader (each polled technology waits 1 s for an
  answer). So on this link "missing" can only be shown with a path that cannot open;
  ``udp:127.0.0.1:0`` opens but every ``connect()`` returns False (sendto EINVAL),
  which is what a dead or unplugged USB reader looks like too.
- ``connect(rdwr={'iterations': 1})`` returns after one sense round: about 1 s per
  technology on udp: when nothing answers, milliseconds on a real reader. Hence
  udp: paths poll 212F only (the emulated badges are FeliCa, see devices.card).
- ``on-discover`` gets the target before activation; returning False skips
  activation (which would also fail on MIFARE Classic memory) and the target
  already carries the UID. A badge left on the reader is discovered again on every
  round, so presence is tracked here (see :class:`Presence`).
"""
from __future__ import annotations

import errno
import itertools
import logging
import socket
import threading
import time
from typing import Callable, Sequence

import nfc
import nfc.clf

from common.badge import normalise_uid
from devices.reader import DEBOUNCE_SECONDS, Presence, Reader, where

__all__ = ["BadgeReader", "Presence", "badge_uid", "describe_open_error", "discover"]
log = logging.getLogger(__name__)

POLL_PAUSE_SECONDS = 0.1
HARDWARE_TARGETS = ("106A", "106B", "212F")
UDP_TARGETS = ("212F",)
FAILED_ROUNDS_BEFORE_REOPEN = 3


def default_targets(path: str) -> tuple[str, ...]:
    """Technologies to poll on *path*: FeliCa only on the udp: test link."""
    return UDP_TARGETS if path.startswith("udp") else HARDWARE_TARGETS


def badge_uid(target) -> str | None:
    """The UID of a discovered target in common.badge's form, or None if it has no stable one."""
    # Random IDs (NFC-A 08xxxxxx here, a phone's FeliCa 01FE... in common.badge) change
    # on every poll: they identify nobody and would count as a new tap each round.
    if target.sensf_res and len(target.sensf_res) >= 9:
        uid = target.sensf_res[1:9]  # FeliCa IDm
    elif target.sdd_res:
        uid = target.sdd_res  # NFC-A NFCID1: MIFARE Classic, Ultralight, DESFire
        if len(uid) == 4 and uid[0] == 0x08:
            return None
    elif target.sensb_res and len(target.sensb_res) >= 5:
        uid = target.sensb_res[1:5]  # NFC-B PUPI
    elif target.rid_res and len(target.rid_res) >= 6:
        uid = target.rid_res[2:6]  # Type 1 (Topaz) UID0-3
    else:
        return None
    try:
        return normalise_uid(bytes(uid).hex())
    except ValueError:
        return None


def describe_open_error(exc: BaseException, path: str = "") -> tuple[str, str]:
    """Map an exception from opening a reader to a reader state and a clear detail."""
    at = f" op {path}" if path else ""
    code = getattr(exc, "errno", None)
    if "libusb" in str(exc):
        return "missing", "libusb-1.0 ontbreekt op deze computer (apt install libusb-1.0-0)"
    if isinstance(exc, socket.gaierror):
        return "missing", f"onbekende host{at}"
    if code == errno.EACCES:
        return "error", (f"geen toegang tot de lezer{at}: "
                         "udev-regel of lidmaatschap van de groep plugdev nodig")
    if code == errno.EBUSY:
        return "error", (f"lezer{at} is bezet door de kernelmodule port100/pn533 of door "
                         "pcscd: zet port100 en pn533 op de blacklist en stop pcscd")
    if code in (errno.ENODEV, errno.ENOENT, errno.ENXIO):
        return "missing", f"geen lezer gevonden{at}"
    if code == errno.ETIMEDOUT:
        return "missing", f"geen antwoord van een lezer{at} (aangesloten, voeding, UART aan?)"
    return "error", f"lezer{at} gaat niet open: {type(exc).__name__}: {exc}"


class BadgeReader(Reader):
    """Polls one nfcpy reader (KIOSK_READER ``nfc:<nfcpy path>``), reports each tap once and its state."""

    def __init__(
        self,
        path: str,
        on_tap: Callable[[str], None],
        on_status: Callable[[str, str], None] | None = None,
        *,
        retry_seconds: float = 3.0,
        debounce_seconds: float = DEBOUNCE_SECONDS,
        poll_pause: float = POLL_PAUSE_SECONDS,
        targets: Sequence[str] | None = None,
        open_frontend: Callable[[str], nfc.ContactlessFrontend] = nfc.ContactlessFrontend,
        on_round: Callable[[], None] | None = None,
    ):
        super().__init__(on_tap, on_status, on_round=on_round, debounce_seconds=debounce_seconds)
        self.path = path
        self.retry_seconds = retry_seconds
        self.poll_pause = poll_pause
        self.targets = tuple(targets or default_targets(path))
        self._open_frontend = open_frontend
        self._rounds = itertools.count(1)
        self._round = 0
        self._card_trouble = False

    def run(self, stop: threading.Event) -> None:
        """Poll until *stop* is set, reopening the reader whenever it fails.

        nfcpy swallows KeyboardInterrupt inside connect(): run this in a worker
        thread, or let the SIGINT/SIGTERM handler set *stop*.
        """
        while not stop.is_set():
            self._on_round()  # the loop turns, also while it waits for a missing reader
            clf = self._open()
            if clf is not None:
                try:
                    self._poll(clf, stop)
                finally:
                    _close_quietly(clf)
            if not stop.is_set():
                stop.wait(self.retry_seconds)

    def _open(self) -> nfc.ContactlessFrontend | None:
        try:
            return self._open_frontend(self.path)
        except Exception as exc:  # OSError mostly, but drivers raise what they like
            self._set_state(*describe_open_error(exc, self.path))
            return None

    def _poll(self, clf: nfc.ContactlessFrontend, stop: threading.Event) -> None:
        """Poll round after round until *stop* is set or the reader stops working."""
        failed, ready = 0, f"lezer klaar: {clf}"
        while not stop.is_set():
            self._on_round()
            if self._poll_round(clf, stop):
                failed = 0
                self._set_state("ok", ready)
            else:
                failed += 1
                if failed >= FAILED_ROUNDS_BEFORE_REOPEN:
                    self._set_state("error", f"lezer op {self.path} reageert niet meer")
                    return
            stop.wait(self.poll_pause)

    def _poll_round(self, clf: nfc.ContactlessFrontend, stop: threading.Event) -> bool:
        """One sense round over all targets; False if the reader failed it."""
        self._round = next(self._rounds)
        checks = itertools.count()
        options = {"targets": list(self.targets), "iterations": 1,
                   "on-discover": self._on_discover, "beep-on-connect": False}
        try:
            # terminate is asked before the first round and after each one.
            result = clf.connect(rdwr=options, terminate=lambda: stop.is_set() or next(checks) > 0)
        except OSError as exc:
            log.warning("reader %s failed a poll round: %s", self.path, exc)
            return False
        except Exception as exc:  # a malformed answer from a card can escape nfcpy
            self._note_card_trouble(exc)
            return True
        self._card_trouble = False
        return result is not False  # False: nfcpy caught an OSError from the device

    def _on_discover(self, target) -> bool:
        """Report a new badge from a discovered target; never activates it."""
        try:
            uid = badge_uid(target)
        except Exception as exc:
            self._note_card_trouble(exc)
            return False
        if uid and self._presence.is_new_tap(uid, time.monotonic(), self._round):
            self._report_tap(uid)
        return False

    def _note_card_trouble(self, exc: Exception) -> None:
        level = logging.DEBUG if self._card_trouble else logging.WARNING
        log.log(level, "ignored a card that nfcpy could not handle: %s at %s", type(exc).__name__, where(exc))
        self._card_trouble = True


def _close_quietly(clf: nfc.ContactlessFrontend) -> None:
    try:
        clf.close()
    except Exception as exc:  # the device may be gone already
        log.debug("closing the reader failed: %s", type(exc).__name__)


def discover() -> list[tuple[str, str]]:
    """USB readers nfcpy drives that are plugged in now, as (KIOSK_READER value, description)."""
    import nfc.clf.device
    import nfc.clf.transport

    found = []
    for vid, pid, bus, dev in nfc.clf.transport.USB.find("usb") or []:
        driver = nfc.clf.device.usb_device_map.get((vid, pid))
        if driver:
            found.append((f"nfc:usb:{vid:04x}:{pid:04x}", f"nfcpy, driver {driver}, USB bus {bus} device {dev}"))
    # A PN532 on a UART cannot be seen without talking to the port (where an instrument may listen).
    return found
