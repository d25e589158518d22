/**
 * CLI: `node sim/main.ts [--port 9090] [--host 127.0.0.1] [--apns-token-refresh enforce|record]`.
 * Prints the URL and the env vars that point Warbler at it; stops on SIGINT/SIGTERM.
 */
import { parseArgs } from "node:util";
import { simulatorEnv, startSimulator } from "./server.ts";

const { values } = parseArgs({
	options: {
		port: { type: "string", default: process.env.SIM_PORT ?? "9090" },
		host: { type: "string", default: "127.0.0.1" },
		"apns-token-refresh": { type: "string", default: "enforce" },
		"bundle-id": { type: "string" },
		json: { type: "boolean", default: false },
	},
});

const refresh = values["apns-token-refresh"];
if (refresh !== "enforce" && refresh !== "record") {
	console.error("--apns-token-refresh must be enforce or record");
	process.exit(2);
}
const sim = await startSimulator({
	port: Number(values.port),
	host: values.host,
	apnsTokenRefresh: refresh,
	...(values["bundle-id"] ? { bundleId: values["bundle-id"] } : {}),
});

if (values.json) {
	console.log(JSON.stringify({ url: sim.url, port: sim.port, env: simulatorEnv(sim.url) }));
} else {
	console.log(`vendor simulator listening on ${sim.url}`);
	for (const [k, v] of Object.entries(simulatorEnv(sim.url))) console.log(`  ${k}=${v}`);
	console.log(`  credentials: GET ${sim.url}/__sim/credentials · deliveries: GET ${sim.url}/__sim/deliveries`);
}

const stop = () => {
	void sim.close().then(() => process.exit(0));
};
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
