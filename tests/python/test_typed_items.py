"""DA-style typed items (OPC 10000-8 A.3.1): tags with metadata in the config appear as
AnalogItemType / TwoStateDiscreteType / MultiStateDiscreteType / DataItemType with their
standard properties, read by an independent client (asyncua); percent deadband works."""

from __future__ import annotations

import asyncio

import pytest
from asyncua import ua

from fxgate_testlib import PLANT_SIMULATOR as PLANT
from fxgate_testlib import connect, demo_simulator, safe_disconnect, tag_node



@pytest.fixture(scope="module")
def typed_gateway(tmp_path_factory):
    from fxgate_testlib import GatewayFactory

    factory = GatewayFactory(tmp_path_factory.mktemp("typed"))
    gw = factory.start({"simulator": [demo_simulator(), PLANT]})
    yield gw
    factory.stop_all()


async def type_name(client, node) -> str:
    td = await node.read_type_definition()
    return (await client.get_node(td).read_browse_name()).Name


async def prop(node, name: str):
    return await (await node.get_child(f"0:{name}")).read_value()


def test_typed_items_and_properties(typed_gateway, client_cert):
    async def main():
        client = await connect(typed_gateway, client_cert)
        try:
            temp = await tag_node(client, "Temp", source="Plant")
            assert await type_name(client, temp) == "AnalogItemType"
            eu = await prop(temp, "EURange")
            assert (eu.Low, eu.High) == (0.0, 100.0)
            ir = await prop(temp, "InstrumentRange")
            assert (ir.Low, ir.High) == (-50.0, 150.0)
            units = await prop(temp, "EngineeringUnits")
            assert units.DisplayName.Text == "°C"
            assert units.NamespaceUri == "http://www.opcfoundation.org/UA/units/un/cefact"
            assert (await temp.read_description()).Text == "Reactor temperature"

            pump = await tag_node(client, "Pump", source="Plant")
            assert await type_name(client, pump) == "TwoStateDiscreteType"
            assert (await prop(pump, "TrueState")).Text == "Running"
            assert (await prop(pump, "FalseState")).Text == "Stopped"

            mode = await tag_node(client, "Mode", source="Plant")
            assert await type_name(client, mode) == "MultiStateDiscreteType"
            assert [t.Text for t in await prop(mode, "EnumStrings")] == ["Stop", "Run", "Fault"]

            flow = await tag_node(client, "Flow", source="Plant")
            assert await type_name(client, flow) == "BaseAnalogType"
            assert (await prop(flow, "EngineeringUnits")).DisplayName.Text == "m³/h"

            note = await tag_node(client, "Note", source="Plant")
            assert await type_name(client, note) == "DataItemType"
            msi = await note.read_attribute(ua.AttributeIds.MinimumSamplingInterval)
            assert msi.Value.Value == 500.0

            plain = await tag_node(client, "Plain", source="Plant")
            assert await type_name(client, plain) == "BaseDataVariableType"

            # properties are read-only
            with pytest.raises(ua.UaStatusCodeError):
                await (await temp.get_child("0:EURange")).write_value(
                    ua.DataValue(ua.Variant(ua.Range(1.0, 2.0)))
                )
        finally:
            await safe_disconnect(client)

    asyncio.run(main())


def test_percent_deadband_on_analog_item(typed_gateway, client_cert):
    """Temp moves 40..60 (sine, amplitude 10 around 50, period 2 s) on an EURange of 0..100:
    with a 50 % deadband (50 units) nothing passes after the initial value, with 5 % only
    steps above 5 units pass, without a filter every change does."""

    class Collect:
        def __init__(self):
            self.values = []

        def datachange_notification(self, node, val, data):
            self.values.append(val)

    async def main():
        client = await connect(typed_gateway, client_cert)
        try:
            temp = await tag_node(client, "Temp", source="Plant")
            loose, tight, fine = Collect(), Collect(), Collect()
            sub_loose = await client.create_subscription(100, loose)
            sub_tight = await client.create_subscription(100, tight)
            sub_fine = await client.create_subscription(100, fine)
            await sub_loose.subscribe_data_change(temp)
            handle = await sub_tight.deadband_monitor(temp, 50.0, deadbandtype=ua.DeadbandType.Percent)
            assert isinstance(handle, int), handle
            # 5 % of 0..100 = 5 units: only moves of more than 5 pass
            handle = await sub_fine.deadband_monitor(temp, 5.0, deadbandtype=ua.DeadbandType.Percent)
            assert isinstance(handle, int), handle
            await asyncio.sleep(3)
            assert len(loose.values) >= 10, loose.values
            assert 40.0 <= min(loose.values) and max(loose.values) <= 60.0
            assert len(tight.values) == 1, f"50 % deadband: only the initial value, got {tight.values}"
            assert 2 <= len(fine.values) < len(loose.values), (fine.values, len(loose.values))
            steps = [abs(b - a) for a, b in zip(fine.values, fine.values[1:])]
            assert all(step > 5.0 for step in steps), f"5 % deadband passed a smaller step: {steps}"
        finally:
            await safe_disconnect(client)

    asyncio.run(main())
