"""`fxgate check-config FILE`: exit 0 + "FILE: ok" for valid files; exit 2 and
`error: FILE:LINE:COL: field `a.b`: message` on stderr for broken ones (docs/interfaces.md)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fxgate_testlib import REPO_ROOT, hash_password, run_cli

ERROR_RE = re.compile(r"^error: (?P<file>.+?):(?P<line>\d+):(?P<col>\d+): (?:field `(?P<field>[^`]+)`: )?(?P<msg>.+)$")

VALID = """\
[server]
application_name = "fxgate"
host = "127.0.0.1"
port = 48050
allow_none = false
anonymous = true
anonymous_roles = ["read"]

[[users]]
name = "operator"
password_hash = "@HASH@"
roles = ["read", "write"]

[http]
listen = "127.0.0.1:8480"

[log]
level = "info"

[[simulator]]
name = "Demo"
interval_ms = 1000
  [[simulator.tags]]
  name = "Sine"
  type = "Double"
  waveform = "sine"
  [[simulator.tags]]
  name = "Ramp"
  type = "Int32"
  waveform = "ramp"
"""


@pytest.fixture(scope="module")
def valid_text():
    return VALID.replace("@HASH@", hash_password("operator-pw"))


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    """1-based line number of the occurrence-th line containing needle."""
    seen = 0
    for i, line in enumerate(text.splitlines(), 1):
        if needle in line:
            seen += 1
            if seen == occurrence:
                return i
    raise ValueError(needle)


def replace_line(text: str, needle: str, new: str, occurrence: int = 1) -> str:
    lines = text.splitlines()
    n = line_of(text, needle, occurrence)
    lines[n - 1] = new
    return "\n".join(lines) + "\n"


def insert_after(text: str, needle: str, new: str) -> str:
    lines = text.splitlines()
    n = line_of(text, needle)
    lines.insert(n, new)
    return "\n".join(lines) + "\n"


def check(path: Path):
    res = run_cli("check-config", str(path))
    return res.returncode, res.stdout.decode(), res.stderr.decode()


def parse_error(stderr: str, path: Path):
    for line in stderr.splitlines():
        m = ERROR_RE.match(line.strip())
        if m and m.group("file") == str(path):
            return m
    raise AssertionError(f"no `error: {path}:LINE:COL: field `...`: ...` line on stderr:\n{stderr}")


def test_valid_config_passes(tmp_path, valid_text):
    f = tmp_path / "valid.toml"
    f.write_text(valid_text)
    rc, out, err = check(f)
    assert rc == 0, err
    assert f"{f}: ok" in out, out


def test_example_config_passes():
    example = REPO_ROOT / "config" / "fxgate.example.toml"
    assert example.is_file(), f"{example} is missing"
    rc, out, err = check(example)
    assert rc == 0, f"{example} fails check-config:\n{err}"
    assert f"{example}: ok" in out, out


# (id, transform(valid_text) -> (broken_text, expected_lines, field_check))
def _unknown_key(t):
    b = insert_after(t, "port = 48050", 'colour = "blue"')
    return b, {line_of(b, "colour")}, lambda f: f == "server.colour"


def _wrong_type(t):
    b = replace_line(t, "anonymous = true", 'anonymous = "yes"')
    return b, {line_of(b, "anonymous = ")}, lambda f: f == "server.anonymous"


def _port_range(t):
    b = replace_line(t, "port = 48050", "port = 70000")
    return b, {line_of(b, "port = 70000")}, lambda f: f == "server.port"


def _duplicate_tag(t):
    b = replace_line(t, 'name = "Ramp"', '  name = "Sine"')
    dup = line_of(b, 'name = "Sine"', 2)
    # the line of the second `name = "Sine"`, in the second tag entry
    return b, {dup}, lambda f: f == "simulator[0].tags[1].name"


def _bad_role(t):
    b = replace_line(t, 'roles = ["read", "write"]', 'roles = ["read", "admin"]')
    return b, {line_of(b, "admin")}, lambda f: f.startswith("users") and "roles" in f


def _bad_hash(t):
    b = replace_line(t, "password_hash =", 'password_hash = "secret"')
    return b, {line_of(b, "password_hash")}, lambda f: f.startswith("users") and f.endswith("password_hash")


def _bad_type_name(t):
    b = replace_line(t, 'type = "Int32"', '  type = "Int33"')
    return b, {line_of(b, "Int33")}, lambda f: "tags" in f and f.endswith("type")


def _bad_listen(t):
    b = replace_line(t, 'listen = "127.0.0.1:8480"', 'listen = "not an address"')
    return b, {line_of(b, "not an address")}, lambda f: f == "http.listen"


def _alias_without_namespace(t):
    b = t + '\n[[upstream]]\nname = "plc1"\nendpoint_url = "opc.tcp://127.0.0.1:4840"\nalias = "PLC1"\n'
    # the field is missing, so the error points at its table
    return b, {line_of(b, "[[upstream]]")}, lambda f: f == "upstream[0].alias_namespace"


def _queue_size(t):
    b = insert_after(t, "port = 48050", "max_queue_size = 0")
    return b, {line_of(b, "max_queue_size")}, lambda f: f == "server.max_queue_size"


def _notifications_per_publish(t):
    b = insert_after(t, "port = 48050", "max_notifications_per_publish = 20000")
    return b, {line_of(b, "max_notifications_per_publish")}, lambda f: f == "server.max_notifications_per_publish"


def _sampling(t):
    b = insert_after(t, "port = 48050", "min_sampling_interval_ms = -5.0")
    return b, {line_of(b, "min_sampling_interval_ms")}, lambda f: f == "server.min_sampling_interval_ms"


def _fsync(t):
    b = t + '\n[[websocket]]\nname = "cloud"\nurl = "ws://127.0.0.1:9/x"\ntags = ["Demo/*"]\nbuffer_fsync_ms = 120000\n'
    return b, {line_of(b, "buffer_fsync_ms")}, lambda f: f == "websocket[0].buffer_fsync_ms"


PUBSUB = (
    '\n[[pubsub]]\nname = "Cell1"\npublisher_id = 1001\n'
    '\n[[pubsub.writer_group]]\nname = "WG"\nwriter_group_id = 1\ndestination = "{dest}"\n'
    '\n[[pubsub.writer_group.writer]]\nname = "W"\ndata_set_writer_id = 1\ntags = ["Demo/Sine", "{tag}"]\n'
)


def _pubsub_tag(t):
    b = t + PUBSUB.format(dest="opc.udp://127.0.0.1:4841", tag="Demo/Nope")
    return b, {line_of(b, '"Demo/Nope"')}, lambda f: f == "pubsub[0].writer_group[0].writer[0].tags[1]"


def _pubsub_url(t):
    b = t + PUBSUB.format(dest="opc.tcp://127.0.0.1:4841", tag="Demo/Ramp")
    return b, {line_of(b, "destination = ")}, lambda f: f == "pubsub[0].writer_group[0].destination"


def _pubsub_port(t):
    conn = '\n[[pubsub]]\nname = "{n}"\nlisten = "opc.udp://{h}:4841"\n'
    b = t + conn.format(n="A", h="0.0.0.0") + conn.format(n="B", h="127.0.0.1")
    return b, {line_of(b, 'listen = "opc.udp://127.0.0.1:4841"')}, lambda f: f == "pubsub[1].listen"


FX_FLOW = (
    '\n[[fx.automation_component]]\nname = "Cell"\n'
    '\n[[fx.automation_component.functional_entity]]\nname = "Motion"\ninputs = ["Demo/Ramp"]\noutputs = ["Demo/Sine"]\n'
    '\n[[fx.connection_manager.set]]\nname = "S"\n'
    '\n[[fx.connection_manager.set.connection]]\nname = "L"\n'
    '[fx.connection_manager.set.connection.endpoint1]\nautomation_component = "Cell"\nfunctional_entity = "Motion"\n'
    'name = "E1"\ninputs = ["Demo/Ramp"]\noutputs = ["Demo/Sine"]\naddress = "opc.udp://127.0.0.1:4841"\n'
    '[fx.connection_manager.set.connection.endpoint2]\nautomation_component = "Cell"\nfunctional_entity = "Motion"\n'
    'name = "E2"\ninputs = ["Demo/Ramp"]\noutputs = ["Demo/Sine"]\naddress = "{address}"\n'
    '[fx.connection_manager.set.connection.pubsub]\npublishing_interval_ms = 10\n'
)


def _fx_flow_address(t):
    b = t + FX_FLOW.format(address="udp://127.0.0.1")
    return b, {line_of(b, 'address = "udp://')}, lambda f: f == "fx.connection_manager.set[0].connection[0].endpoint2.address"


def _control_group_tag(t):
    b = t + (
        '\n[[fx.automation_component]]\nname = "Cell"\n'
        '\n[[fx.automation_component.functional_entity]]\nname = "Motion"\ninputs = ["Demo/Ramp"]\noutputs = ["Demo/Sine"]\n'
        '\n[[fx.automation_component.functional_entity.control_group]]\nname = "G"\nblock = ["Demo/Ramp"]\n'
        'restrict = ["Demo/Counter"]\n'
    )
    return b, {line_of(b, 'restrict = ["Demo/Counter"]')}, \
        lambda f: f == "fx.automation_component[0].functional_entity[0].control_group[0].restrict[0]"


def _lock_time(t):
    b = t + (
        '\n[[fx.automation_component]]\nname = "Cell"\n'
        '\n[[fx.automation_component.functional_entity]]\nname = "Motion"\ninputs = ["Demo/Ramp"]\noutputs = ["Demo/Sine"]\n'
        '\n[[fx.automation_component.functional_entity.control_group]]\nname = "G"\nblock = ["Demo/Ramp"]\n'
        'max_inactive_lock_time_ms = 10\n'
    )
    return b, {line_of(b, "max_inactive_lock_time_ms = 10")}, \
        lambda f: f == "fx.automation_component[0].functional_entity[0].control_group[0].max_inactive_lock_time_ms"


def _set_folder(t):
    b = t + FX_FLOW.format(address="opc.udp://127.0.0.1:4841").replace('name = "S"', 'name = "S"\nfolder = ["Line/1"]', 1)
    return b, {line_of(b, 'folder = ["Line/1"]')}, lambda f: f == "fx.connection_manager.set[0].folder[0]"


def _syntax(t):
    b = replace_line(t, 'host = "127.0.0.1"', 'host = "127.0.0.1')  # unterminated string
    return b, {line_of(b, "host = ")}, None


CASES = {
    "unknown-key": _unknown_key,
    "wrong-type": _wrong_type,
    "port-out-of-range": _port_range,
    "duplicate-tag-name": _duplicate_tag,
    "bad-role": _bad_role,
    "bad-password-hash": _bad_hash,
    "bad-data-type": _bad_type_name,
    "bad-http-listen": _bad_listen,
    "alias-without-namespace": _alias_without_namespace,
    "max-queue-size": _queue_size,
    "max-notifications-per-publish": _notifications_per_publish,
    "min-sampling-interval": _sampling,
    "buffer-fsync-ms": _fsync,
    "pubsub-unknown-tag": _pubsub_tag,
    "pubsub-destination-url": _pubsub_url,
    "pubsub-listen-port-twice": _pubsub_port,
    "fx-flow-address": _fx_flow_address,
    "fx-control-group-tag": _control_group_tag,
    "fx-lock-time": _lock_time,
    "fx-set-folder": _set_folder,
    "toml-syntax": _syntax,
}


@pytest.mark.parametrize("case", list(CASES))
def test_broken_config_reports_file_line_field(tmp_path, valid_text, case):
    broken, lines, field_ok = CASES[case](valid_text)
    f = tmp_path / f"{case}.toml"
    f.write_text(broken)
    rc, out, err = check(f)
    assert rc == 2, f"check-config exit code {rc} (expected 2); stdout={out!r} stderr={err!r}"
    assert f"{f}: ok" not in out
    m = parse_error(err, f)
    assert int(m.group("line")) in lines, (
        f"reported line {m.group('line')}, expected {sorted(lines)}; stderr:\n{err}\nfile:\n"
        + "\n".join(f"{i:3} {l}" for i, l in enumerate(broken.splitlines(), 1))
    )
    assert int(m.group("col")) >= 1
    if field_ok is not None:
        assert m.group("field") is not None and field_ok(m.group("field")), f"field not named right: {err}"
    assert m.group("msg").strip()


def test_missing_file(tmp_path):
    f = tmp_path / "does-not-exist.toml"
    rc, out, err = check(f)
    assert rc != 0
    assert str(f) in err, err


def test_run_refuses_broken_config(tmp_path, valid_text):
    """`run` validates like check-config and does not start with a broken file."""
    f = tmp_path / "broken.toml"
    f.write_text(replace_line(valid_text, "port = 48050", "port = 70000"))
    res = run_cli("run", "--config", str(f), "--data-dir", str(tmp_path / "data"), timeout=30)
    assert res.returncode != 0
    assert str(f) in res.stderr.decode() and "server.port" in res.stderr.decode()
