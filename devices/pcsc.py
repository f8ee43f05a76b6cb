"""Badge reader loop on PC/SC (pyscard against pcscd): KIOSK_READER ``pcsc`` or ``pcsc:<part of the name>``.

The contactless readers offices buy (ACS ACR1252U / ACR122U, HID OMNIKEY 5022 / 5427, Identiv
uTrust, Sony RC-S300) are CCID devices that pcscd drives through libccid. The UID comes from
the PC/SC part 3 Get Data command ``FF CA 00 00 00``, the same bytes nfcpy reports for the card.

Measured on Debian 12 (pcscd 1.9.9) with the vpcd virtual reader (devices/vcard.py):

- SCardGetStatusChange returns on insertion and removal; the high 16 bits of the event state
  count card events, so a quick remove-and-insert between two waits is still seen.
- pcscd not running: SCARD_E_NO_SERVICE (0x8010001D) from EstablishContext and every call;
  pcscd stopped during a wait: SCARD_E_NO_SERVICE too. No reader: SCARD_E_NO_READERS_AVAILABLE.
- The wait is bounded (WAIT_MS), so stop and the watchdog are served within a second.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Callable

from common.badge import BadgeUidError, normalise_uid
from devices.reader import DEBOUNCE_SECONDS, ERROR, MISSING, OK, Reader, where

log = logging.getLogger(__name__)

GET_UID = [0xFF, 0xCA, 0x00, 0x00, 0x00]
WAIT_MS = 1000
NO_PCSCD = "pcscd draait niet: zet de PC/SC-dienst aan (systemctl enable --now pcscd.socket)"


def _scard():
    from smartcard import scard  # pyscard: needs libpcsclite at import
    return scard


def _code(hresult: int) -> int:
    return hresult & 0xFFFFFFFF


class PcscGone(Exception):
    """pcscd stopped answering (or the context broke); the context must be made anew."""


def _context_lost(scard, hresult: int) -> bool:
    # pcscd stopped during a call gives a transport error, and the context stays dead even
    # when pcscd comes back: every one of these means "establish a new context".
    return _code(hresult) in {_code(c) for c in (scard.SCARD_E_NO_SERVICE, scard.SCARD_E_SERVICE_STOPPED,
                                                 scard.SCARD_F_COMM_ERROR, scard.SCARD_E_INVALID_HANDLE)}


class PcscReader(Reader):
    """Waits for cards on one PC/SC reader, reports each presentation once and the reader's state."""

    def __init__(self, name_part: str, on_tap: Callable[[str], None],
                 on_status: Callable[[str, str], None] | None = None, *,
                 on_round: Callable[[], None] | None = None, debounce_seconds: float = DEBOUNCE_SECONDS,
                 retry_seconds: float = 2.0, wait_ms: int = WAIT_MS):
        super().__init__(on_tap, on_status, on_round=on_round, debounce_seconds=debounce_seconds)
        self.name_part = name_part.strip()
        self.retry_seconds = retry_seconds
        self.wait_ms = wait_ms
        self.reader_name: str | None = None  # the reader in use
        self._round = 0

    def run(self, stop: threading.Event) -> None:
        """Wait for cards until *stop* is set, starting over whenever pcscd goes away."""
        try:
            scard = _scard()
        except ImportError as exc:  # stay up and say so: a restart would not bring the library
            self._set_state(ERROR, f"pyscard gaat niet open (libpcsclite1 geïnstalleerd?): {exc}")
            while not stop.wait(1):
                self._on_round()
            return
        while not stop.is_set():
            self._on_round()
            hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
            if hresult != scard.SCARD_S_SUCCESS:
                self._set_state(ERROR, NO_PCSCD if _code(hresult) == _code(scard.SCARD_E_NO_SERVICE)
                                else f"PC/SC gaat niet open: {scard.SCardGetErrorMessage(hresult)}")
            else:
                try:
                    self._watch(scard, context, stop)
                except PcscGone as gone:
                    self._set_state(ERROR, str(gone) or NO_PCSCD)
                finally:
                    scard.SCardReleaseContext(context)
            stop.wait(self.retry_seconds)

    def _watch(self, scard, context, stop: threading.Event) -> None:
        """Follow the chosen reader until stop; returns to look for it again when it is gone."""
        while not stop.is_set():
            self._on_round()
            name = self._choose(scard, context)
            if name is None:
                if stop.wait(self.retry_seconds):
                    return
                continue
            self._set_state(OK, f"lezer klaar: {name}")
            self._follow(scard, context, name, stop)

    def _choose(self, scard, context) -> str | None:
        """The reader to use, or None (state reported) when there is none."""
        hresult, names = scard.SCardListReaders(context, [])
        if _code(hresult) == _code(scard.SCARD_E_NO_READERS_AVAILABLE) or (hresult == 0 and not names):
            self._set_state(MISSING, "geen PC/SC-lezer aangesloten")
            return None
        if _context_lost(scard, hresult):
            raise PcscGone()
        if hresult != scard.SCARD_S_SUCCESS:
            raise PcscGone(f"PC/SC-lezers opvragen mislukt: {scard.SCardGetErrorMessage(hresult)}")
        matching = [n for n in names if self.name_part.lower() in n.lower()]
        if not matching:
            self._set_state(MISSING, f"geen PC/SC-lezer met '{self.name_part}' in de naam "
                                     f"(aangesloten: {', '.join(names)})")
            return None
        if len(matching) > 1:
            log.info("%d PC/SC readers match %r, using %s", len(matching), self.name_part, matching[0])
        self.reader_name = matching[0]
        return matching[0]

    def _follow(self, scard, context, name: str, stop: threading.Event) -> None:
        """Wait for card events on reader *name*; returns when it is gone or stop is set."""
        state, uid = scard.SCARD_STATE_UNAWARE, None
        while not stop.is_set():
            self._on_round()
            self._round += 1
            hresult, changes = scard.SCardGetStatusChange(context, self.wait_ms, [(name, state)])
            if _context_lost(scard, hresult):
                raise PcscGone()
            if _code(hresult) == _code(scard.SCARD_E_TIMEOUT):
                if uid:
                    self._presence.is_new_tap(uid, time.monotonic(), self._round)  # still lying there
                continue
            if hresult != scard.SCARD_S_SUCCESS:
                log.warning("PC/SC reader %s: %s", name, scard.SCardGetErrorMessage(hresult))
                return  # unknown reader: unplugged; look for it again
            _, events, _atr = changes[0]
            if events & (scard.SCARD_STATE_UNKNOWN | scard.SCARD_STATE_UNAVAILABLE):
                return
            card_changed = (events >> 16) != (state >> 16)
            state = events & ~scard.SCARD_STATE_CHANGED
            present = events & scard.SCARD_STATE_PRESENT and not events & scard.SCARD_STATE_MUTE
            if not present:
                uid = None
                continue
            if card_changed or uid is None:
                uid = self._read_uid(scard, context, name)
            if uid and self._presence.is_new_tap(uid, time.monotonic(), self._round):
                self._report_tap(uid)

    def _read_uid(self, scard, context, name: str) -> str | None:
        """Ask the card on *name* for its UID (Get Data); None when it will not say."""
        hresult, card, protocol = scard.SCardConnect(
            context, name, scard.SCARD_SHARE_SHARED, scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1)
        if hresult != scard.SCARD_S_SUCCESS:
            # Taken away before we could talk to it, or a card the reader cannot power.
            log.info("PC/SC card on %s did not connect: %s", name, scard.SCardGetErrorMessage(hresult))
            return None
        try:
            hresult, response = scard.SCardTransmit(card, protocol, GET_UID)
        except Exception as exc:  # pyscard raises for malformed answers
            log.warning("PC/SC Get Data failed: %s at %s", type(exc).__name__, where(exc))
            return None
        finally:
            scard.SCardDisconnect(card, scard.SCARD_LEAVE_CARD)
        if hresult != scard.SCARD_S_SUCCESS or len(response) < 3 or response[-2:] != [0x90, 0x00]:
            log.info("PC/SC card on %s gave no UID (%s)", name,
                     scard.SCardGetErrorMessage(hresult) if hresult else bytes(response[-2:]).hex())
            return None
        uid = bytes(response[:-2])
        if len(uid) == 4 and uid[0] == 0x08:
            return None  # a random ID (a phone, a bank card): new on every tap, identifies nobody
        try:
            return normalise_uid(uid.hex())
        except BadgeUidError:
            return None


def discover() -> list[tuple[str, str]]:
    """PC/SC readers pcscd knows now, as (KIOSK_READER value, description)."""
    scard = _scard()
    hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if hresult != scard.SCARD_S_SUCCESS:
        return [("pcsc", NO_PCSCD)]
    try:
        hresult, names = scard.SCardListReaders(context, [])
    finally:
        scard.SCardReleaseContext(context)
    names = names if hresult == scard.SCARD_S_SUCCESS else []
    # pcscd appends "NN MM" (plug order, slot): leave them out so the value survives a replug,
    # unless two readers of the same make need them to be told apart.
    stable = [n.rsplit(" ", 2)[0] if n[-5:-3].isdigit() and n[-2:].isdigit() else n for n in names]
    return [(f"pcsc:{short if stable.count(short) == 1 else name}", f"PC/SC-lezer {name}")
            for name, short in zip(names, stable)]
