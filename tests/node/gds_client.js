"use strict";
// node-opcua as a GDS-push client of fxgate (OPC 10000-12 §7.10), with node-opcua's own
// TrustListDataType encoder and decoder: a user with the security_admin role on
// Basic256Sha256 / SignAndEncrypt
//   1. reads the TrustList (Open(1), Read in 1 kB pieces, Close) and decodes it;
//   2. writes it back with the CA of --ca and its CRL (--crl) added (Open(6), Write,
//      CloseAndUpdate) and reads it again;
//   3. asks for a CreateSigningRequest for the current key.
// usage: node gds_client.js --url URL --pki DIR --user NAME --password PW --ca FILE --crl FILE
const fs = require("node:fs");
const crypto = require("node:crypto");
const { DataType, NodeId, UserTokenType } = require("node-opcua");
const { TrustListDataType } = require("node-opcua-types");
const { BinaryStream } = require("node-opcua-binary-stream");
const { log, finish, fail, watchdog, secureClient, parseArgs } = require("./common");

const TRUST_LIST = "ns=0;i=12642";
const SERVER_CONFIGURATION = "ns=0;i=12637";
const M = { open: 12647, close: 12650, read: 12652, write: 12655, closeAndUpdate: 12666, csr: 12737 };

function thumbprint(der) {
    return crypto.createHash("sha1").update(der).digest("hex");
}

async function call(session, objectId, method, inputArguments) {
    const r = await session.call({ objectId, methodId: `ns=0;i=${method}`, inputArguments });
    if (r.statusCode.name !== "Good") throw new Error(`method i=${method}: ${r.statusCode.name}`);
    return r.outputArguments.map((v) => v.value);
}

async function readTrustList(session) {
    const [handle] = await call(session, TRUST_LIST, M.open, [{ dataType: DataType.Byte, value: 1 }]);
    const parts = [];
    for (;;) {
        const [data] = await call(session, TRUST_LIST, M.read, [
            { dataType: DataType.UInt32, value: handle },
            { dataType: DataType.Int32, value: 1024 },
        ]);
        if (!data || data.length === 0) break;
        parts.push(data);
    }
    await call(session, TRUST_LIST, M.close, [{ dataType: DataType.UInt32, value: handle }]);
    const bytes = Buffer.concat(parts);
    const list = new TrustListDataType();
    list.decode(new BinaryStream(bytes));
    return { bytes: bytes.length, list };
}

function summary(list) {
    return {
        specifiedLists: list.specifiedLists,
        trustedCertificates: (list.trustedCertificates || []).map(thumbprint),
        trustedCrls: (list.trustedCrls || []).map(thumbprint),
        issuerCertificates: (list.issuerCertificates || []).map(thumbprint),
        issuerCrls: (list.issuerCrls || []).map(thumbprint),
    };
}

async function main() {
    const args = parseArgs(process.argv.slice(2));
    watchdog(90);
    const client = await secureClient(args.pki);
    await client.connect(args.url);
    const session = await client.createSession({ type: UserTokenType.UserName, userName: args.user, password: args.password });
    log("session created as", args.user);

    const before = await readTrustList(session);
    log("trust list read:", before.bytes, "bytes");

    const ca = fs.readFileSync(args.ca);
    const crl = fs.readFileSync(args.crl);
    const updated = new TrustListDataType({
        specifiedLists: 15,
        trustedCertificates: [...(before.list.trustedCertificates || []), ca],
        trustedCrls: [...(before.list.trustedCrls || []), crl],
        issuerCertificates: before.list.issuerCertificates || [],
        issuerCrls: before.list.issuerCrls || [],
    });
    const stream = new BinaryStream(updated.binaryStoreSize());
    updated.encode(stream);
    const [handle] = await call(session, TRUST_LIST, M.open, [{ dataType: DataType.Byte, value: 6 }]);
    for (let i = 0; i < stream.buffer.length; i += 1024) {
        await call(session, TRUST_LIST, M.write, [
            { dataType: DataType.UInt32, value: handle },
            { dataType: DataType.ByteString, value: stream.buffer.subarray(i, i + 1024) },
        ]);
    }
    const [applyChangesRequired] = await call(session, TRUST_LIST, M.closeAndUpdate, [{ dataType: DataType.UInt32, value: handle }]);
    const after = await readTrustList(session);

    const [request] = await call(session, SERVER_CONFIGURATION, M.csr, [
        { dataType: DataType.NodeId, value: NodeId.nullNodeId },
        { dataType: DataType.NodeId, value: NodeId.nullNodeId },
        { dataType: DataType.String, value: "" },
        { dataType: DataType.Boolean, value: false },
        { dataType: DataType.ByteString, value: Buffer.alloc(0) },
    ]);

    await session.close();
    await client.disconnect();
    finish({
        ok: true,
        before: summary(before.list),
        applyChangesRequired,
        after: summary(after.list),
        csr: request.toString("base64"),
    });
}

main().catch(fail);
