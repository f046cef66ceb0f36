"use strict";
// node-opcua client against fxgate: Basic256Sha256 / SignAndEncrypt with its own generated
// certificate (fxgate's default accept_all_certificates = true), anonymous user.
// Reads Demo/Sine twice (1.6 s apart), then subscribes and collects >= 3 data changes.
// usage: node client.js --url opc.tcp://127.0.0.1:PORT/ --pki DIR
const {
    MessageSecurityMode, AttributeIds, TimestampsToReturn,
    ClientSubscription, ClientMonitoredItem,
} = require("node-opcua");
const { log, finish, fail, watchdog, secureClient, sleep, parseArgs, variantSummary } = require("./common");

async function main() {
    const args = parseArgs(process.argv.slice(2));
    watchdog(90);
    const client = await secureClient(args.pki);
    log("connecting to", args.url);
    await client.connect(args.url);
    const session = await client.createSession();
    log("session created");
    const namespaces = await session.readNamespaceArray();
    const ns = namespaces.indexOf("urn:fxgate:tags");
    if (ns < 0) throw new Error(`namespace urn:fxgate:tags missing: ${JSON.stringify(namespaces)}`);
    const nodeId = `ns=${ns};s=Demo/Sine`;

    // Two reads 1.6 s apart; a sine can take the same value twice (symmetric around a peak), so a
    // third read is taken in that case and the Python side accepts a change in either step.
    const reads = [variantSummary(await session.read({ nodeId, attributeId: AttributeIds.Value }))];
    await sleep(1600);
    reads.push(variantSummary(await session.read({ nodeId, attributeId: AttributeIds.Value })));
    if (reads[0].value === reads[1].value) {
        await sleep(1600);
        reads.push(variantSummary(await session.read({ nodeId, attributeId: AttributeIds.Value })));
    }
    log("reads", JSON.stringify(reads));

    const subscription = ClientSubscription.create(session, {
        requestedPublishingInterval: 100,
        requestedLifetimeCount: 600,
        requestedMaxKeepAliveCount: 20,
        maxNotificationsPerPublish: 100,
        publishingEnabled: true,
        priority: 1,
    });
    const changes = [];
    const enough = new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`only ${changes.length} notifications in 20 s`)), 20000);
        const item = ClientMonitoredItem.create(
            subscription,
            { nodeId, attributeId: AttributeIds.Value },
            { samplingInterval: 100, discardOldest: true, queueSize: 10 },
            TimestampsToReturn.Both
        );
        item.on("changed", (dv) => {
            changes.push(dv.value.value);
            if (changes.length >= 4) {
                clearTimeout(t);
                resolve();
            }
        });
        item.on("err", (msg) => reject(new Error(`monitored item error: ${msg}`)));
    });
    await enough;
    await subscription.terminate();
    await session.close();
    await client.disconnect();
    finish({
        ok: true,
        namespaceIndex: ns,
        securityPolicy: client.securityPolicy,
        securityMode: MessageSecurityMode[client.securityMode],
        reads,
        changes,
    });
}

main().catch(fail);
