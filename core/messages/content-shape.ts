import type { z } from "../zod.js";

const MEDIA_TYPES = ["image", "video", "audio", "file"];

/**
 * What every message content needs beyond its field types, whether given inline or by a template:
 * a text has a title or a body, a media message has media, a custom message has data.
 */
export function checkContentShape(
	c: { type: string; title?: unknown; body?: unknown; media?: unknown; data?: unknown },
	ctx: z.RefinementCtx,
): void {
	if (c.type === "text" && c.title === undefined && c.body === undefined) {
		ctx.addIssue({ code: "custom", path: ["body"], message: "a text message needs a title or a body" });
	}
	if (MEDIA_TYPES.includes(c.type) && !c.media) {
		ctx.addIssue({ code: "custom", path: ["media"], message: `a ${c.type} message needs media` });
	}
	if (c.type === "custom" && c.data === undefined) {
		ctx.addIssue({ code: "custom", path: ["data"], message: "a custom message needs data" });
	}
}
