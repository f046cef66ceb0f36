"use strict";
// A node-opcua Local Discovery Server for fxgate's register_with_lds. It trusts every
// application certificate (automaticallyAcceptUnknownCertificate) but, as the spec requires,
// accepts RegisterServer only over a secure channel (allowUnsecuredRegistration = false).
// usage: node lds.js --port P --pki DIR
// stderr: "READY <endpointUrl>" once listening. stdout: one JSON line per registration event.
// Runs until SIGTERM/SIGINT.
const { OPCUADiscoveryServer } = require("node-opcua-server-discovery");
const { log, fail, certificateManager, parseArgs } = require("./common");

async function main() {
    const args = parseArgs(process.argv.slice(2));
    const server = new OPCUADiscoveryServer({
        port: parseInt(args.port, 10),
        hostname: "127.0.0.1",
        serverCertificateManager: await certificateManager(args.pki),
        allowUnsecuredRegistration: false,
    });
    const emit = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");
    server.on("onRegisterServer", (s, firstTime) =>
        emit({ event: "register", firstTime, serverUri: s.serverUri, discoveryUrls: s.discoveryUrls, isOnline: s.isOnline }));
    server.on("onUnregisterServer", (s, forced) => emit({ event: "unregister", forced, serverUri: s.serverUri }));
    server.on("onRegistrationRefused", (s, info) =>
        emit({ event: "refused", serverUri: s && s.serverUri, status: info.statusCode.toString(),
               securityMode: info.securityMode, certificateApplicationUris: info.certificateApplicationUris }));
    // Log every raw RegisterServer/RegisterServer2 request (before any check) so a failing test
    // shows what the registrant actually sent (e.g. isOnline = false is an *un*registration).
    for (const method of ["_on_RegisterServerRequest", "_on_RegisterServer2Request"]) {
        const original = server[method].bind(server);
        server[method] = (message, channel) => {
            const s = message.request.server || {};
            emit({ event: "request", service: method.replace(/^_on_|Request$/g, ""), serverUri: s.serverUri,
                   isOnline: s.isOnline, serverType: s.serverType, discoveryUrls: s.discoveryUrls,
                   securityMode: channel.securityMode, securityPolicy: channel.securityPolicy });
            return original(message, channel);
        };
    }
    await server.start();
    log(`READY ${server.getEndpointUrl()}`);
    let stopping = false;
    const stop = async () => {
        if (stopping) return;
        stopping = true;
        try { await server.shutdown(); } catch (e) { log("shutdown:", e.message); }
        process.exit(0);
    };
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
}

main().catch(fail);
