"""OPC UA FX tier 2: the ConnectionManagerConfiguration file (OPC 10000-81 Annex F) and
EditConnectionConfigurationSets (§6.7.4), through a Python asyncua client with the structure
definitions it loads from the server. The file content (a UABinaryFileDataType whose Body holds
ConnectionConfigurationSetConfDataType elements) is decoded and encoded by asyncua, so the
server's codec is checked against an independent one; the sets written are then processed and
their endpoints checked."""
from __future__ import annotations

import asyncio

from asyncua import ua
from asyncua.common.utils import Buffer
from asyncua.ua.ua_binary import struct_from_binary, struct_to_binary

from fxgate_testlib import connect, safe_disconnect
from test_fx import OP_PW, code, codes, sync
from test_fx_cm import MOTION, SUCCEEDED, admin, cm_config, run_events  # noqa

ADD, REMOVE, REPLACE = 1, 2, 4
START, COMMIT, DISCARD = 0, 1, 2


def outs(r: ua.CallMethodResult) -> list:
    """The output arguments' values (the raw Call service gives Variants)."""
    return [a.Value if isinstance(a, ua.Variant) else a for a in r.OutputArguments or []]


class File:
    """The ConnectionManagerConfiguration file of `cm`."""

    def __init__(self, cm):
        self.cm, self.c = cm, cm.c
        self.node = cm.fx.node("ConnectionManager/ConnectionManagerConfiguration")

    def method(self, name: str) -> ua.NodeId:
        return self.cm.fx.node(f"ConnectionManager/ConnectionManagerConfiguration/{name}")

    async def call(self, name: str, *args: ua.Variant) -> ua.CallMethodResult:
        req = ua.CallMethodRequest()
        req.ObjectId, req.MethodId, req.InputArguments = self.node, self.method(name), list(args)
        [res] = await self.c.uaclient.call([req])
        return res

    async def read(self) -> ua.UABinaryFileDataType:
        r = await self.call("Open", ua.Variant(1, ua.VariantType.Byte))
        assert code(r.StatusCode) == "Good", r
        handle = outs(r)[0]
        data = b""
        while True:  # small chunks: Read keeps the position
            r = await self.call("Read", ua.Variant(handle, ua.VariantType.UInt32), ua.Variant(4096, ua.VariantType.Int32))
            assert code(r.StatusCode) == "Good", r
            chunk = outs(r)[0]
            if not chunk:
                break
            data += chunk
        size = await self.c.get_node(self.cm.fx.node("ConnectionManager/ConnectionManagerConfiguration/Size")).read_value()
        assert size == len(data), (size, len(data))
        assert code((await self.call("Close", ua.Variant(handle, ua.VariantType.UInt32))).StatusCode) == "Good"
        return struct_from_binary(ua.UABinaryFileDataType, Buffer(data))

    async def write(self, content: bytes, ops: list[int], complete: bool = True) -> ua.CallMethodResult:
        r = await self.call("Open", ua.Variant(6, ua.VariantType.Byte))
        assert code(r.StatusCode) == "Good", r
        handle = ua.Variant(outs(r)[0], ua.VariantType.UInt32)
        for i in range(0, len(content), 1000):
            w = await self.call("Write", handle, ua.Variant(content[i:i + 1000], ua.VariantType.ByteString))
            assert code(w.StatusCode) == "Good", w
        return await self.call("CloseAndUpdate", handle, ua.Variant(complete, ua.VariantType.Boolean),
                               ua.Variant(ops, ua.VariantType.Byte))


def file_of(namespaces: list[str], sets: list) -> bytes:
    f = ua.UABinaryFileDataType()
    f.Namespaces = namespaces
    f.Body = ua.Variant(sets, ua.VariantType.ExtensionObject)
    return struct_to_binary(f)


