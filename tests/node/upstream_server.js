"use strict";
// An independent upstream OPC UA server (node-opcua) for the gateway's aggregation tests.
// usage: node upstream_server.js --port P [--pki DIR] [--parent-pid PID]
//
// Endpoint opc.tcp://127.0.0.1:P/ with None/None and Basic256Sha256/SignAndEncrypt; unknown
// client certificates are accepted automatically (certificate manager in --pki, default a new
// temporary directory); anonymous allowed. Namespace urn:fxgate-test:node (n below):
//   Objects/Machine   n;s=Machine          Object
//     Speed           n;s=Machine.Speed    Double 3.5, writable
//     Ticks           n;s=Machine.Ticks    UInt32, +1 every 100 ms
//     Multiply        n;s=Machine.Multiply (a Double, b Double) -> product Double
//     Level           n;s=Machine.Level    Double 50, writable: the input of LevelAlarm
//     LevelAlarm      n;s=Machine.LevelAlarm  ExclusiveLimitAlarmType condition of Machine
//                     (limits 10 / 25 / 75 / 90): writing Level above 75 makes it active and
//                     raises its event, which reaches the Server object (Machine is an event
//                     source of it). Its methods (Acknowledge, Confirm, AddComment) are
//                     node-opcua's own, callable by their standard NodeIds (e.g. i=9111).
// Prints "ready <port>" on stdout once listening; progress and errors go to stderr.
// Exits 0 on SIGTERM/SIGINT (shutdown bounded to 5 s) and when the --parent-pid process is gone.
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { OPCUAServer, MessageSecurityMode, SecurityPolicy, DataType, Variant, StatusCodes } = require("node-opcua");
const { log, fail, certificateManager, parseArgs } = require("./common");

const NS_URI = "urn:fxgate-test:node";
const APP_URI = "urn:fxgate-test:node-server";

async function main() {
    const args = parseArgs(process.argv.slice(2));
    const port = parseInt(args.port, 10);
    if (!Number.isInteger(port) || port <= 0) throw new Error("--port P is required");
    const pki = args.pki || fs.mkdtempSync(path.join(os.tmpdir(), "node-upstream-pki-"));

    const startWatchdog = setTimeout(() => fail(new Error("server not listening after 60 s")), 60000);
    const server = new OPCUAServer({
        port,
        host: "127.0.0.1",
        hostname: "127.0.0.1",
        alternateHostname: ["127.0.0.1", "localhost"],
        resourcePath: "/",
        securityModes: [MessageSecurityMode.None, MessageSecurityMode.SignAndEncrypt],
        securityPolicies: [SecurityPolicy.None, SecurityPolicy.Basic256Sha256],
        allowAnonymous: true,
        serverCertificateManager: await certificateManager(path.join(pki, "server")),
        userCertificateManager: await certificateManager(path.join(pki, "user")),
        serverInfo: {
            applicationUri: APP_URI,
            productUri: "urn:fxgate-test:node-upstream",
            applicationName: { text: "fxgate-test node upstream", locale: "en" },
        },
        buildInfo: { productName: "fxgate-test node upstream" },
    });
    await server.initialize();

    const addressSpace = server.engine.addressSpace;
    // binds the methods of the condition types (Acknowledge i=9111, AddComment, ...), so they
    // can be called by their standard NodeIds on a condition
    addressSpace.installAlarmsAndConditionsService();
    const ns = addressSpace.registerNamespace(NS_URI);
    const machine = ns.addObject({
        organizedBy: addressSpace.rootFolder.objects,
        nodeId: "s=Machine",
        browseName: "Machine",
        eventSourceOf: addressSpace.rootFolder.objects.server,
    });
    ns.addVariable({
        componentOf: machine,
        nodeId: "s=Machine.Speed",
        browseName: "Speed",
        dataType: "Double",
        accessLevel: "CurrentRead | CurrentWrite",
        userAccessLevel: "CurrentRead | CurrentWrite",
        value: new Variant({ dataType: DataType.Double, value: 3.5 }),
    });
    const ticks = ns.addVariable({
        componentOf: machine,
        nodeId: "s=Machine.Ticks",
        browseName: "Ticks",
        dataType: "UInt32",
        accessLevel: "CurrentRead",
        userAccessLevel: "CurrentRead",
        value: new Variant({ dataType: DataType.UInt32, value: 0 }),
    });
    let n = 0;
    const timer = setInterval(() => {
        n = (n + 1) >>> 0;
        ticks.setValueFromSource(new Variant({ dataType: DataType.UInt32, value: n }));
    }, 100);

    const multiply = ns.addMethod(machine, {
        nodeId: "s=Machine.Multiply",
        browseName: "Multiply",
        inputArguments: [
            { name: "a", description: { text: "a" }, dataType: DataType.Double },
            { name: "b", description: { text: "b" }, dataType: DataType.Double },
        ],
        outputArguments: [{ name: "product", description: { text: "a * b" }, dataType: DataType.Double }],
    });
    // exactly two parameters: node-opcua wraps a 2-argument async function with callbackify
    // eslint-disable-next-line no-unused-vars
    multiply.bindMethod(async (inputArguments, context) => {
        const [a, b] = inputArguments.map((v) => v.value);
        return {
            statusCode: StatusCodes.Good,
            outputArguments: [{ dataType: DataType.Double, value: a * b }],
        };
    });

    const level = ns.addVariable({
        componentOf: machine,
        nodeId: "s=Machine.Level",
        browseName: "Level",
        dataType: "Double",
        accessLevel: "CurrentRead | CurrentWrite",
        userAccessLevel: "CurrentRead | CurrentWrite",
        value: new Variant({ dataType: DataType.Double, value: 50 }),
    });
    ns.instantiateExclusiveLimitAlarm("ExclusiveLimitAlarmType", {
        componentOf: machine,
        nodeId: "s=Machine.LevelAlarm",
        browseName: "LevelAlarm",
        conditionSource: machine,
        inputNode: level,
        lowLowLimit: 10,
        lowLimit: 25,
        highLimit: 75,
        highHighLimit: 90,
    });

    await server.start();
    clearTimeout(startWatchdog);
    log(`listening on ${server.getEndpointUrl()} (pki ${pki})`);
    process.stdout.write(`ready ${port}\n`);

    let stopping = false;
    const stop = async () => {
        if (stopping) return;
        stopping = true;
        clearInterval(timer);
        const force = setTimeout(() => process.exit(0), 5000);
        force.unref();
        try {
            await server.shutdown(0);
        } catch (e) {
            log("shutdown:", e && e.message);
        }
        process.exit(0);
    };
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
    if (args["parent-pid"]) {
        const parent = parseInt(args["parent-pid"], 10);
        setInterval(() => {
            try {
                process.kill(parent, 0);
            } catch (e) {
                if (e.code === "ESRCH") {
                    log(`parent ${parent} is gone; stopping`);
                    stop();
                }
            }
        }, 1000).unref();
    }
}

main().catch(fail);
