"""How badge numbers are written, and the one canonical UID each maps to.

A badge is known everywhere by its canonical UID (common.badge: upper-case hex of whole bytes),
which is what an NFC or PC/SC reader reports: the UID bytes in the order the card sends them.
Keyboard-wedge readers type a number instead, and staff may type the number printed on a key fob;
the format says how to read it back to the canonical UID, so one physical badge is one person
whichever reader saw it. The format is stored with the badge to show its number as people know it.

- ``hex``: the UID in hex, as NFC / PC/SC readers give it (``A1B2C3D4``).
- ``dec``: a MIFARE UID as one decimal number, bytes in card order (4 bytes: ``2712847316``).
- ``dec-reversed``: the same with the bytes reversed, what most cheap 13.56 MHz wedge readers type
  (``3569595041`` for A1 B2 C3 D4).
- ``em4100``: a 125 kHz EM4100 fob's number, 10 digits (its 32-bit ID, printed on the fob). No
  13.56 MHz reader can see these; the canonical UID is 5 bytes, 00 and the ID, so it can never
  equal a MIFARE (4, 7 or 10 bytes) or FeliCa (8 bytes) UID.
"""
from dataclasses import dataclass
from typing import Callable

from common.badge import BadgeUidError, normalise_uid

UID_SIZES = (4, 7, 10)  # NFC-A single, double, triple size UIDs
EM4100_MAX = 2**32 - 1


@dataclass(frozen=True)
class BadgeFormat:
    """One way of writing a badge's number: to the canonical UID and back."""
    name: str
    label: str  # Dutch, for the staff site
    to_uid: Callable[[str], str]
    from_uid: Callable[[str], str]


def _digits(text):
    number = "".join(text.split())
    if not number.isdigit() or not number.isascii():
        raise BadgeUidError("een badgenummer in dit formaat bestaat alleen uit cijfers")
    return int(number)


def _uid_bytes(value):
    for size in UID_SIZES:
        if value < 256**size:
            return value.to_bytes(size, "big")
    raise BadgeUidError("getal te groot voor een MIFARE-UID (hoogstens 10 bytes)")


def _dec_to_uid(text):
    return normalise_uid(_uid_bytes(_digits(text)).hex())


def _dec_reversed_to_uid(text):
    return normalise_uid(_uid_bytes(_digits(text))[::-1].hex())


def _uid_to_dec(uid, reverse=False):
    raw = bytes.fromhex(uid)
    value = int.from_bytes(raw[::-1] if reverse else raw, "big")
    return f"{value:010d}" if len(raw) == 4 else str(value)  # wedge readers pad 4-byte UIDs to 10 digits


def _em4100_to_uid(text):
    value = _digits(text)
    if value > EM4100_MAX:
        raise BadgeUidError("een EM4100-nummer heeft hoogstens 10 cijfers en is kleiner dan 4294967296")
    return f"00{value:08X}"


def _uid_to_em4100(uid):
    if len(uid) != 10 or not uid.startswith("00"):
        raise BadgeUidError("geen EM4100-badge")
    return f"{int(uid[2:], 16):010d}"


FORMATS = {f.name: f for f in (
    BadgeFormat("hex", "UID in hex (NFC- en PC/SC-lezers)", normalise_uid, lambda uid: uid),
    BadgeFormat("dec", "MIFARE-UID als decimaal getal", _dec_to_uid, _uid_to_dec),
    BadgeFormat("dec-reversed", "MIFARE-UID als decimaal getal, bytes omgekeerd (veel toetsenbordlezers)",
                _dec_reversed_to_uid, lambda uid: _uid_to_dec(uid, reverse=True)),
    BadgeFormat("em4100", "EM4100-nummer, 10 cijfers (125 kHz-sleutelhanger)", _em4100_to_uid, _uid_to_em4100),
)}
DEFAULT = "hex"


def badge_format(name):
    """The format called *name*; BadgeUidError listing the known ones."""
    try:
        return FORMATS[name]
    except KeyError:
        raise BadgeUidError(f"onbekend badgeformaat {name!r}: kies uit {', '.join(FORMATS)}") from None


def to_uid(text, name=DEFAULT):
    """The canonical UID of badge number *text* written in format *name*; BadgeUidError if it is none."""
    if not isinstance(text, str):
        raise BadgeUidError("badge uid must be a string")
    return badge_format(name).to_uid(text)


def shown_as(uid, name=DEFAULT):
    """Canonical *uid* written the way format *name* prints it (the hex UID if it cannot be)."""
    try:
        return badge_format(name).from_uid(uid)
    except (BadgeUidError, ValueError):
        return uid


def format_of_uid(uid):
    """The format a badge enrolled from a tap is shown in: em4100 for a 5-byte UID, else hex."""
    return "em4100" if len(uid) == 10 and uid.startswith("00") else DEFAULT
