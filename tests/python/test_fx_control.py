"""OPC UA FX ControlGroups with DI LockingServices (OPC 10000-81 §6.5, tier 2): EstablishControl,
ReleaseControl and ReassignControl called directly and through EstablishConnections
(EstablishControlCmd with the caller's ApplicationUri, ReassignControlCmd to the endpoint,
released by CloseConnections and on rollback). While a group is controlled, nobody writes its
ListToBlock variables and only the lock owner its ListToRestrict variables; an overlapping group
cannot be taken by another owner (LockStatus -1)."""

from __future__ import annotations

import asyncio

from asyncua import ua

from fxgate_testlib import connect, safe_disconnect
from test_fx import FE, MASK, OP_PW, Fx, admin_session, code, codes, fx_config, sync

OTHER = "urn:fxgate-tests:other-client"


def control_config() -> dict:
    cfg = fx_config()
    cfg["fx"]["automation_component"][0]["functional_entity"][0]["control_group"] = [
        {"name": "Tuning", "block": ["Cell/Mode"], "restrict": ["Cell/Gain"]},
        {"name": "Override", "restrict": ["Cell/Gain"], "related": ["Cell/Speed"]},
    ]
    return cfg


GROUPS = f"{FE}/ControlGroups"


async def group_call(fx: Fx, group: str, method: str, *args: ua.Variant) -> ua.CallMethodResult:
    return await fx.call(f"{GROUPS}/{group}", method, *args)


def status_of(r: ua.CallMethodResult) -> int:
    """The LockStatus output."""
    [v] = r.OutputArguments
    return v.Value


def context(s: str | None) -> ua.Variant:
    return ua.Variant(s, ua.VariantType.String)


async def lock_state(fx: Fx, group: str) -> tuple:
    c = fx.c
    base = f"{GROUPS}/{group}"
    controlled = await c.get_node(fx.node(f"{base}/IsControlled")).read_value()
    out = [controlled]
    for lst in ("ListToBlock", "ListToRestrict"):
        lock = f"{base}/{lst}/Lock"
        out.append(tuple([await c.get_node(fx.node(f"{lock}/{v}")).read_value() for v in ("Locked", "LockingClient", "LockingUser")]))
    return tuple(out)


async def write(c, e, path: str, value, vt=ua.VariantType.Double) -> str:
    """The status of one Write (the raw service: the helpers raise on Bad)."""
    [status] = await c.uaclient.write_attributes([e.tag(path)], [ua.DataValue(ua.Variant(value, vt))])
    return status.name


@sync
async def test_control_groups_block_restrict_overlap_and_reassign(gateway_factory, client_cert):
    gw = gateway_factory.start(control_config())
    c, e = await admin_session(gw, client_cert)
    fx = e.fx
    me = c.application_uri
    try:
        refs = await c.get_node(fx.node(GROUPS)).get_references(refs=ua.NodeId(44, fx.ac))
        assert sorted(r.BrowseName.Name for r in refs) == ["Override", "Tuning"], "HasControlGroup from the folder"
        assert await lock_state(fx, "Tuning") == (False, (False, "", ""), (False, "", ""))

        r = await group_call(fx, "Tuning", "EstablishControl", context(None))
        assert code(r.StatusCode) == "Good" and status_of(r) == 0, r
        assert await lock_state(fx, "Tuning") == (True, (True, me, "admin"), (True, me, "admin"))
        # ListToBlock: nobody, not even the owner; ListToRestrict: the owner may.
        assert await write(c, e, "Cell/Mode", 3, ua.VariantType.Int32) == "BadLocked"
        assert await write(c, e, "Cell/Gain", 2.0) == "Good"

        # An overlapping group (Gain) for another owner: E_AlreadyLocked; Tuning again: too.
        r = await group_call(fx, "Override", "EstablishControl", context(OTHER))
        assert status_of(r) == -1, r
        r = await group_call(fx, "Tuning", "EstablishControl", context(None))
        assert status_of(r) == -1, r

        # Reassigned to the other client: its restricted variable is no longer ours to write; the
        # other owner may take the overlapping group now.
        r = await group_call(fx, "Tuning", "ReassignControl", context(OTHER))
        assert code(r.StatusCode) == "Good" and status_of(r) == 0, r
        assert (await lock_state(fx, "Tuning"))[2][1] == OTHER
        assert await write(c, e, "Cell/Gain", 3.0) == "BadLocked"
        r = await group_call(fx, "Override", "EstablishControl", context(OTHER))
        assert status_of(r) == 0, r
        r = await group_call(fx, "Override", "ReassignControl", context(""))
        assert code(r.StatusCode) == "BadInvalidArgument", "ReassignControl needs a LockContext"

        # A user without connection_admin may not take control.
        op = await connect(gw, client_cert, username="op", password=OP_PW)
        try:
            op_fx = await Fx(op).load()
            r = await group_call(op_fx, "Tuning", "ReleaseControl")
            assert code(r.StatusCode) == "BadUserAccessDenied", r
        finally:
            await safe_disconnect(op)

        for g in ("Tuning", "Override"):
            r = await group_call(fx, g, "ReleaseControl")
            assert code(r.StatusCode) == "Good", (g, r)
        assert await lock_state(fx, "Tuning") == (False, (False, "", ""), (False, "", ""))
        assert await write(c, e, "Cell/Gain", 4.0) == "Good"
        assert await write(c, e, "Cell/Mode", 3, ua.VariantType.Int32) == "Good"
        r = await group_call(fx, "Tuning", "ReleaseControl")
        assert code(r.StatusCode) == "BadInvalidState", "not controlled"
    finally:
        await safe_disconnect(c)


