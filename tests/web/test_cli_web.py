"""``leiosurv users create-admin`` (the first admin) and ``leiosurv serve --demo`` (the README's main command)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest


def test_create_admin_from_the_cli(tmp_path, monkeypatch, capsys):
    from leiosurv.interfaces.cli import main
    from leiosurv.interfaces.web import verify_password
    from leiosurv.registry import Registry

    db = str(tmp_path / "r.sqlite")
    monkeypatch.setenv("LEIOSURV_NEW_PASSWORD", "a-long-password")
    assert main(["users", "--db", db, "create-admin", "root"]) == 0
    assert "User root (admin) created." in capsys.readouterr().out
    reg = Registry(db)
    u = reg.get_user("root")
    assert u.role == "admin" and u.password_hash.startswith("$argon2id$")
    assert verify_password(u.password_hash, "a-long-password") and not verify_password(u.password_hash, "wrong")
    assert [e.action for e in reg.audit_events()] == ["admin"]
    assert main(["users", "--db", db, "create-admin", "root"]) == 2  # exists: one line, no traceback
    assert "already exists" in capsys.readouterr().err
    monkeypatch.setenv("LEIOSURV_NEW_PASSWORD", "short")
    assert main(["users", "--db", db, "add", "bob", "--role", "clinician"]) == 2
    assert "password: at least 8 characters" in capsys.readouterr().err


@pytest.mark.slow
def test_serve_demo_starts_and_prints_the_address_and_a_login(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "LEIOSURV_SECRET_KEY": "k" * 40}
    exe = Path(sys.executable).parent / "leiosurv"  # the installed script, as scripts/demo runs it
    proc = subprocess.Popen([str(exe), "serve", "--demo", "--db",
                             str(tmp_path / "demo.sqlite"), "--port", str(port)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env)
    try:
        lines = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            lines.append(line)
            if "Demo logins" in line or not line:
                break
        text = "".join(lines)
        assert f"http://127.0.0.1:{port}/" in text and "demo-clinician" in text and "demo-password" in text, text
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                    assert r.read() == b'{"status":"ok"}'
                    break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail("the server did not answer /health")
    finally:
        proc.terminate()
        proc.wait(20)


def test_users_verify_audit_and_reset_password(tmp_path, monkeypatch, capsys):
    """``verify-audit`` says the chain is intact with the count and head, and names the broken row
    (exit 1) once a row was rewritten behind the triggers; ``reset-password`` ends the user's sessions."""
    from leiosurv.interfaces.cli import main
    from leiosurv.interfaces.web import verify_password
    from leiosurv.registry import Registry

    db = str(tmp_path / "r.sqlite")
    monkeypatch.setenv("LEIOSURV_NEW_PASSWORD", "a-long-password")
    assert main(["users", "--db", db, "create-admin", "root"]) == 0
    reg = Registry(db)
    reg.audit(username="root", role="admin", action="read", resource="x")
    capsys.readouterr()
    assert main(["users", "--db", db, "verify-audit"]) == 0
    out = capsys.readouterr().out
    assert f"Audit trail intact: 2 rows, newest hash {reg.verify_audit().head}" in out
    monkeypatch.setenv("LEIOSURV_NEW_PASSWORD", "another-password")
    assert main(["users", "--db", db, "reset-password", "root"]) == 0
    u = reg.get_user("root")
    assert verify_password(u.password_hash, "another-password") and u.session_epoch == 1
    assert main(["users", "--db", db, "reset-password", "ghost"]) == 2
    assert "user 'ghost': does not exist" in capsys.readouterr().err
    with reg.engine.begin() as c:
        c.exec_driver_sql("DROP TRIGGER trg_audit_event_no_update")
        c.exec_driver_sql("UPDATE audit_event SET resource = 'nothing to see' WHERE id = 2")
    assert main(["users", "--db", db, "verify-audit"]) == 1
    err = capsys.readouterr().err
    assert "row 2: its content does not give its hash" in err and "audit trail: 1 problem(s) in 3 rows" in err
