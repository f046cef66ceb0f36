"""Interoperability with node-opcua (a second, independent OPC UA stack): a plain secure client,
reverse connect, and registration with a node-opcua Local Discovery Server.
Scripts live in tests/node; each prints one JSON result line on stdout."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import threading
import time

from asyncua import Client, ua

from fxgate_testlib import NODE_DIR, free_port, node_bin


class NodeProc:
    def __init__(self, script: str, *args: str):
        self.cmd = [node_bin(), str(NODE_DIR / script), *args]
        env = dict(os.environ, NO_COLOR="1", FORCE_COLOR="0")
        self.proc = subprocess.Popen(
            self.cmd,
            cwd=str(NODE_DIR),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        self.out: list[str] = []
        self.err: list[str] = []
        self._threads = [
            threading.Thread(target=self._pump, args=(self.proc.stdout, self.out), daemon=True),
            threading.Thread(target=self._pump, args=(self.proc.stderr, self.err), daemon=True),
        ]
        for t in self._threads:
            t.start()

    @staticmethod
    def _pump(stream, sink):
        for raw in iter(stream.readline, b""):
            sink.append(raw.decode("utf-8", "replace"))
        stream.close()

    def wait_marker(self, marker: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.err):
                if marker in line:
                    return line
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(f"{self.cmd[1]} never printed {marker!r}:\n{self.dump()}")

    def result(self, timeout: float) -> dict:
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            raise AssertionError(f"{self.cmd[1]} did not finish in {timeout} s:\n{self.dump()}") from None
        for t in self._threads:
            t.join(timeout=5)
        for line in reversed(self.out):
            line = line.strip()
            if line.startswith("{"):
                return json.loads(line)
        raise AssertionError(f"{self.cmd[1]} printed no JSON result:\n{self.dump()}")

    def events(self) -> list[dict]:
        return [json.loads(line) for line in list(self.out) if line.strip().startswith("{")]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        for t in self._threads:
            t.join(timeout=5)

    def dump(self) -> str:
        return (
            f"$ {' '.join(self.cmd)}\nrc={self.proc.poll()}\n--- stdout ---\n{''.join(self.out)}"
            f"--- stderr ---\n{''.join(self.err)[-8000:]}"
        )


def test_node_opcua_client_reads_and_subscribes(shared_gateway, tmp_path):
    node = NodeProc("client.js", "--url", shared_gateway.url, "--pki", str(tmp_path / "pki"))
    res = node.result(timeout=100)
    assert res.get("ok"), node.dump()
    assert res["securityMode"] == "SignAndEncrypt"
    assert res["securityPolicy"].endswith("#Basic256Sha256")
    reads = res["reads"]
    for r in reads:
        assert r["status"] == "Good" and r["dataType"] == "Double", r
    # client.js reads a third time only when the first two (1.6 s apart) were equal
    assert reads[0]["value"] != reads[1]["value"] or reads[1]["value"] != reads[2]["value"], (
        f"Demo/Sine did not change between node-opcua reads 1.6 s apart: {reads}"
    )
    changes = res["changes"]
    assert len(changes) >= 4 and len(set(changes)) >= 3, changes


def test_reverse_connect_to_node_opcua_client(gateway_factory, tmp_path):
    listen_port = free_port()
    gw = gateway_factory.create({"server": {"reverse_connect": [f"opc.tcp://127.0.0.1:{listen_port}"]}})
    node = NodeProc(
        "reverse.js",
        "--port", str(listen_port),
        "--server-cert", str(gw.data_dir / "pki" / "own" / "cert.der"),
        "--pki", str(tmp_path / "pki"),
    )
    try:
        node.wait_marker("LISTENING", timeout=30)
        gw.start()
        res = node.result(timeout=85)
    finally:
        node.stop()
    assert res.get("ok"), f"{node.dump()}\n--- fxgate stderr ---\n{gw.stderr_text}"
    assert res["reads"]["Counter"]["status"] == "Good" and res["reads"]["Counter"]["dataType"] == "UInt32"
    assert res["reads"]["Sine"]["dataType"] == "Double"
    # the ReverseHello advertised fxgate's endpoint
    assert res["endpointUrl"].rstrip("/").endswith(f":{gw.port}"), res["endpointUrl"]


def test_registers_with_node_opcua_lds(gateway_factory, tmp_path):
    lds_port = free_port()
    lds = NodeProc("lds.js", "--port", str(lds_port), "--pki", str(tmp_path / "lds-pki"))
    lds_url = f"opc.tcp://127.0.0.1:{lds_port}"
    expected_uri = f"urn:{socket.gethostname()}:fxgate"
    try:
        lds.wait_marker("READY", timeout=60)
        gw = gateway_factory.start({"server": {"register_with_lds": lds_url + "/", "register_interval_s": 5}})

        async def find():
            return await Client(lds_url, timeout=10).connect_and_find_servers()

        found = None
        servers = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            servers = asyncio.run(find())
            found = next((s for s in servers if s.ApplicationUri == expected_uri), None)
            if found:
                break
            time.sleep(1)
        assert found is not None, (
            f"FindServers on the LDS does not list {expected_uri} after 30 s; it lists "
            f"{[s.ApplicationUri for s in servers]}\nLDS events: {lds.events()}\n{lds.dump()}"
            f"\n--- fxgate stderr ---\n{gw.stderr_text}"
        )
        assert found.ApplicationType == ua.ApplicationType.Server
        assert any(u.rstrip("/").endswith(f":{gw.port}") for u in found.DiscoveryUrls), found.DiscoveryUrls
        assert any(e["event"] == "register" and e["serverUri"] == expected_uri for e in lds.events())
    finally:
        lds.stop()


def test_node_opcua_decodes_and_builds_fx_structures(gateway_factory, tmp_path):
    """node-opcua as a generic client of the embedded default's FX model (its [fx] section):
    FxVersion and AggregatedHealthDataType decoded from the server's DataTypeDefinitions, a
    NodeIdValuePair built from them for Verify, VerifyAsset with KeyValuePairs."""
    import tomllib
    from pathlib import Path

    default = Path(__file__).resolve().parents[2] / "crates" / "fxgate" / "src" / "default.toml"
    fx = tomllib.loads(default.read_text())["fx"]
    gw = gateway_factory.start({"server": {"anonymous_roles": ["read", "write"]}, "fx": fx})
    node = NodeProc("fx_client.js", "--url", gw.url, "--pki", str(tmp_path / "pki"))
    try:
        r = node.result(90)
    finally:
        node.stop()
    assert r["ok"], node.dump()
    assert r["version"] == {"major": 1, "minor": 0, "build": 0, "subBuild": 0}, r
    assert r["versionType"] != "OpaqueStructure", r
    assert r["health"] is not None and r["health"]["operational"] == 0, r
    assert r["verify"]["status"] == "Good" and r["verify"]["result"][0] == 1, r
    assert r["verifyAsset"] == {"status": "Good", "result": 1}, r
