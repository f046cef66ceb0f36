"""Helpers shared by the configurator's tests: JSON and raw POSTs with the CSRF token, and waiting
for the gateway to come back after the configurator's Restart."""

from __future__ import annotations

import json
import time

from modbus_peers import fxgate_log
from test_configurator import Browser


def post_json(b: Browser, path: str, body: dict, csrf: str | None):
    """POST `body` as JSON with the token (none: without it): (status, answer)."""
    h = {"Content-Type": "application/json"}
    if csrf is not None:
        h["x-csrf-token"] = csrf
    status, _, data = b.request("POST", path, json.dumps(body).encode(), h)
    return status, json.loads(data)


def logged_in_after_restart(gw, user: str, password: str, timeout: float = 60) -> Browser:
    """A new session once the restarted gateway lets `user` log in again."""
    deadline = time.monotonic() + timeout
    while True:
        time.sleep(0.5)
        try:
            b = Browser(gw.http_port)
            if b.login(user, password)[0] == 303:
                return b
        except OSError:
            pass
        assert time.monotonic() < deadline, fxgate_log(gw)[-3000:]