async def edit(cm, c, action: int, sets: list[ua.NodeId]) -> ua.CallMethodResult:
    req = ua.CallMethodRequest()
    req.ObjectId, req.MethodId = cm.node, ua.NodeId(7001, cm.fx.cm)
    req.InputArguments = [ua.Variant(action, ua.VariantType.Int32), ua.Variant(sets, ua.VariantType.NodeId)]
    [res] = await c.uaclient.call([req])
    return res


@sync
async def test_read_write_and_close_and_update_add_process_and_remove_a_set(gateway_factory, client_cert):
    gw = gateway_factory.start(cm_config())
    cm = await admin(gw, client_cert)
    c, fx = cm.c, cm.fx
    f = File(cm)
    try:
        assert (await c.get_node(f.node).read_type_definition()) == ua.NodeId(1011, fx.cm), "ConnectionManagerConfigurationType"
        content = await f.read()
        namespaces = await c.get_namespace_array()
        assert content.Namespaces == namespaces[1:], "the file's indexes are the server's"
        sets = {s.BrowseName: s for s in content.Body.Value}
        assert set(sets) == {"Pair", "BadPath", "Rollback"}
        pair = sets["Pair"]
        assert pair.Version == 1 and pair.RollbackOnError is False
        assert [s.BrowseName for s in pair.ServerAddresses] == ["Local"] and pair.ServerAddresses[0].Address in ("", None)
        assert sorted(a.BrowseName for a in pair.AutomationComponentConfigurations) == ["Cell1", "Cell2"]
        [conn] = pair.Connections
        assert conn.BrowseName == "MotionToControl"
        assert (conn.Endpoint1.Name, conn.Endpoint2.Name) == ("ToControl", "FromMotion")
        assert conn.Endpoint1.CleanupTimeout == 2000.0
        fe = conn.Endpoint1.FunctionalEntityNode
        assert fe.Node == ua.NodeId(f"{MOTION}", fx.inst), fe
        assert [v.Node for v in conn.Endpoint1.OutputVariableIds] == [ua.NodeId("Cell/Speed", namespaces.index("urn:fxgate:tags"))]
        assert [(p.Key.Node.Identifier, p.Value.Value) for p in conn.Endpoint1.ConfigurationData] == [("Cell/Gain", 2.5)]
        assert pair.AutomationComponentConfigurations[0].AssetVerification[0].VerificationMode == 0

        # the set as read, renamed, written back with ElementAdd
        pair.BrowseName, pair.Version = "Pair2", 0
        conn.Endpoint1.Name, conn.Endpoint2.Name = "ToControl2", "FromMotion2"
        r = await f.write(file_of(content.Namespaces, [pair]), [ADD])
        assert code(r.StatusCode) == "Good", r
        applied, results, objects = outs(r)
        assert applied is True and codes(results) == ["Good"], r
        assert objects == [fx.node("ConnectionManager/Pair2")]
        folder = c.get_node(ua.NodeId(5003, fx.cm))
        assert "Pair2" in {(await n.read_browse_name()).Name for n in await folder.get_children()}
        node = c.get_node(objects[0])
        assert await (await node.get_child([f"{fx.cm}:Version"])).read_value() == 1
        assert await (await node.get_child([f"{fx.cm}:Edit"])).read_value() is False
        assert (await cm.state("Pair2"))[1] == ua.NodeId(1169, fx.cm), "Ready, not processed"
        assert "ToControl2" not in await cm.endpoints(MOTION), "ElementAdd does not process"
        lock_user = await node.get_child([f"{fx.di}:Lock", f"{fx.di}:LockingUser"])
        assert await lock_user.read_value() == "CM"

        # adding it again: Bad_BrowseNameDuplicated, nothing applied
        r = await f.write(file_of(content.Namespaces, [pair]), [ADD])
        assert outs(r)[0] is False and codes(outs(r)[1]) == ["BadBrowseNameDuplicated"], r

        # the added set is processed like a configured one
        on_cm = await cm.subscribe(cm.node)
        res = await cm.process(2, [objects[0]])
        assert codes(outs(res)[0]) == ["Good"], res
        await run_events(cm, on_cm, "Pair2", 2, SUCCEEDED)
        assert "ToControl2" in await cm.endpoints(MOTION)

        # read back: the new set is in the file with its Version
        again = {s.BrowseName: s for s in (await f.read()).Body.Value}
        assert again["Pair2"].Version == 1 and again["Pair2"].Connections[0].Endpoint1.Name == "ToControl2"

        # ElementRemove (only the BrowseName counts) closes its connections and removes it
        gone = ua.ConnectionConfigurationSetConfDataType()
        gone.BrowseName = "Pair2"
        r = await f.write(file_of(content.Namespaces, [gone]), [REMOVE])
        assert outs(r)[0] is True and codes(outs(r)[1]) == ["Good"], r
        assert "ToControl2" not in await cm.endpoints(MOTION), "CloseConnections(Remove=TRUE)"
        assert "Pair2" not in {(await n.read_browse_name()).Name for n in await folder.get_children()}
        r = await f.write(file_of(content.Namespaces, [gone]), [REMOVE])
        assert codes(outs(r)[1]) == ["BadNoMatch"], r
    finally:
        await safe_disconnect(c)


