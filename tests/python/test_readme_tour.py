"""The README's quick tour, as a newcomer meets it (issue 17): the commands of its write section
are taken from README.md as printed (only `cargo run --release -p fxgate --` becomes the binary
under test) and run in an empty directory: the embedded default written to a file, a user added
with `fxgate users add`, the gateway run on that file on the printed ports (48050, 8480), and the
printed curl write answered Good; the value is then read back through the DA item API."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import time
import urllib.request
from pathlib import Path

from fxgate_testlib import REPO_ROOT, fxgate_bin, wait_port_bindable

CARGO = "cargo run --release -p fxgate --"


def blocks() -> list[str]:
    text = (REPO_ROOT / "README.md").read_text()
    return re.findall(r"```sh\n(.*?)```", text, re.S)


def block_with(needle: str) -> str:
    found = [b for b in blocks() if needle in b]
    assert len(found) == 1, f"the README has {len(found)} blocks with {needle!r}"
    return found[0]


def test_the_tour_write_works_as_printed(tmp_path: Path):
    setup = block_with("users add operator").strip().splitlines()
    assert len(setup) == 3 and setup[2].startswith(f"{CARGO} run --config"), setup
    exe = shlex.quote(fxgate_bin())
    for line in setup[:2]:
        r = subprocess.run(line.replace(CARGO, exe), shell=True, cwd=tmp_path, capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, (line, r.stdout, r.stderr)
    assert "$argon2id$" in (tmp_path / "fxgate.toml").read_text() and "change-me" not in (tmp_path / "fxgate.toml").read_text()

    run = shlex.split(setup[2].replace(CARGO, ""))
    wait_port_bindable(48050)
    wait_port_bindable(8480)
    log = open(tmp_path / "fxgate.log", "w")
    proc = subprocess.Popen([fxgate_bin(), *run], cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while "fxgate ready" not in (tmp_path / "fxgate.log").read_text():
            assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "fxgate.log").read_text()
            time.sleep(0.2)
        write = block_with("curl -u operator:change-me").replace("\\\n", " ")
        r = subprocess.run(write, shell=True, cwd=tmp_path, capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, (r.stdout, r.stderr)
        answer = json.loads(r.stdout)
        assert [x["error"] for x in answer["results"]] == ["S_OK"], answer
        req = urllib.request.Request("http://localhost:8480/da/read", data=json.dumps({"items": ["ns-2;s-Demo/Setpoint"]}).encode(),
                                     headers={"content-type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            read = json.loads(resp.read())
        assert (read["results"][0]["value"], read["results"][0]["error"]) == (42.5, "S_OK"), read
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


def test_users_add_remove_list_refuse_bad_input(tmp_path: Path):
    exe = fxgate_bin()

    def cli(*args: str, stdin: str = ""):
        return subprocess.run([exe, *args], cwd=tmp_path, input=stdin, capture_output=True, text=True, timeout=60)

    missing = cli("users", "add", "ops", "--config", "nope.toml", stdin="pw\n")
    assert missing.returncode == 2 and "fxgate default-config > nope.toml" in missing.stderr, missing.stderr
    (tmp_path / "f.toml").write_text(cli("default-config").stdout)
    original = (tmp_path / "f.toml").read_text()
    bad_role = cli("users", "add", "ops", "--roles", "read,reed", "--config", "f.toml", stdin="pw\n")
    assert bad_role.returncode == 2 and "unknown role `reed`" in bad_role.stderr
    empty = cli("users", "add", "ops", "--config", "f.toml", stdin="\n")
    assert empty.returncode == 2 and "empty password" in empty.stderr
    assert (tmp_path / "f.toml").read_text() == original, "a refused add writes nothing"
    assert cli("users", "add", "ops", "--roles", "read,configure", "--config", "f.toml", stdin="pw 1\n").returncode == 0
    twice = cli("users", "add", "OPS", "--config", "f.toml", stdin="pw\n")
    assert twice.returncode == 2 and "already" in twice.stderr
    listed = cli("users", "list", "--config", "f.toml")
    assert listed.stdout == "ops\t[read, configure]\tpassword\n" and "argon2" not in listed.stdout, listed
    assert (tmp_path / "f.toml.bak").read_text() == original
    assert cli("users", "remove", "ops", "--config", "f.toml").returncode == 0
    assert cli("users", "list", "--config", "f.toml").stdout == ""
    gone = cli("users", "remove", "ops", "--config", "f.toml")
    assert gone.returncode == 2 and "no user `ops`" in gone.stderr
