"""Latency sampler of run_pubsub.sh: reads every reader tag of the subscribing fxgate over OPC UA
again and again for SECONDS and, for each value not seen before (a new SourceTimestamp), takes
ServerTimestamp - SourceTimestamp: from the publisher's tag-store write (the source timestamp a
DataValue field carries) to the subscriber's tag-store update (the store's server timestamp).
Both stamps come from this host's clock. Prints one JSON object.

usage: pubsub_latency.py URL CONNECTIONS FIELDS SECONDS"""

import asyncio
import json
import sys
import time

from asyncua import Client, ua


async def main(url: str, connections: int, fields: int, seconds: float) -> dict:
    client = Client(url, timeout=30)
    await client.connect()
    try:
        ns = await client.get_namespace_index("urn:fxgate:tags")
        nodes = [ua.NodeId(f"In{i}/F{k}", ns) for i in range(connections) for k in range(fields)]
        seen: dict[int, object] = {}
        lat_us: list[int] = []
        bad = 0
        reads = 0
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            for start in range(0, len(nodes), 1000):
                params = ua.ReadParameters()
                params.TimestampsToReturn = ua.TimestampsToReturn.Both
                params.NodesToRead = [ua.ReadValueId(NodeId=n, AttributeId=ua.AttributeIds.Value) for n in nodes[start:start + 1000]]
                dvs = await client.uaclient.read(params)
                for j, dv in enumerate(dvs):
                    reads += 1
                    if not dv.StatusCode.is_good():
                        bad += 1
                        continue
                    k = start + j
                    if seen.get(k) == dv.SourceTimestamp:
                        continue
                    seen[k] = dv.SourceTimestamp
                    lat_us.append(int((dv.ServerTimestamp - dv.SourceTimestamp).total_seconds() * 1e6))
            await asyncio.sleep(0.02)
    finally:
        await client.disconnect()
    lat_us.sort()

    def pct(p):
        return round(lat_us[min(len(lat_us) - 1, int(round((len(lat_us) - 1) * p)))] / 1000, 3) if lat_us else None

    return {"samples": len(lat_us), "reads": reads, "bad": bad,
            "latency_ms": {"p50": pct(0.5), "p99": pct(0.99), "max": pct(1.0)}}


if __name__ == "__main__":
    url, conns, fields, secs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    print(json.dumps(asyncio.run(main(url, conns, fields, secs))))
