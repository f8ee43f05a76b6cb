"""The kiosk's clocks. A Pi has no RTC: wall time may be months off until NTP syncs,
so every record also carries the boot id and the boot-time clock, which never jump."""
import ctypes
import ctypes.util
import functools
import os
import time
from datetime import datetime, timezone
from pathlib import Path

TIME_ERROR = 5  # adjtimex(): the kernel's clock is not synchronised


def _offset():
    # Injectable skew for tests and demos of a lying clock (seconds, may be negative).
    return float(os.environ.get("FITWERK_CLOCK_SKEW_S", "0") or 0)


def wall_epoch():
    """The kiosk's wall clock, as the kiosk believes it (seconds since the epoch)."""
    # A clock standing still at one instant, for tests of an exact boundary (start + grace).
    frozen = os.environ.get("FITWERK_CLOCK_FROZEN_AT")
    if frozen:
        return parse_iso(frozen).timestamp()
    return time.time() + _offset()


def boot_s():
    """Seconds since boot (CLOCK_BOOTTIME): monotonic, counts suspend, never set."""
    return time.clock_gettime(time.CLOCK_BOOTTIME)


def boot_id():
    """This boot's random id from the kernel."""
    override = os.environ.get("FITWERK_BOOT_ID")
    if override:
        return override
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return "unknown-boot"


class _Timex(ctypes.Structure):
    # struct timex is ~208 bytes on 64-bit Linux; only `modes` (first int) matters
    # for a read-only call, the rest is padding the kernel fills.
    _fields_ = [("modes", ctypes.c_uint), ("_rest", ctypes.c_byte * 256)]


def clock_synced():
    """Whether the kernel says the wall clock is NTP-synchronised."""
    override = os.environ.get("FITWERK_CLOCK_SYNCED")
    if override in ("0", "1"):
        return override == "1"
    if _offset():
        return False
    adjtimex = _adjtimex()
    if adjtimex is None:
        return False
    return adjtimex(ctypes.byref(_Timex())) not in (-1, TIME_ERROR)


@functools.lru_cache(maxsize=1)
def _adjtimex():
    # Looking libc up costs milliseconds; a tap asks twice, so do it once per process.
    try:
        return ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True).adjtimex
    except (OSError, AttributeError):
        return None


def iso(epoch):
    """UTC ISO-8601 text with milliseconds for an epoch timestamp."""
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat(timespec="milliseconds")


def stamp(moment):
    """UTC ISO-8601 text with milliseconds for an aware datetime: how times are stored."""
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds")


def parse_iso(text):
    """Aware UTC datetime from ISO-8601 text (naive text is taken as UTC)."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def utc_now():
    """The true-ish current time on this machine, aware UTC (servers trust their clock)."""
    return datetime.now(timezone.utc)
