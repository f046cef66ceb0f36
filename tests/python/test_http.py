"""The HTTP listener: /healthz and /metrics (Prometheus text format)."""

from __future__ import annotations

import asyncio
import re
import time
import urllib.error
import urllib.request

from fxgate_testlib import connect, safe_disconnect

SAMPLE_RE = re.compile(r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?P<labels>\{[^}]*\})?\s+(?P<value>\S+)")


def get(url: str, timeout: float = 5):
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return resp.status, resp.headers, resp.read().decode()


def samples(text: str) -> list[tuple[str, str, float]]:
    out = []
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        m = SAMPLE_RE.match(line)
        assert m, f"not a Prometheus sample line: {line!r}"
        out.append((m.group("name"), m.group("labels") or "", float(m.group("value"))))
    return out


def test_healthz(shared_gateway):
    status, _, _ = get(shared_gateway.http_base + "/healthz")
    assert status == 200


def test_unknown_path_is_404(shared_gateway):
    try:
        get(shared_gateway.http_base + "/definitely-not-here")
    except urllib.error.HTTPError as exc:
        assert exc.code == 404
    else:
        raise AssertionError("unknown path answered 2xx")


def test_metrics_sessions_and_tags(shared_gateway, client_cert):
    async def with_session():
        client = await connect(shared_gateway, client_cert)
        try:
            # gauges may be sampled periodically: give them up to 5 s to see the open session
            deadline = time.monotonic() + 5
            while True:
                status, headers, body = get(shared_gateway.http_base + "/metrics")
                open_sessions = [v for n, _, v in samples(body) if n.startswith("fxgate_") and "session" in n]
                if (open_sessions and max(open_sessions) >= 1) or time.monotonic() > deadline:
                    return status, headers, body
                await asyncio.sleep(0.5)
        finally:
            await safe_disconnect(client)

    status, headers, body = asyncio.run(with_session())
    assert status == 200
    assert headers.get("Content-Type", "").startswith(("text/plain", "application/openmetrics-text")), headers
    fx = [s for s in samples(body) if s[0].startswith("fxgate_")]
    assert fx, f"no fxgate_ metrics:\n{body}"
    session = [s for s in fx if "session" in s[0]]
    tags = [s for s in fx if "tag" in s[0]]
    assert session, f"no fxgate_*session* metric:\n{body}"
    assert tags, f"no fxgate_*tag* metric:\n{body}"
    # one session was open while scraping (checked for 5 s)
    assert max(v for _, _, v in session) >= 1, f"no session counted while one was open: {session}"
    # the Demo simulator has 6 tags
    assert max(v for _, _, v in tags) >= 6, tags