@sync
async def test_close_and_update_errors_and_file_rules(gateway_factory, client_cert):
    gw = gateway_factory.start(cm_config())
    cm = await admin(gw, client_cert)
    c, fx = cm.c, cm.fx
    f = File(cm)
    try:
        content = await f.read()
        sets = {s.BrowseName: s for s in content.Body.Value}
        ns = content.Namespaces
        # modes other than Read and Write+EraseExisting
        assert code((await f.call("Open", ua.Variant(2, ua.VariantType.Byte))).StatusCode) == "BadInvalidArgument"
        # not a UABinaryFileDataType
        r = await f.call("Open", ua.Variant(6, ua.VariantType.Byte))
        h = ua.Variant(outs(r)[0], ua.VariantType.UInt32)
        await f.call("Write", h, ua.Variant(b"\x01\x02\x03", ua.VariantType.ByteString))
        assert code((await f.call("CloseAndUpdate", h, ua.Variant(True), ua.Variant([ADD], ua.VariantType.Byte))).StatusCode) == "BadTypeMismatch"
        # a handle opened for reading cannot CloseAndUpdate
        r = await f.call("Open", ua.Variant(1, ua.VariantType.Byte))
        h = ua.Variant(outs(r)[0], ua.VariantType.UInt32)
        assert code((await f.call("Write", h, ua.Variant(b"x", ua.VariantType.ByteString))).StatusCode) == "BadInvalidState"
        assert code((await f.call("CloseAndUpdate", h, ua.Variant(True), ua.Variant([ADD], ua.VariantType.Byte))).StatusCode) == "BadInvalidState"
        # …nor open for writing while it is open for reading
        assert code((await f.call("Open", ua.Variant(6, ua.VariantType.Byte))).StatusCode) == "BadNotWritable"
        await f.call("Close", h)
        # an empty Body
        r = await f.write(file_of(ns, []), [])
        assert code(r.StatusCode) == "BadNothingToDo", r
        # per element: no bit, two bits, replacing an unknown set; with RequireCompleteUpdate
        # nothing is applied although the fourth (a valid add) would be
        new = sets["Pair"]
        new.BrowseName = "Fresh"
        unknown = ua.ConnectionConfigurationSetConfDataType()
        unknown.BrowseName = "Nope"
        r = await f.write(file_of(ns, [sets["BadPath"], sets["Rollback"], unknown, new]), [0, ADD | REMOVE, REPLACE, ADD])
        applied, results, _ = outs(r)
        assert applied is False and codes(results) == ["BadNothingToDo", "BadInvalidArgument", "BadNoMatch", "Good"], r
        assert "Fresh" not in {s.BrowseName for s in (await f.read()).Body.Value}
        # without it, what can be applied is
        r = await f.write(file_of(ns, [unknown, new]), [REPLACE, ADD], complete=False)
        assert outs(r)[0] is True and codes(outs(r)[1]) == ["BadNoMatch", "Good"], r
        # ElementReplace gives the set a new NodeId, Version 1
        r = await f.write(file_of(ns, [new]), [REPLACE])
        assert codes(outs(r)[1]) == ["Good"], r
        [replaced] = outs(r)[2]
        assert replaced != fx.node("ConnectionManager/Fresh"), "a replaced set is a new node"
        assert await (await c.get_node(replaced).get_child([f"{fx.cm}:Version"])).read_value() == 1
        # ConnectionConfigurationSetFolder: missing folders are made; a set is addressed by folder and name
        nested = sets["BadPath"]
        nested.BrowseName, nested.ConnectionConfigurationSetFolder = "Nested", ["Line1", "Cell"]
        r = await f.write(file_of(ns, [nested]), [ADD])
        assert codes(outs(r)[1]) == ["Good"], r
        line = await c.get_node(ua.NodeId(5003, fx.cm)).get_child([f"{fx.inst}:Line1", f"{fx.inst}:Cell"])
        assert [(await n.read_browse_name()).Name for n in await line.get_children()] == ["Nested"]
        [back] = [s for s in (await f.read()).Body.Value if s.BrowseName == "Nested"]
        assert back.ConnectionConfigurationSetFolder == ["Line1", "Cell"]
        elsewhere = ua.ConnectionConfigurationSetConfDataType()
        elsewhere.BrowseName, elsewhere.ConnectionConfigurationSetFolder = "Nested", ["Line2"]
        assert codes(outs(await f.write(file_of(ns, [elsewhere]), [REMOVE]))[1]) == ["BadNoMatch"]
        assert codes(outs(await f.write(file_of(ns, [elsewhere]), [ADD]))[1]) == ["BadBrowseNameDuplicated"], \
            "fxgate keeps set names unique across its folders"
        elsewhere.ConnectionConfigurationSetFolder = ["Line1", "Cell"]
        assert codes(outs(await f.write(file_of(ns, [elsewhere]), [REMOVE]))[1]) == ["Good"]
        assert await line.get_children() == []
        # the file methods that change the configuration need the ConnectionAdmin role
        op = await connect(gw, client_cert, username="op", password=OP_PW)
        try:
            req = ua.CallMethodRequest()
            req.ObjectId, req.MethodId = f.node, f.method("Open")
            req.InputArguments = [ua.Variant(6, ua.VariantType.Byte)]
            [res] = await op.uaclient.call([req])
            assert code(res.StatusCode) == "BadUserAccessDenied", res
        finally:
            await safe_disconnect(op)
    finally:
        await safe_disconnect(c)