@sync
async def test_control_through_establish_connections_and_close(gateway_factory, client_cert):
    gw = gateway_factory.start(control_config())
    c, e = await admin_session(gw, client_cert)
    fx = e.fx
    tuning = fx.node(f"{GROUPS}/Tuning")
    try:
        # EstablishControl for the caller, SetConfigurationData as the owner, ReassignControl to
        # the endpoint: the endpoint holds the locks (LockingUser UAFX) with a Controls reference.
        cfg = e.config(endpoint=e.parameter("C1"), config=[e.pair(e.tag("Cell/Gain"), ua.Variant(2.5, ua.VariantType.Double))])
        cfg.ControlGroups = [tuning]
        mask = MASK["Create"] | MASK["EstablishControl"] | MASK["SetConfig"] | 0x20
        r = await e.call(mask, endpoints=[cfg])
        assert code(r.StatusCode) == "Good", r
        [res] = r.OutputArguments[1].Value
        assert codes(res.EstablishControlResult) == ["Good"] and codes(res.ReassignControlResult) == ["Good"], res
        assert codes(res.ConfigurationDataResult) == ["Good"], res
        node = res.ConnectionEndpointId
        state = await lock_state(fx, "Tuning")
        assert state[0] is True and state[1] == (True, node.to_string(), "UAFX"), state
        controls = await c.get_node(node).get_references(refs=ua.ObjectIds.Controls)
        assert [r.NodeId for r in controls] == [tuning], controls
        assert await write(c, e, "Cell/Gain", 9.0) == "BadLocked", "the endpoint owns the restricted variable"
        assert (await c.get_node(e.tag("Cell/Gain")).read_value()) == 2.5

        # A second endpoint cannot take the overlapping group: Bad_Locked, rolled back.
        cfg2 = e.config(endpoint=e.parameter("C2"))
        cfg2.ControlGroups = [fx.node(f"{GROUPS}/Override")]
        r = await e.call(MASK["Create"] | MASK["EstablishControl"], endpoints=[cfg2])
        assert code(r.StatusCode) == "Uncertain", r
        assert codes(r.OutputArguments[1].Value[0].EstablishControlResult) == ["BadLocked"]
        assert set(await e.endpoints()) == {"C1"}
        # Unknown group and a node that is no group.
        cfg3 = e.config(endpoint=e.parameter("C3"))
        cfg3.ControlGroups = [fx.node(f"{FE}/InputData")]
        r = await e.call(MASK["Create"] | MASK["EstablishControl"], endpoints=[cfg3])
        assert codes(r.OutputArguments[1].Value[0].EstablishControlResult) == ["BadInvalidArgument"], r

        # CloseConnections(Remove=FALSE) releases the endpoint's locks.
        res = await fx.call("Cell1", "CloseConnections", ua.Variant([node], ua.VariantType.NodeId),
                               ua.Variant(False, ua.VariantType.Boolean))
        assert code(res.StatusCode) == "Good", res
        assert await lock_state(fx, "Tuning") == (False, (False, "", ""), (False, "", ""))
        assert await c.get_node(node).get_references(refs=ua.ObjectIds.Controls) == []
        assert await write(c, e, "Cell/Gain", 9.0) == "Good"

        # Rollback: control taken by an aborted call is given back.
        bad = e.config(endpoint=e.parameter("C4"), config=[e.pair(e.tag("Cell/Speed"), ua.Variant(1.0, ua.VariantType.Double))])
        bad.ControlGroups = [tuning]
        r = await e.call(MASK["Create"] | MASK["EstablishControl"] | MASK["SetConfig"], endpoints=[bad])
        assert code(r.StatusCode) == "Uncertain", r
        assert codes(r.OutputArguments[1].Value[0].EstablishControlResult) == ["Good"]
        assert (await lock_state(fx, "Tuning"))[0] is False, "released on rollback"
    finally:
        await safe_disconnect(c)


async def lock_call(fx: Fx, group: str, lst: str, method: str, *args: ua.Variant) -> ua.CallMethodResult:
    return await fx.call(f"{GROUPS}/{group}/{lst}/Lock", method, *args)


