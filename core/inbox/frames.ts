import type { ClientFrame } from "../../protocol/frames.js";

const MAX_FRAME_BYTES = 4096;
const MAX_SEQ = Number.MAX_SAFE_INTEGER;

export type ParsedFrame = { ok: true; frame: ClientFrame } | { ok: false; error: string };

const isSeq = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= MAX_SEQ;

/** Validates one client frame. Hand-written: it runs for every frame and must stay cheap. */
export function parseClientFrame(raw: string | ArrayBuffer): ParsedFrame {
	if (typeof raw !== "string") return { ok: false, error: "Frames are JSON text, not binary." };
	if (raw.length > MAX_FRAME_BYTES) return { ok: false, error: `Frames are at most ${MAX_FRAME_BYTES} bytes.` };
	let value: unknown;
	try {
		value = JSON.parse(raw);
	} catch {
		return { ok: false, error: "The frame is not valid JSON." };
	}
	if (typeof value !== "object" || value === null || Array.isArray(value)) {
		return { ok: false, error: "A frame is one JSON object." };
	}
	const f = value as Record<string, unknown>;
	switch (f.type) {
		case "hello":
			return isSeq(f.last_seq)
				? { ok: true, frame: { type: "hello", last_seq: f.last_seq } }
				: { ok: false, error: "hello needs last_seq, a non-negative integer." };
		case "ack":
			return isSeq(f.seq)
				? { ok: true, frame: { type: "ack", seq: f.seq } }
				: { ok: false, error: "ack needs seq, a non-negative integer." };
		case "event":
			if (typeof f.id !== "string" || f.id.length === 0 || f.id.length > 128)
				return { ok: false, error: "event needs id, a message id." };
			if (f.name !== "opened" && f.name !== "clicked") return { ok: false, error: "event name is opened or clicked." };
			return { ok: true, frame: { type: "event", id: f.id, name: f.name } };
		case "ping":
			return { ok: true, frame: { type: "ping" } };
		default:
			return { ok: false, error: "Unknown frame type; expected hello, ack, event or ping." };
	}
}