@sync
async def test_edit_locks_a_set_to_the_session_commit_counts_the_version(gateway_factory, client_cert):
    cfg = cm_config()
    cfg["fx"]["connection_manager"]["max_inactive_lock_time_ms"] = 2000
    gw = gateway_factory.start(cfg)
    cm = await admin(gw, client_cert)
    other = await admin(gw, client_cert)
    c, fx = cm.c, cm.fx
    pair = cm.set("Pair")
    node = c.get_node(pair)
    conn = "ConnectionManager/Pair/MotionToControl/Endpoint1/ConnectionEndpoint"
    rollback, name, cleanup = (fx.node("ConnectionManager/Pair/RollbackOnError"), fx.node(f"{conn}/Name"),
                               fx.node(f"{conn}/CleanupTimeout"))

    async def prop(*path: str):
        return await (await node.get_child(list(path))).read_value()

    async def write(client, nid: ua.NodeId, value: ua.Variant) -> str:
        p = ua.WriteParameters()
        wv = ua.WriteValue()
        wv.NodeId, wv.AttributeId, wv.Value = nid, ua.AttributeIds.Value, ua.DataValue(value)
        p.NodesToWrite = [wv]
        [r] = await client.uaclient.write(p)
        return code(r)

    async def lock(client, method: str, *args: ua.Variant) -> int:
        req = ua.CallMethodRequest()
        req.ObjectId = fx.node("ConnectionManager/Pair/Lock")
        req.MethodId, req.InputArguments = fx.node(f"ConnectionManager/Pair/Lock/{method}"), list(args)
        [r] = await client.uaclient.call([req])
        assert code(r.StatusCode) == "Good", r
        return outs(r)[0]

    try:
        assert await write(c, rollback, ua.Variant(True)) == "BadLocked", "not edited: locked to the CM"
        r = await edit(cm, c, START, [pair, ua.NodeId("Nope", fx.inst), cm.node])
        assert code(r.StatusCode) == "Uncertain" and codes(outs(r)[0]) == ["Good", "BadNodeIdUnknown", "BadInvalidArgument"], r
        assert await prop(f"{fx.cm}:Edit") is True
        assert await prop(f"{fx.di}:Lock", f"{fx.di}:LockingUser") == "admin"
        assert await prop(f"{fx.di}:Lock", f"{fx.di}:LockingClient") != str(cm.node)
        assert 0 < await prop(f"{fx.di}:Lock", f"{fx.di}:RemainingLockTime") <= 2000
        assert codes(outs(await edit(cm, c, START, [pair]))[0]) == ["Good"], "again by its editor: nothing to do"
        # another session can neither start, commit, discard nor write; the set is not processed
        for action in (START, COMMIT, DISCARD):
            r = await edit(other, other.c, action, [pair])
            assert code(r.StatusCode) == "Uncertain" and codes(outs(r)[0]) == ["BadInvalidState"], (action, r)
        assert await write(other.c, rollback, ua.Variant(True)) == "BadLocked"
        assert codes(outs(await cm.process(2, [pair]))[0]) == ["BadInvalidState"]
        # the DI Lock methods: InitLock never (the Lock comes with Edit), RenewLock by the editor only
        assert await lock(c, "InitLock", ua.Variant("ctx")) == -1
        assert await lock(other.c, "RenewLock") == -1 and await lock(other.c, "ExitLock") == -1
        assert await lock(c, "RenewLock") == 0
        # the editor writes; wrong values are refused
        assert await write(c, rollback, ua.Variant(True)) == "Good"
        assert await write(c, name, ua.Variant("Renamed")) == "Good"
        assert await write(c, cleanup, ua.Variant(3000.0, ua.VariantType.Double)) == "Good"
        assert await write(c, cleanup, ua.Variant("x")) == "BadTypeMismatch"
        assert await write(c, name, ua.Variant("a/b")) == "BadOutOfRange"
        assert await c.get_node(name).read_value() == "Renamed"
        # commit: Edit FALSE, the Lock back with the CM, Version + 1, the new values in force
        assert codes(outs(await edit(cm, c, COMMIT, [pair]))[0]) == ["Good"]
        assert await prop(f"{fx.cm}:Edit") is False
        assert await prop(f"{fx.cm}:Version") == 2
        assert await prop(f"{fx.di}:Lock", f"{fx.di}:LockingUser") == "CM"
        assert await prop(f"{fx.cm}:RollbackOnError") is True
        [read] = [s for s in (await File(cm).read()).Body.Value if s.BrowseName == "Pair"]
        assert read.RollbackOnError is True and read.Version == 2
        assert read.Connections[0].Endpoint1.Name == "Renamed" and read.Connections[0].Endpoint1.CleanupTimeout == 3000.0
        on_cm = await cm.subscribe(cm.node)
        assert codes(outs(await cm.process(2, [pair]))[0]) == ["Good"]
        await run_events(cm, on_cm, "Pair", 2, SUCCEEDED)
        assert "Renamed" in await cm.endpoints(MOTION), "processing uses the committed configuration"
        assert codes(outs(await edit(cm, c, COMMIT, [pair]))[0]) == ["Good"], "not edited: ignored"
        assert await prop(f"{fx.cm}:Version") == 2
        # discard: the committed values come back, the Version stays
        await edit(cm, c, START, [pair])
        assert await write(c, rollback, ua.Variant(False)) == "Good"
        assert codes(outs(await edit(cm, c, DISCARD, [pair]))[0]) == ["Good"]
        assert await prop(f"{fx.cm}:RollbackOnError") is True
        assert await prop(f"{fx.cm}:Version") == 2
        # ExitLock by the editor discards; BreakLock (ConnectionAdmin) ends another's edit
        await edit(cm, c, START, [pair])
        assert await lock(c, "ExitLock") == 0 and await prop(f"{fx.cm}:Edit") is False
        await edit(cm, c, START, [pair])
        assert await lock(other.c, "BreakLock") == 0 and await prop(f"{fx.cm}:Edit") is False
        # the Lock is renewed, or it exits after MaxInactiveLockTime (2 s here)
        await edit(cm, c, START, [pair])
        for _ in range(3):
            await asyncio.sleep(0.9)
            assert await lock(c, "RenewLock") == 0
        assert await prop(f"{fx.cm}:Edit") is True, "renewed: still edited"
        await asyncio.sleep(3.5)
        assert await prop(f"{fx.cm}:Edit") is False, "not renewed: the Lock exited"
        # the editing session ends: the edit is discarded
        await edit(other, other.c, START, [pair])
        assert await prop(f"{fx.cm}:Edit") is True
        await safe_disconnect(other.c)
        for _ in range(100):
            if await prop(f"{fx.cm}:Edit") is False:
                break
            await asyncio.sleep(0.1)
        assert await prop(f"{fx.cm}:Edit") is False, "the lock exits with its session"
        assert await prop(f"{fx.cm}:Version") == 2
        assert codes(outs(await edit(cm, c, START, [pair]))[0]) == ["Good"]
    finally:
        await safe_disconnect(c)
        await safe_disconnect(other.c)