@sync
async def test_the_di_lock_methods_and_max_inactive_lock_time(gateway_factory, client_cert):
    cfg = control_config()
    groups = cfg["fx"]["automation_component"][0]["functional_entity"][0]["control_group"]
    groups[0]["max_inactive_lock_time_ms"] = 2000
    gw = gateway_factory.start(cfg)
    c, e = await admin_session(gw, client_cert)
    fx = e.fx
    me = c.application_uri
    try:
        for lst in ("ListToBlock", "ListToRestrict"):
            prop = fx.node(f"{GROUPS}/Tuning/{lst}/MaxInactiveLockTime")
            assert await c.get_node(prop).read_value() == 2000.0
        # not controlled: InitLock E_Invalid, the others E_NotLocked
        assert status_of(await lock_call(fx, "Tuning", "ListToBlock", "InitLock", context("x"))) == -2
        assert status_of(await lock_call(fx, "Tuning", "ListToBlock", "RenewLock")) == -1
        assert status_of(await group_call(fx, "Tuning", "EstablishControl", context(None))) == 0
        assert status_of(await lock_call(fx, "Tuning", "ListToBlock", "InitLock", context("x"))) == -1, "already locked"
        remaining = await c.get_node(fx.node(f"{GROUPS}/Tuning/ListToBlock/Lock/RemainingLockTime")).read_value()
        assert 0 < remaining <= 2000, remaining
        # ExitLock releases that Lock only: the blocked variable is writable, IsControlled stays
        assert status_of(await lock_call(fx, "Tuning", "ListToBlock", "ExitLock")) == 0
        assert await lock_state(fx, "Tuning") == (True, (False, "", ""), (True, me, "admin"))
        assert await write(c, e, "Cell/Mode", 3, ua.VariantType.Int32) == "Good"
        assert status_of(await lock_call(fx, "Tuning", "ListToBlock", "ExitLock")) == -1, "E_NotLocked"
        assert status_of(await lock_call(fx, "Tuning", "ListToBlock", "InitLock", context("x"))) == 0
        assert await write(c, e, "Cell/Mode", 4, ua.VariantType.Int32) == "BadLocked"
        # renewed (RenewLock, or the owner's writes to the restricted variable) it holds …
        for _ in range(3):
            await asyncio.sleep(0.9)
            assert status_of(await lock_call(fx, "Tuning", "ListToBlock", "RenewLock")) == 0
            assert await write(c, e, "Cell/Gain", 2.0) == "Good"
        assert await lock_state(fx, "Tuning") == (True, (True, me, "admin"), (True, me, "admin"))
        # … left alone it exits after MaxInactiveLockTime: both variables are free, still controlled
        await asyncio.sleep(3.2)
        assert await lock_state(fx, "Tuning") == (True, (False, "", ""), (False, "", ""))
        assert await write(c, e, "Cell/Mode", 5, ua.VariantType.Int32) == "Good"
        assert code((await group_call(fx, "Tuning", "ReleaseControl")).StatusCode) == "Good"

        # only the owner calls Init/Renew/Exit; BreakLock needs the ConnectionAdmin role
        assert status_of(await group_call(fx, "Tuning", "EstablishControl", context(OTHER))) == 0
        r = await lock_call(fx, "Tuning", "ListToRestrict", "ExitLock")
        assert code(r.StatusCode) == "BadUserAccessDenied", r
        op = await connect(gw, client_cert, username="op", password=OP_PW)
        try:
            r = await lock_call(await Fx(op).load(), "Tuning", "ListToRestrict", "BreakLock")
            assert code(r.StatusCode) == "BadUserAccessDenied", r
        finally:
            await safe_disconnect(op)
        assert status_of(await lock_call(fx, "Tuning", "ListToRestrict", "BreakLock")) == 0
        assert await write(c, e, "Cell/Gain", 3.0) == "Good", "the restricted Lock was broken"
        assert (await lock_state(fx, "Tuning"))[1] == (True, OTHER, "admin"), "the other Lock stays"
    finally:
        await safe_disconnect(c)


@sync
async def test_locks_an_endpoint_holds_renew_while_it_is_not_in_error(gateway_factory, client_cert):
    cfg = control_config()
    cfg["fx"]["automation_component"][0]["functional_entity"][0]["control_group"][0]["max_inactive_lock_time_ms"] = 1000
    gw = gateway_factory.start(cfg)
    c, e = await admin_session(gw, client_cert)
    fx = e.fx
    try:
        conf = e.config(endpoint=e.parameter("C1"))
        conf.ControlGroups = [fx.node(f"{GROUPS}/Tuning")]
        r = await e.call(MASK["Create"] | MASK["EstablishControl"] | 0x20, endpoints=[conf])
        assert code(r.StatusCode) == "Good", r
        node = r.OutputArguments[1].Value[0].ConnectionEndpointId
        await asyncio.sleep(2.5)
        state = await lock_state(fx, "Tuning")
        assert state[1] == (True, node.to_string(), "UAFX") and state[2][0] is True, "renewed: Status Initial, not Error"
        r = await lock_call(fx, "Tuning", "ListToBlock", "RenewLock")
        assert code(r.StatusCode) == "BadUserAccessDenied", "the endpoint's Lock is not a client's"
    finally:
        await safe_disconnect(c)
