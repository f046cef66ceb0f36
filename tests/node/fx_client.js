"use strict";
// node-opcua as a generic client of fxgate's OPC UA FX model (default configuration): reads the
// FX structures (FxVersion, AggregatedHealthDataType), which node-opcua decodes from the
// server's DataTypeDefinitions, builds a NodeIdValuePair the same way for Verify, and calls
// VerifyAsset with KeyValuePairs. Prints one JSON result line.
// usage: node fx_client.js --url opc.tcp://127.0.0.1:PORT/ --pki DIR
const {
    AttributeIds, DataType, VariantArrayType,
    coerceNodeId,
} = require("node-opcua");
const { log, finish, fail, watchdog, secureClient, parseArgs } = require("./common");

async function main() {
    const args = parseArgs(process.argv.slice(2));
    watchdog(90);
    const client = await secureClient(args.pki);
    await client.connect(args.url);
    const session = await client.createSession();
    const namespaces = await session.readNamespaceArray();
    const idx = (uri) => {
        const i = namespaces.indexOf(uri);
        if (i < 0) throw new Error(`namespace ${uri} missing: ${JSON.stringify(namespaces)}`);
        return i;
    };
    const fx = idx("urn:fxgate:fx"), data = idx("http://opcfoundation.org/UA/FX/Data/");
    const di = idx("http://opcfoundation.org/UA/DI/"), ac = idx("http://opcfoundation.org/UA/FX/AC/");
    const node = (path) => coerceNodeId(`ns=${fx};s=${path}`);
    const fe = "DemoController/FunctionalEntities/Control";

    const version = (await session.read({ nodeId: node(`${fe}/AuthorAssignedVersion`), attributeId: AttributeIds.Value })).value.value;
    const health = (await session.read({ nodeId: node("DemoController/AggregatedHealth"), attributeId: AttributeIds.Value })).value.value;
    log("version", JSON.stringify(version), "health", JSON.stringify(health));

    const pair = await session.constructExtensionObject(coerceNodeId(`ns=${data};i=1028`), {
        key: { node: node(`${fe}/AuthorUri`), arrayIndex: [] },
        value: { dataType: DataType.String, value: "urn:fxgate" },
    });
    const verify = await session.call({
        objectId: node(fe),
        methodId: node(`${fe}/Verify`),
        inputArguments: [{ dataType: DataType.ExtensionObject, arrayType: VariantArrayType.Array, value: [pair] }],
    });
    const kv = (ns, name, dataType, value) => session.constructExtensionObject(coerceNodeId("i=14533"), {
        key: { namespaceIndex: ns, name }, value: { dataType, value },
    });
    const asset = "DemoController/Assets/DemoDevice";
    const verifyAsset = await session.call({
        objectId: node(asset),
        methodId: node(`${asset}/VerifyAsset`),
        inputArguments: [
            { dataType: DataType.Int32, value: 0 },
            {
                dataType: DataType.ExtensionObject, arrayType: VariantArrayType.Array, value: [
                    await kv(di, "ManufacturerUri", DataType.String, "urn:fxgate"),
                    await kv(di, "ProductCode", DataType.String, "FXSIM-1"),
                    await kv(ac, "MajorAssetVersion", DataType.UInt16, 1),
                    await kv(ac, "MinorAssetVersion", DataType.UInt16, 0),
                ],
            },
            { dataType: DataType.ExtensionObject, arrayType: VariantArrayType.Array, value: [] },
        ],
    });
    await session.close();
    await client.disconnect();
    finish({
        ok: true,
        version: version ? { major: version.major, minor: version.minor, build: version.build, subBuild: version.subBuild } : null,
        versionType: version && version.constructor ? version.constructor.name : null,
        health: health ? { device: health.aggregatedDeviceHealth, operational: health.aggregatedOperationalHealth } : null,
        verify: { status: verify.statusCode.name, result: verify.outputArguments.map((a) => a.value) },
        verifyAsset: {
            status: verifyAsset.statusCode.name,
            result: verifyAsset.outputArguments.length ? verifyAsset.outputArguments[0].value : null,
        },
    });
}

main().catch(fail);
