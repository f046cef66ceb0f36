"use strict";
// Shared helpers for the node-opcua interop scripts. Every script prints exactly one JSON
// document on stdout as its last line ({"ok": true, ...} or {"ok": false, "error": "..."});
// progress goes to stderr. The Python side (tests/python/test_node_interop.py) parses it.
const fs = require("node:fs");
const path = require("node:path");
const { OPCUACertificateManager } = require("node-opcua");

function log(...args) {
    process.stderr.write(`[${new Date().toISOString()}] ${args.join(" ")}\n`);
}

function finish(result) {
    process.stdout.write(JSON.stringify(result) + "\n");
    // node-opcua keeps timers alive; exit explicitly once stdout is flushed.
    process.stdout.write("", () => process.exit(result.ok ? 0 : 1));
}

function fail(err) {
    log("FAILED:", err && err.stack ? err.stack : String(err));
    finish({ ok: false, error: err && err.message ? err.message : String(err) });
}

function watchdog(seconds) {
    const t = setTimeout(() => fail(new Error(`watchdog: no result after ${seconds} s`)), seconds * 1000);
    t.unref();
}

async function certificateManager(rootFolder) {
    fs.mkdirSync(rootFolder, { recursive: true });
    const cm = new OPCUACertificateManager({
        rootFolder: path.resolve(rootFolder),
        automaticallyAcceptUnknownCertificate: true,
    });
    await cm.initialize();
    return cm;
}

function sleep(ms) {
    return new Promise((resolve) => setTimeout(resolve, ms));
}

// args: --key value pairs
function parseArgs(argv) {
    const out = {};
    for (let i = 0; i < argv.length; i += 2) {
        if (!argv[i].startsWith("--")) throw new Error(`bad argument ${argv[i]}`);
        out[argv[i].slice(2)] = argv[i + 1];
    }
    return out;
}

function variantSummary(dataValue) {
    const { DataType } = require("node-opcua");
    return {
        status: dataValue.statusCode.name,
        dataType: DataType[dataValue.value.dataType],
        value: dataValue.value.value,
        sourceTimestamp: dataValue.sourceTimestamp ? dataValue.sourceTimestamp.toISOString() : null,
    };
}

process.on("unhandledRejection", (err) => fail(err));

/// A node-opcua client for Basic256Sha256 / SignAndEncrypt with its own certificate in `pki`.
async function secureClient(pki) {
    const { OPCUAClient, MessageSecurityMode, SecurityPolicy } = require("node-opcua");
    return OPCUAClient.create({
        applicationName: "fxgate-node-tests",
        applicationUri: "urn:fxgate-tests:node-client",
        securityMode: MessageSecurityMode.SignAndEncrypt,
        securityPolicy: SecurityPolicy.Basic256Sha256,
        endpointMustExist: false,
        clientCertificateManager: await certificateManager(pki),
        connectionStrategy: { maxRetry: 1, initialDelay: 500, maxDelay: 2000 },
        requestedSessionTimeout: 60000,
    });
}

module.exports = { log, finish, fail, watchdog, certificateManager, secureClient, sleep, parseArgs, variantSummary };
