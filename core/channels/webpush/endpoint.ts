/**
 * Where Web Push may send: https push services on public hosts only. With `allowLocal` (the local
 * stack and the tests) http/https on 127.0.0.1 and localhost are allowed too, for the simulator.
 * Returns the reason the endpoint is refused, or null. Used for sending and for device registration.
 */
export function checkWebPushEndpoint(endpoint: string, allowLocal: boolean, allowedHosts?: readonly string[]): string | null {
	let url: URL;
	try {
		url = new URL(endpoint);
	} catch {
		return "endpoint is not a URL";
	}
	if (url.username || url.password) return "endpoint must not carry credentials";
	const host = url.hostname.toLowerCase().replace(/\.$/, "");
	const loopbackName = host === "localhost" || host === "127.0.0.1" || host === "[::1]";
	if (allowLocal && loopbackName && (url.protocol === "http:" || url.protocol === "https:")) return null;
	if (url.protocol !== "https:") return "endpoint must be https";
	if (isPrivateHost(host)) return "endpoint must not be a private, loopback or link-local address";
	if (allowedHosts && !allowedHosts.some((h) => host === h || host.endsWith(`.${h}`))) {
		return "endpoint is not a known Web Push service (WEBPUSH_ALLOWED_HOSTS)";
	}
	return null;
}

const LOCAL_SUFFIXES = [".localhost", ".local", ".internal", ".home.arpa", ".lan", ".intranet"];

function isPrivateHost(host: string): boolean {
	if (host === "localhost" || LOCAL_SUFFIXES.some((s) => host.endsWith(s))) return true;
	if (host.startsWith("[")) return isPrivateIpv6(host.slice(1, -1));
	const v4 = parseIpv4(host);
	if (v4) return isPrivateIpv4(v4);
	// A single label ("printer") only resolves on a local network.
	return !host.includes(".");
}

function parseIpv4(host: string): number[] | undefined {
	const parts = host.split(".");
	if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p))) return undefined;
	const nums = parts.map(Number);
	return nums.every((n) => n <= 255) ? nums : undefined;
}

function isPrivateIpv4([a, b]: number[]): boolean {
	if (a === undefined || b === undefined) return true;
	return (
		a === 0 || // this network
		a === 10 ||
		a === 127 ||
		(a === 100 && b >= 64 && b <= 127) || // carrier-grade NAT
		(a === 169 && b === 254) || // link-local
		(a === 172 && b >= 16 && b <= 31) ||
		(a === 192 && b === 168) ||
		(a === 192 && b === 0) || // IETF protocol assignments
		(a === 198 && (b === 18 || b === 19)) || // benchmarking
		a >= 224 // multicast and reserved
	);
}

function isPrivateIpv6(addr: string): boolean {
	const a = addr.toLowerCase();
	if (a === "::" || a === "::1") return true;
	// IPv4-mapped (::ffff:a.b.c.d, which URL normalizes to ::ffff:xxxx:xxxx) and other embeddings: refuse.
	if (a.startsWith("::ffff:") || a.startsWith("::")) return true;
	const groups = a.split(":");
	const first = Number.parseInt(groups[0] || "0", 16);
	const second = Number.parseInt(groups[1] || "0", 16);
	return (
		(first & 0xfe00) === 0xfc00 || // unique local fc00::/7
		(first & 0xffc0) === 0xfe80 || // link-local fe80::/10
		(first & 0xffc0) === 0xfec0 || // site-local fec0::/10 (deprecated, still routed inside some networks)
		(first === 0x2001 && second === 0) || // Teredo 2001::/32 embeds an IPv4 address
		(first === 0x2001 && second === 0x0db8) || // documentation 2001:db8::/32
		(first & 0xff00) === 0xff00 || // multicast
		first === 0x64 || // NAT64 64:ff9b::/96
		first === 0x2002 // 6to4 can embed private IPv4
	);
}
