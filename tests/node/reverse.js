"use strict";
// Reverse connect (OPC UA Part 6 §7.1.3): this client LISTENS on --port, fxgate (configured with
// reverse_connect = ["opc.tcp://127.0.0.1:PORT"]) dials in and sends ReverseHello; the client then
// opens a Basic256Sha256/SignAndEncrypt channel over that socket, creates a session and reads.
// node-opcua's reverse-connect API: ClientReverseConnect (listener) + OPCUAClient#connectReverse.
// A secure reverse connection needs the server certificate up front (the client cannot dial the
// server to fetch it), so this script waits for --server-cert (fxgate's pki/own/cert.der).
// usage: node reverse.js --port P --server-cert FILE --pki DIR
// prints "LISTENING <port>" on stderr once the listener is up.
const fs = require("node:fs");
const { OPCUAClient, ClientReverseConnect, MessageSecurityMode, SecurityPolicy, AttributeIds } = require("node-opcua");
const { log, finish, fail, watchdog, certificateManager, sleep, parseArgs, variantSummary } = require("./common");

async function waitForFile(file, seconds) {
    const deadline = Date.now() + seconds * 1000;
    while (Date.now() < deadline) {
        try {
            const data = fs.readFileSync(file);
            if (data.length > 0) return data;
        } catch (_) { /* not there yet */ }
        await sleep(200);
    }
    throw new Error(`${file} did not appear within ${seconds} s`);
}

async function main() {
    const args = parseArgs(process.argv.slice(2));
    watchdog(80);
    const listenUrl = `opc.tcp://127.0.0.1:${args.port}`;
    const reverse = new ClientReverseConnect({ connectionUrl: listenUrl, matchTimeout: 60000 });
    await reverse.start();
    log(`LISTENING ${reverse.listeningPort}`);

    await waitForFile(args["server-cert"], 70);
    await sleep(200); // let the writer finish
    const serverCertificate = fs.readFileSync(args["server-cert"]);
    const client = OPCUAClient.create({
        applicationName: "fxgate-node-tests-reverse",
        applicationUri: "urn:fxgate-tests:node-reverse-client",
        securityMode: MessageSecurityMode.SignAndEncrypt,
        securityPolicy: SecurityPolicy.Basic256Sha256,
        serverCertificate,
        endpointMustExist: false,
        clientCertificateManager: await certificateManager(args.pki),
        connectionStrategy: { maxRetry: 3, initialDelay: 1000, maxDelay: 5000 },
    });
    log("waiting for the server to dial in");
    await client.connectReverse(reverse);
    log("secure channel over reverse connection established; endpointUrl =", client.endpointUrl);
    const session = await client.createSession();
    const namespaces = await session.readNamespaceArray();
    const ns = namespaces.indexOf("urn:fxgate:tags");
    if (ns < 0) throw new Error(`namespace urn:fxgate:tags missing: ${JSON.stringify(namespaces)}`);
    const counter = variantSummary(await session.read({ nodeId: `ns=${ns};s=Demo/Counter`, attributeId: AttributeIds.Value }));
    const sine = variantSummary(await session.read({ nodeId: `ns=${ns};s=Demo/Sine`, attributeId: AttributeIds.Value }));
    await session.close();
    await client.disconnect();
    await reverse.stop();
    finish({ ok: true, endpointUrl: client.endpointUrl, reads: { Counter: counter, Sine: sine } });
}

main().catch(fail);
