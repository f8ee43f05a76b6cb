"""Tell systemd how a service is doing (the sd_notify protocol), without libsystemd.

The reader runs as `Type=notify` with `WatchdogSec=`: it says READY=1 once its
read loop runs and WATCHDOG=1 while the loop keeps turning, so a loop stuck in
a driver gets the process killed and restarted. Outside systemd (tests,
`make demo`) NOTIFY_SOCKET is unset and every call is a harmless no-op.
"""
import os
import socket
import time


def notify(state: str) -> bool:
    """Send one notification datagram to $NOTIFY_SOCKET; False when there is none or it failed."""
    address = os.environ.get("NOTIFY_SOCKET", "")
    if address.startswith("@"):
        # Abstract namespace: systemd writes '@', the kernel wants a NUL byte.
        address = "\0" + address[1:]
    elif not address.startswith("/"):
        # Unset, or a transport we do not speak (vsock: since systemd 253).
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(state.encode("utf-8"))
    except OSError:
        # Never let monitoring take the service down; systemd notices silence itself.
        return False
    return True


def watchdog_interval() -> float | None:
    """Seconds within which systemd expects WATCHDOG=1 from this process, or None when not watched."""
    try:
        usec = int(os.environ.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    pid = os.environ.get("WATCHDOG_PID")
    # The variables are inherited by children; only the process systemd named is watched.
    if usec <= 0 or (pid and pid != str(os.getpid())):
        return None
    return usec / 1_000_000


def _one_line(text: str) -> str:
    # A newline would start a new assignment in the datagram (e.g. a forged READY=1).
    return " ".join(str(text).split())


class Watchdog:
    """The reader loop's line to systemd: ready() once, ping() from each healthy round, status() for people."""

    def __init__(self, clock=time.monotonic):
        self.interval = watchdog_interval()
        self._clock = clock
        self._last_ping = None

    @property
    def enabled(self) -> bool:
        """True when systemd watches this process and expects pings."""
        return self.interval is not None

    def ready(self, status: str | None = None) -> bool:
        """Report start-up done (READY=1), with an optional status line; also the first ping."""
        state = "READY=1"
        if status:
            state += "\nSTATUS=" + _one_line(status)
        sent = notify(state)
        if sent:
            self._last_ping = self._clock()
        return sent

    def ping(self) -> bool:
        """Call once per round of a loop that is making progress; True when a WATCHDOG=1 went out.

        A ping means "the loop turns", not "the reader is plugged in": a loop
        that waits for a missing reader and retries is healthy. Never call it
        from a timer thread, which would keep pinging while the loop hangs.
        Pings are spaced to a quarter of the interval so a fast loop does not
        flood systemd, which still leaves three chances before the deadline.
        """
        if self.interval is None:
            return False
        now = self._clock()
        if self._last_ping is not None and now - self._last_ping < self.interval / 4:
            return False
        sent = notify("WATCHDOG=1")
        if sent:
            self._last_ping = now
        return sent

    def status(self, text: str) -> bool:
        """Show a one-line status in `systemctl status` (e.g. 'reader missing: no such device')."""
        return notify("STATUS=" + _one_line(text))

    def stopping(self) -> bool:
        """Say a clean shutdown has begun, so a slow stop is not taken for a hang."""
        return notify("STOPPING=1")
