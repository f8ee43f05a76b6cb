"""`make demo`: the whole system on this machine with simulated hardware.

Starts the admin site, a check-in kiosk and an intake station (screen, reader, sync
each), a simulated NFC link per kiosk, a simulated scale and blood-pressure monitor.
Type a number and Enter to tap that demo badge at the check-in kiosk. Ctrl-C stops all.
"""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent
VAR = ROOT / "var" / "demo"
BIN = Path(sys.executable).parent
ADMIN_PORT, CHECKIN_PORT, STATION_PORT = 8000, 8080, 8081
CHECKIN_NFC, STATION_NFC = "udp:127.0.0.1:54321", "udp:127.0.0.1:54322"
PASSWORD = "demo-wachtwoord"


class Demo:
    """The processes of the demo, stopped together."""

    def __init__(self):
        self.procs = []
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", "ADMIN_DB": str(VAR / "admin.sqlite"),
                    "SECRET_KEY": "demo-only-secret"}

    def run(self, *args, input=None):
        """Run a command to completion; returns its stdout."""
        done = subprocess.run(args, cwd=ROOT, env=self.env, input=input, capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f"failed: {' '.join(map(str, args))}\n{done.stderr}")
        return done.stdout

    def start(self, name, args, env=None):
        """Start a long-running process, logging to var/demo/<name>.log."""
        log = open(VAR / f"{name}.log", "ab")
        proc = subprocess.Popen(args, cwd=ROOT, env={**self.env, **(env or {})}, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append((name, proc))
        return proc

    def stop(self):
        """Stop every process the demo started."""
        for _name, proc in reversed(self.procs):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for _name, proc in self.procs:
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


def kiosk_tokens(demo):
    """Register the two demo kiosks once; their tokens are kept in var/demo/kiosks.json."""
    path = VAR / "kiosks.json"
    if path.exists():
        return json.loads(path.read_text())
    tokens = {}
    for name, role in (("balie", "checkin"), ("intake", "station")):
        tokens[name] = demo.run(BIN / "flask", "--app", "admin", "add-kiosk", name, "--location", "Rotterdam-Zuid",
                                "--role", role).strip().splitlines()[-1]
    path.write_text(json.dumps(tokens))
    path.chmod(0o600)
    return tokens


def wait_http(url, timeout=20):
    """Until a URL answers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=1).status_code < 500:
                return True
        except requests.RequestException:
            time.sleep(0.2)
    return False


def start_simulator(demo, driver, link):
    """A simulated instrument on a pseudo-terminal, reachable at `link`."""
    demo.start(f"sim-{driver}", [sys.executable, "-m", "devices", "simulate", driver, "--interval", "20",
                                 "--link", str(link)])


def _interrupt(*_):
    raise KeyboardInterrupt


def main():
    """Set up, start everything, then take demo taps from the keyboard."""
    signal.signal(signal.SIGTERM, _interrupt)  # stopped by a service manager: clean up too
    VAR.mkdir(parents=True, exist_ok=True)
    demo = Demo()
    flask = [BIN / "flask", "--app", "admin"]
    demo.run(*flask, "init-db")
    print(demo.run(*flask, "seed-demo", "--password", PASSWORD), end="")
    tokens = kiosk_tokens(demo)
    from admin.demo import PEOPLE, PHYSIO_BADGE, demo_badge

    try:
        demo.start("admin", [BIN / "gunicorn", "--bind", f"127.0.0.1:{ADMIN_PORT}", "--workers", "2",
                             "--threads", "4", "--keep-alive", "5", "admin:create_app()"])
        start_simulator(demo, "tanita", VAR / "scale")
        start_simulator(demo, "omron-hbp9030", VAR / "bp")
        kiosks = (("checkin", CHECKIN_PORT, CHECKIN_NFC, tokens["balie"], {}),
                  ("station", STATION_PORT, STATION_NFC, tokens["intake"],
                   {"KIOSK_SCALE": f"tanita {VAR / 'scale'}", "KIOSK_BP": f"omron-hbp9030 {VAR / 'bp'}",
                    # A blood-pressure series you can watch: 20 s rest, readings 10 s apart (the field: 300 s, 60 s).
                    "KIOSK_BP_REST_S": "20", "KIOSK_BP_INTERVAL_S": "10"}))
        for role, port, nfc, token, extra in kiosks:
            env = {"KIOSK_DB": str(VAR / f"kiosk-{role}.sqlite"), "KIOSK_ROLE": role, "KIOSK_NFC": nfc,
                   "KIOSK_ADMIN_URL": f"http://127.0.0.1:{ADMIN_PORT}", "KIOSK_TOKEN": token, **extra}
            demo.start(f"{role}-screen", [BIN / "gunicorn", "--bind", f"127.0.0.1:{port}", "--worker-class",
                                          "gthread", "--threads", "8", "kiosk:create_app()"], env)
            demo.start(f"{role}-reader", [BIN / "flask", "--app", "kiosk", "reader"], env)
            demo.start(f"{role}-sync", [BIN / "flask", "--app", "kiosk", "sync"], env)
        ok = all(wait_http(f"http://127.0.0.1:{p}/") for p in (ADMIN_PORT, CHECKIN_PORT, STATION_PORT))
        print(f"""
fitwerk demo {'is running' if ok else 'started (some parts are slow to answer; see var/demo/*.log)'}:
  admin site        http://127.0.0.1:{ADMIN_PORT}/   (coach@fitwerk.test / {PASSWORD}; beheer@, fysio@, coordinator@ too)
  check-in kiosk    http://127.0.0.1:{CHECKIN_PORT}/
  intake station    http://127.0.0.1:{STATION_PORT}/
Demo badges at the check-in kiosk: type a number and Enter
  """ + "  ".join(f"{i + 1}={name}" for i, name in enumerate(PEOPLE)) + f"""
  u = an unknown badge, p = the physio's badge at the intake station (then PIN 2468 on its screen)
  From another terminal: .venv/bin/python -m devices card {CHECKIN_NFC} --uid {demo_badge(0)}
Logs in var/demo/. Ctrl-C stops everything.""")
        from devices.card import CardProcess
        cards = {CHECKIN_NFC: CardProcess(CHECKIN_NFC), STATION_NFC: CardProcess(STATION_NFC)}
        for line in sys.stdin:
            choice = line.strip().lower()
            if choice.isdigit() and 1 <= int(choice) <= len(PEOPLE):
                link, uid = CHECKIN_NFC, demo_badge(int(choice) - 1)
            elif choice == "u":
                link, uid = CHECKIN_NFC, "0A0B0C0D0E0F0102"
            elif choice == "p":
                link, uid = STATION_NFC, PHYSIO_BADGE
            else:
                print("a number 1-16, u or p")
                continue
            cards[link].tap(uid)
            print("tapped")
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        print("\nstopping the demo …")
        demo.stop()


if __name__ == "__main__":
    main()
