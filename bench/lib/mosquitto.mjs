/** Baseline 2: a private Mosquitto broker on a free loopback port, QoS 1, in memory. */
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { createServer, connect as netConnect } from "node:net";
import { join } from "node:path";

export function findMosquitto() {
	for (const dir of [...(process.env.PATH ?? "").split(":"), "/usr/sbin", "/usr/local/sbin", "/opt/homebrew/sbin"]) {
		const p = join(dir, "mosquitto");
		if (dir && existsSync(p)) return p;
	}
	return undefined;
}

export function mosquittoVersion(bin) {
	try {
		return execFileSync(bin, ["-h"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] })
			.split("\n")[0]
			.trim();
	} catch (err) {
		// `mosquitto -h` exits non-zero after printing its usage.
		return (
			String(err.stdout ?? "")
				.split("\n")[0]
				.trim() || "mosquitto (version unknown)"
		);
	}
}

function freePort() {
	return new Promise((resolve, reject) => {
		const s = createServer();
		s.once("error", reject);
		s.listen(0, "127.0.0.1", () => {
			const { port } = s.address();
			s.close(() => resolve(port));
		});
	});
}

async function waitForPort(port, timeoutMs) {
	const deadline = Date.now() + timeoutMs;
	while (Date.now() < deadline) {
		const ok = await new Promise((resolve) => {
			const c = netConnect(port, "127.0.0.1");
			c.once("connect", () => {
				c.destroy();
				resolve(true);
			});
			c.once("error", () => resolve(false));
		});
		if (ok) return;
		await new Promise((r) => setTimeout(r, 50));
	}
	throw new Error(`mosquitto did not listen on ${port} within ${timeoutMs} ms`);
}

export async function startMosquitto(bin, tmp) {
	const port = await freePort();
	mkdirSync(tmp, { recursive: true });
	const conf = join(tmp, "mosquitto.conf");
	writeFileSync(
		conf,
		[
			`listener ${port} 127.0.0.1`,
			"allow_anonymous true",
			// In memory, like the ws baseline (Mosquitto's own persistence is a periodic snapshot, not per message).
			"persistence false",
			// Room for every message a dropped QoS 1 session misses during the reconnect storm.
			"max_queued_messages 100000",
			"max_inflight_messages 100",
			"set_tcp_nodelay true",
			"log_type error",
			"log_dest stderr",
			"",
		].join("\n"),
	);
	const proc = spawn(bin, ["-c", conf], { stdio: ["ignore", "ignore", "pipe"] });
	// The broker is not our child in Node's sense of lifetime: take it down with this process.
	const reap = () => proc.kill("SIGTERM");
	process.once("exit", reap);
	let stderr = "";
	proc.stderr.on("data", (d) => {
		stderr += d;
	});
	await waitForPort(port, 5000);
	return {
		url: `mqtt://127.0.0.1:${port}`,
		pid: proc.pid,
		stderr: () => stderr,
		async stop() {
			process.off("exit", reap);
			proc.kill("SIGTERM");
			await new Promise((r) => proc.once("exit", r));
		},
	};
}
