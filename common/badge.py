"""A badge's UID, one rule for every place one is read, typed or received: the reader,
the emulated card, the admin's enrolment and the sync protocol. No Flask, no nfcpy."""
import re

SEPARATORS = re.compile(r"[\s:\-]")
HEX = re.compile(r"[0-9A-F]*")
MIN_BYTES, MAX_BYTES = 4, 10  # NFC-A 4/7/10, NFC-B and Topaz 4, a FeliCa IDm 8
PHONE_IDM = "01FE"  # an 8-byte IDm starting 01FE is a phone's (NFC-DEP), new on every poll


class BadgeUidError(ValueError):
    """Text that is no badge UID; the message says why."""


def normalise_uid(text):
    """Upper-case hex of 4-10 whole bytes, without spaces, colons or dashes; BadgeUidError
    for anything else, and for a phone's random FeliCa ID, which identifies nobody."""
    if not isinstance(text, str):
        raise BadgeUidError("badge uid must be a string")
    uid = SEPARATORS.sub("", text).upper()
    if not HEX.fullmatch(uid) or not 2 * MIN_BYTES <= len(uid) <= 2 * MAX_BYTES:
        raise BadgeUidError(f"badge uid must be {2 * MIN_BYTES}-{2 * MAX_BYTES} hex digits")
    if len(uid) % 2:
        raise BadgeUidError("badge uid must be whole bytes: an even number of hex digits")
    if len(uid) == 16 and uid.startswith(PHONE_IDM):
        raise BadgeUidError("a uid starting 01FE is a phone's random ID, not a badge")
    return uid