@sync
async def test_written_removed_and_committed_sets_survive_a_restart(gateway_factory, client_cert):
    gw = gateway_factory.start(cm_config())
    cm = await admin(gw, client_cert)
    f = File(cm)
    try:
        content = await f.read()
        sets = {s.BrowseName: s for s in content.Body.Value}
        kept = sets["Rollback"]
        kept.BrowseName = "Kept"
        gone = ua.ConnectionConfigurationSetConfDataType()
        gone.BrowseName = "BadPath"
        r = await f.write(file_of(content.Namespaces, [kept, gone]), [ADD, REMOVE])
        assert codes(outs(r)[1]) == ["Good", "Good"], r
        assert codes(outs(await edit(cm, cm.c, START, [cm.set("Pair")]))[0]) == ["Good"]
        assert codes(outs(await edit(cm, cm.c, COMMIT, [cm.set("Pair")]))[0]) == ["Good"]
    finally:
        await safe_disconnect(cm.c)
    state = gw.data_dir / "fx" / "connection_manager.toml"
    assert state.exists(), "kept in the data directory"
    gw.restart()
    cm = await admin(gw, client_cert)
    try:
        after = {s.BrowseName: s for s in (await File(cm).read()).Body.Value}
        assert set(after) == {"Pair", "Rollback", "Kept"}, after.keys()
        assert after["Kept"].Version == 1 and [c.BrowseName for c in after["Kept"].Connections] == ["First", "Second"]
        assert after["Kept"].RollbackOnError is True
        assert after["Pair"].Version == 2, "the committed Version"
        assert after["Rollback"].Version == 1
        # the set written before the restart is processed like any other
        res = await cm.process(2, [cm.set("Kept")])
        assert codes(outs(res)[0]) == ["Good"], res
        await cm.wait_state("Kept", 1171)  # Error: its second connection fails verification, as configured
    finally:
        await safe_disconnect(cm.c)
