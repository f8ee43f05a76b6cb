"""The smaller holes: a SECRET_KEY is required, a proxy set-up that listens beyond loopback is
warned about, a stranger cannot lock a staff member out of their own browser, sessions end
after 12 hours however busy, and the nginx example adds no second or weaker header."""
import os
import re
import sqlite3
import subprocess
from datetime import datetime, timedelta, timezone

import pytest
import requests

from tests.support.live import BIN, PASSWORD, ROOT, free_port, wait_for
from tests.support.site import Site, ram_dir

NGINX = ROOT / "systemd" / "nginx-fitwerk-admin.conf"


def test_the_admin_refuses_to_start_without_a_secret_key(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    env["ADMIN_DB"] = str(tmp_path / "admin.sqlite")
    result = subprocess.run([str(BIN / "flask"), "--app", "admin", "init-db"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr and "token_hex" in result.stderr
    from admin import create_app
    with pytest.raises(RuntimeError, match="SECRET_KEY is not set"):
        create_app({"ADMIN_DB": str(tmp_path / "admin.sqlite"), "SECRET_KEY": ""})


@pytest.mark.parametrize("bind, warned", [("0.0.0.0", True), ("127.0.0.1", False)])
def test_behind_a_proxy_gunicorn_listening_beyond_loopback_is_warned_about(procs, tmp_path, bind, warned):
    port = free_port()
    env = {"ADMIN_DB": str(tmp_path / "admin.sqlite"), "SECRET_KEY": "x" * 32, "ADMIN_BEHIND_PROXY": "1"}
    procs.start("admin", [str(BIN / "gunicorn"), "--bind", f"{bind}:{port}", "--workers", "1",
                          "admin:create_app()"], env)

    def up():
        try:
            return requests.get(f"http://127.0.0.1:{port}/api/v1/openapi.json", timeout=1).ok
        except requests.RequestException:
            return False
    wait_for(up, 20, message="admin up")
    log = procs.log("admin")
    assert ("listening on 0.0.0.0:" in log and "beyond loopback" in log) is warned, log[-2000:]


@pytest.fixture
def site():
    with ram_dir() as path:
        s = Site(path)
        s.staff("coach@example.test", "lifecoach")
        yield s


def _login(client, password, address="203.0.113.9"):
    return client.post("/login", data={"email": "coach@example.test", "password": password},
                       environ_base={"REMOTE_ADDR": address})


def test_a_stranger_cannot_lock_a_staff_member_out_of_their_own_browser(site):
    own = site.app.test_client()
    assert _login(own, PASSWORD, "198.51.100.7").status_code == 302  # the coach's browser, known from now on
    assert own.get_cookie("fitwerk_device") is not None
    own.post("/logout")
    stranger = site.app.test_client()
    codes = [_login(stranger, "guess-%d" % i).status_code for i in range(7)]
    assert codes[:5] == [401] * 5 and codes[5:] == [429, 429]
    # Any other unknown browser waits too (a guesser on a new address gets nowhere) ...
    assert _login(site.app.test_client(), PASSWORD, "192.0.2.50").status_code == 429
    # ... but the coach's own browser, even from the stranger's address, logs in.
    assert _login(own, PASSWORD, "203.0.113.9").status_code == 302


def test_a_known_browser_counts_its_own_failures(site):
    own = site.app.test_client()
    assert _login(own, PASSWORD).status_code == 302
    own.post("/logout")
    codes = [_login(own, "typo-%d" % i).status_code for i in range(6)]
    assert codes[:5] == [401] * 5 and codes[5] == 429
    assert _login(own, PASSWORD).status_code == 429


def test_a_device_cookie_for_another_account_or_forged_counts_for_nothing(site):
    site.staff("other@example.test", "lifecoach")
    browser = site.app.test_client()
    assert browser.post("/login", data={"email": "other@example.test", "password": PASSWORD}).status_code == 302
    browser.post("/logout")
    for _ in range(5):
        _login(site.app.test_client(), "guess")
    assert _login(browser, PASSWORD).status_code == 429  # known for other@, not for coach@
    browser.set_cookie("fitwerk_device", "forged.value.here")
    assert _login(browser, PASSWORD).status_code == 429


@pytest.mark.parametrize("age, alive", [(timedelta(hours=11, minutes=50), True), (timedelta(hours=12, minutes=5), False)])
def test_a_session_ends_twelve_hours_after_login_however_busy(site, age, alive):
    client = site.login("coach@example.test")
    started = (datetime.now(timezone.utc) - age).isoformat(timespec="milliseconds")
    site.sql("UPDATE login_sessions SET created_at = ?", started)  # seen a moment ago: never idle
    response = client.get("/account")
    assert (response.status_code == 200) is alive
    if not alive:
        assert response.headers["Location"].endswith("/login")
        assert site.sql("SELECT * FROM login_sessions") == []


def test_the_nginx_example_adds_no_second_or_weaker_security_header():
    text = NGINX.read_text()
    headers = re.findall(r"^\s*add_header\s+(\S+)", text, re.M)
    assert headers == ["Strict-Transport-Security"]
    # The app sends the strict ones itself, once.
    with ram_dir() as path:
        client = Site(path).app.test_client()
        r = client.get("/login")
        assert r.headers.get_all("X-Frame-Options") == ["DENY"]
        assert r.headers.get_all("Referrer-Policy") == ["no-referrer"]



def test_on_the_live_admin_a_lifecoach_gets_403_for_another_coachs_participant(live_admin):
    tokens = {}
    for email in ("coach1@example.test", "coach2@example.test"):
        live_admin.flask("create-user", email, "--role", "lifecoach", "--password-stdin", input=PASSWORD + "\n")
        tokens[email] = live_admin.flask("create-token", email).strip().splitlines()[-1]
    ids = {r[1]: r[0] for r in sqlite3.connect(live_admin.db).execute("SELECT id, email FROM staff")}
    r = requests.post(f"{live_admin.url}/api/v1/participants", json={
        "first_name": "Mohamed", "last_name": "Bouzid", "group_id": live_admin.group_id,
        "lifecoach_id": ids["coach2@example.test"]}, headers={"Authorization": f"Bearer {live_admin.token}"})
    other = r.json()["id"]

    def held():
        conn = sqlite3.connect(live_admin.db)
        try:
            return [list(conn.execute(f"SELECT * FROM {t} ORDER BY 1")) for t in ("participants", "excuses", "audit_log")]
        finally:
            conn.close()
    before = held()
    mine = {"Authorization": f"Bearer {tokens['coach1@example.test']}"}
    r = requests.get(f"{live_admin.url}/api/v1/participants/{other}", headers=mine, timeout=10)
    assert r.status_code == 403 and r.json() == {"error": "a LifeCoach sees only their own participants"}
    r = requests.post(f"{live_admin.url}/api/v1/participants/{other}/excuses", headers=mine, timeout=10,
                      json={"date": "2099-01-05", "reason": "ziek"})
    assert r.status_code == 403 and "own participants" in r.json()["error"]
    assert held() == before
    theirs = {"Authorization": f"Bearer {tokens['coach2@example.test']}"}
    r = requests.get(f"{live_admin.url}/api/v1/participants/{other}", headers=theirs, timeout=10)
    assert r.status_code == 200 and r.json()["last_name"] == "Bouzid"
