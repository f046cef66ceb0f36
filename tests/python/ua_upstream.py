"""An independent upstream OPC UA server (asyncua) for the gateway's aggregation tests.

    python ua_upstream.py --port P --name NAME [--uri-order plant,extra | extra,plant]
                          [--cert-dir DIR] [--user u:p] [--security secure|none]
                          [--policies Basic256Sha256_Sign,Aes128Sha256RsaOaep_SignAndEncrypt]

* Endpoint ``opc.tcp://127.0.0.1:P/``, application URI ``urn:fxgate-test:NAME``.
* ``--security secure`` (default): only Basic256Sha256 / SignAndEncrypt, with a self-signed
  certificate generated into --cert-dir (default: a temporary directory) by asyncua's cert_gen
  helpers; every client certificate is accepted (no trust check). ``--security none``: only
  None / None. ``--policies`` (with ``--security secure``) replaces the one secure endpoint by
  the listed ones: names of asyncua's ``ua.SecurityPolicyType`` (``Basic256Sha256_Sign``,
  ``Aes128Sha256RsaOaep_SignAndEncrypt``, ...), comma separated.
* The certificate in --cert-dir (server_cert.der, server_key.pem) is made once and reused by a
  restart with the same --cert-dir; another --cert-dir gives a new key pair and certificate
  with the same application URI and host names.
* Namespaces ``urn:fxgate-test:NAME:plant`` and ``urn:fxgate-test:NAME:extra``, registered in the
  order of --uri-order (default plant,extra). Every NodeId below uses a string identifier, so
  only the namespace *index* changes with the order.
* Address space (p = plant namespace, e = extra namespace; BrowseNames are in the same namespace
  as the node unless noted):

    Objects/Plant                 p;s=Plant              Object, EventNotifier SubscribeToEvents,
                                                         Server --HasNotifier--> Plant
      Counter                     p;s=Plant.Counter      Int32, +1 every 100 ms, read-only
      Temperature                 p;s=Plant.Temperature  Double 20.5, writable
        EURange                   p;s=Plant.Temperature.EURange  Range {0, 100} (BrowseName 0:EURange:
                                                         percent deadbands through the aggregation)
      Setpoint                    p;s=Plant.Setpoint     Double 1.0, writable, historized (memory)
      Name                        p;s=Plant.Name         String "line A", writable
      NodeRef                     p;s=Plant.NodeRef      NodeId = p;s=Plant.Temperature
      Status                      p;s=Plant.Status       StatusInfo {Code 7, Text "ready", Ok true}, writable
      Mode                        p;s=Plant.Mode         OperatingMode = Auto (1), writable
      Add(a Int32, b Int32) -> sum Int32          p;s=Plant.Add
      Fail() -> always BadInvalidArgument          p;s=Plant.Fail
      RaiseAlarm(level Int32)                      p;s=Plant.RaiseAlarm
    Types
      StatusInfo      e;s=StatusInfo      Structure {Code Int32, Text String, Ok Boolean}
      OperatingMode   e;s=OperatingMode   Enumeration {Manual=0, Auto=1}
      PlantAlarmType  p;s=PlantAlarmType  subtype of BaseEventType, property Level (Int32,
                                          p;s=PlantAlarmType.Level, BrowseName p:Level)

  RaiseAlarm(level) emits one PlantAlarmType event (Message "alarm <level>", Severity 500,
  Level = level, SourceNode = Plant, SourceName "Plant") from Plant and the same event (same
  EventId) from the Server object.
* ``--user u:p``: anonymous is neither offered nor accepted; only that user name / password.
* Prints ``ready <port>`` on stdout once serving; exits 0 on SIGTERM / SIGINT, and when the
  process given by ``--parent-pid`` is gone.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import logging
import os
import signal
import socket
import sys
import tempfile
from pathlib import Path

from asyncua import Server, ua
from asyncua.common.structures104 import new_enum, new_struct, new_struct_field
from asyncua.crypto.cert_gen import setup_self_signed_certificate
from asyncua.crypto.permission_rules import User, UserRole
from cryptography.x509.oid import ExtendedKeyUsageOID

HOST = "127.0.0.1"
STOP_TIMEOUT_S = 5.0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--uri-order", default="plant,extra",
                    help="order in which the plant / extra namespaces are registered")
    ap.add_argument("--cert-dir", default=None, help="where the server certificate is generated")
    ap.add_argument("--user", default=None, help="u:p - refuse anonymous, accept only this user")
    ap.add_argument("--security", choices=("secure", "none"), default="secure")
    ap.add_argument("--policies", default=None,
                    help="secure endpoints offered instead of Basic256Sha256_SignAndEncrypt: "
                         "comma separated ua.SecurityPolicyType names")
    ap.add_argument("--log-level", default="WARNING")
    ap.add_argument("--parent-pid", type=int, default=None,
                    help="exit when this process is gone (so a dead test run leaves no server behind)")
    args = ap.parse_args(argv)
    order = [x.strip() for x in args.uri_order.split(",") if x.strip()]
    if sorted(order) != ["extra", "plant"]:
        ap.error("--uri-order must name plant and extra once each, e.g. extra,plant")
    args.uri_order = order
    if args.policies is not None:
        if args.security != "secure":
            ap.error("--policies needs --security secure")
        names = [x.strip() for x in args.policies.split(",") if x.strip()]
        known = {m.name: m for m in ua.SecurityPolicyType if m is not ua.SecurityPolicyType.NoSecurity}
        bad = [n for n in names if n not in known]
        if not names or bad:
            ap.error(f"--policies: unknown {bad or names}; known: {', '.join(known)}")
        args.policies = [known[n] for n in names]
    if args.user is not None and ":" not in args.user:
        ap.error("--user must be user:password")
    return args


class SingleUserManager:
    """asyncua user_manager hook: only one user name / password; anonymous and anything else
    is refused (get_user returning None makes ActivateSession fail with BadUserAccessDenied)."""

    def __init__(self, username: str, password: str):
        self.username = username
        self.password = password

    def get_user(self, iserver, username=None, password=None, certificate=None):
        if username == self.username and password == self.password:
            return User(role=UserRole.User, name=username)
        return None


async def build(args: argparse.Namespace) -> tuple[Server, asyncio.Task]:
    app_uri = f"urn:fxgate-test:{args.name}"
    user_manager = None
    if args.user is not None:
        u, _, p = args.user.partition(":")
        user_manager = SingleUserManager(u, p)

    server = Server(user_manager=user_manager)
    await server.init()
    server.set_endpoint(f"opc.tcp://{HOST}:{args.port}/")
    server.set_server_name(f"fxgate-test upstream {args.name}")
    await server.set_application_uri(app_uri)
    server.product_uri = "urn:fxgate-test:ua_upstream"

    if args.security == "secure":
        cert_dir = Path(args.cert_dir) if args.cert_dir else Path(tempfile.mkdtemp(prefix=f"ua-upstream-{args.name}-"))
        cert_dir.mkdir(parents=True, exist_ok=True)
        key_file, cert_file = cert_dir / "server_key.pem", cert_dir / "server_cert.der"
        if not cert_file.exists():
            # the certificate names every host the tests use: the machine name, localhost and
            # 127.0.0.1 (a client checks the endpoint URL's host against it)
            from asyncua.crypto import cert_gen
            import ipaddress
            from cryptography import x509 as cx509
            from cryptography.hazmat.primitives import serialization

            key = cert_gen.generate_private_key()
            cert = cert_gen.generate_self_signed_app_certificate(
                key,
                f"upstream {args.name}",
                {"organizationName": "fxgate tests"},
                [
                    cx509.UniformResourceIdentifier(app_uri),
                    cx509.DNSName(socket.gethostname()),
                    cx509.DNSName("localhost"),
                    cx509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                ],
                extended=[ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH],
            )
            key_file.write_bytes(key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()))
            cert_file.write_bytes(cert.public_bytes(serialization.Encoding.DER))
        await server.load_certificate(str(cert_file))
        await server.load_private_key(str(key_file))
        server.set_security_policy(args.policies or [ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt])
        # no certificate_validator: asyncua then accepts every client certificate
    else:
        server.set_security_policy([ua.SecurityPolicyType.NoSecurity])

    if args.user is not None:
        server.set_identity_tokens([ua.UserNameIdentityToken])
    else:
        server.set_identity_tokens([ua.AnonymousIdentityToken])

    # --- namespaces -----------------------------------------------------------------------
    idx = {}
    for which in args.uri_order:
        idx[which] = await server.register_namespace(f"{app_uri}:{which}")
    p, e = idx["plant"], idx["extra"]

    # --- custom types (in `extra`, except the event type) -----------------------------------
    status_dt, _ = await new_struct(
        server,
        ua.NodeId("StatusInfo", e),
        ua.QualifiedName("StatusInfo", e),
        [
            new_struct_field("Code", ua.VariantType.Int32),
            new_struct_field("Text", ua.VariantType.String),
            new_struct_field("Ok", ua.VariantType.Boolean),
        ],
    )
    mode_dt = await new_enum(server, ua.NodeId("OperatingMode", e), ua.QualifiedName("OperatingMode", e),
                             ["Manual", "Auto"])
    await server.load_data_type_definitions()  # registers ua.StatusInfo / ua.OperatingMode

    base_event = server.get_node(ua.ObjectIds.BaseEventType)
    alarm_type = await base_event.add_object_type(ua.NodeId("PlantAlarmType", p), ua.QualifiedName("PlantAlarmType", p))
    await alarm_type.add_property(ua.NodeId("PlantAlarmType.Level", p), ua.QualifiedName("Level", p),
                                  ua.Variant(0, ua.VariantType.Int32))

    # --- Plant ----------------------------------------------------------------------------
    objects = server.nodes.objects
    plant = await objects.add_object(ua.NodeId("Plant", p), ua.QualifiedName("Plant", p))

    async def var(name: str, value, vtype: ua.VariantType | None, writable: bool, datatype=None):
        node = await plant.add_variable(
            ua.NodeId(f"Plant.{name}", p), ua.QualifiedName(name, p),
            ua.Variant(value, vtype) if vtype is not None else value,
            datatype=datatype,
        )
        if writable:
            await node.set_writable()
        return node

    counter = await var("Counter", 0, ua.VariantType.Int32, False)
    temperature = await var("Temperature", 20.5, ua.VariantType.Double, True)
    await temperature.add_property(ua.NodeId("Plant.Temperature.EURange", p), ua.QualifiedName("EURange", 0),
                                   ua.Variant(ua.Range(0.0, 100.0), ua.VariantType.ExtensionObject),
                                   datatype=ua.NodeId(ua.ObjectIds.Range))
    setpoint = await var("Setpoint", 1.0, ua.VariantType.Double, True)
    await var("Name", "line A", ua.VariantType.String, True)
    await var("NodeRef", temperature.nodeid, ua.VariantType.NodeId, False)
    await var("Status", ua.Variant(ua.StatusInfo(Code=7, Text="ready", Ok=True), ua.VariantType.ExtensionObject),
              None, True, datatype=status_dt.nodeid)
    await var("Mode", 1, ua.VariantType.Int32, True, datatype=mode_dt.nodeid)
    await server.historize_node_data_change(setpoint, period=None, count=0)

    # --- events -----------------------------------------------------------------------------
    await plant.set_event_notifier([ua.EventNotifier.SubscribeToEvents])
    await server.nodes.server.add_reference(plant.nodeid, ua.ObjectIds.HasNotifier, forward=True)
    evgen = await server.get_event_generator(alarm_type, emitting_node=plant)
    evgen.event.Severity = 500
    evgen.event.SourceNode = plant.nodeid
    evgen.event.SourceName = "Plant"
    subscriptions = server.iserver.subscription_service
    server_nodeid = ua.NodeId(ua.ObjectIds.Server)

    # --- methods ----------------------------------------------------------------------------
    async def add(parent, a, b):
        return [ua.Variant(int(a.Value) + int(b.Value), ua.VariantType.Int32)]

    async def fail(parent, *args):
        return ua.StatusCode(ua.StatusCodes.BadInvalidArgument)

    async def raise_alarm(parent, level):
        lvl = int(level.Value)
        evgen.event.Level = lvl
        await evgen.trigger(message=f"alarm {lvl}")  # to subscribers of Plant
        ev = copy.copy(evgen.event)  # the same event (EventId, Time, ...) seen from the Server object
        ev.emitting_node = server_nodeid
        await subscriptions.trigger_event(ev)
        return []

    def arg(name: str, vtype: ua.VariantType) -> ua.Argument:
        a = ua.Argument()
        a.Name = name
        a.DataType = ua.NodeId(vtype.value)
        a.ValueRank = ua.ValueRank.Scalar
        a.Description = ua.LocalizedText(name)
        return a

    int32 = ua.VariantType.Int32
    await plant.add_method(ua.NodeId("Plant.Add", p), ua.QualifiedName("Add", p), add,
                           [arg("a", int32), arg("b", int32)], [arg("sum", int32)])
    await plant.add_method(ua.NodeId("Plant.Fail", p), ua.QualifiedName("Fail", p), fail, [], [])
    await plant.add_method(ua.NodeId("Plant.RaiseAlarm", p), ua.QualifiedName("RaiseAlarm", p), raise_alarm,
                           [arg("level", int32)], [])

    await server.start()

    async def tick():
        n = 0
        while True:
            await asyncio.sleep(0.1)
            n = (n + 1) & 0x7FFFFFFF
            await counter.write_value(ua.Variant(n, ua.VariantType.Int32))

    return server, asyncio.create_task(tick())


async def watch_parent(pid: int, stop: asyncio.Event) -> None:
    while True:
        await asyncio.sleep(1.0)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            print(f"parent {pid} is gone; stopping", file=sys.stderr, flush=True)
            stop.set()
            return
        except PermissionError:  # exists, owned by someone else
            pass


async def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=getattr(logging, args.log_level.upper(), logging.WARNING), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    server, ticker = await build(args)
    watcher = asyncio.create_task(watch_parent(args.parent_pid, stop)) if args.parent_pid else None
    print(f"ready {args.port}", flush=True)
    try:
        await stop.wait()
    finally:
        ticker.cancel()
        if watcher is not None:
            watcher.cancel()
        try:
            await asyncio.wait_for(server.stop(), STOP_TIMEOUT_S)
        except Exception as exc:  # noqa: BLE001 - exiting anyway
            print(f"server.stop() failed: {exc!r}", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
