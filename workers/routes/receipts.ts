import { createRoute, z } from "@hono/zod-openapi";
import { and, eq, inArray } from "drizzle-orm";
import { db } from "../../core/db/client.js";
import { messages } from "../../core/db/schema.js";
import { ledgerFor } from "../../core/objects/ledger.js";
import {
	byMessage,
	HmsReceiptBody,
	MeizuReceiptForm,
	OppoReceiptBody,
	parseReceiptBody,
	RECEIPT_ANSWERS,
	receiptEvents,
	VivoReceiptBody,
	XiaomiReceiptForm,
} from "../../core/receipts/parse.js";
import { isReceiptChannel, type ReceiptKeys, verifyReceiptToken } from "../../core/receipts/token.js";
import type { Api } from "../http/context.js";
import { AppError } from "../http/errors.js";
import { validationError } from "../http/validation.js";
import { json, jsonBody, standardErrors } from "../schemas/common.js";

/** Most distinct messages one receipt post may name (D1 binds at most 100 parameters). */
export const MAX_RECEIPT_MESSAGES = 90;

const ReceiptParams = z.object({
	channel: z.string().max(16).openapi({ description: "`oppo`, `hms`, `xiaomi`, `meizu` or `vivo`." }),
	appId: z.string().max(64),
	token: z.string().max(64).openapi({ description: "The receipt token of the app and channel (never an app key)." }),
});

const postReceipts = createRoute({
	method: "post",
	path: "/v1/receipts/{channel}/{appId}/{token}",
	tags: ["Receipts"],
	summary: "Vendor delivery/click receipts (posted by OPPO, Huawei Push Kit, Xiaomi, Meizu and vivo, not by apps)",
	description:
		"The URL is the credential: `token` is an HMAC of the channel and app by this deployment (PUBLIC_BASE_URL, " +
		"docs/api.md: Vendor receipts). A wrong token, app or channel is the same 404. Receipts count once per device. " +
		"OPPO, HMS and vivo post JSON; Xiaomi (`data`) and Meizu (`cb`) post application/x-www-form-urlencoded with JSON in one field.",
	// Only JSON is declared: the body reader turns Xiaomi's and Meizu's forms into `{field: value}`
	// before any validator runs (a declared form media type would add a second, form-only validator).
	request: {
		params: ReceiptParams,
		// vivo before the forms: its object could otherwise pass as a form and lose its other keys.
		...jsonBody(z.union([OppoReceiptBody, HmsReceiptBody, VivoReceiptBody, XiaomiReceiptForm, MeizuReceiptForm])),
	},
	responses: {
		200: json(
			z.record(z.string(), z.unknown()),
			'What the vendor expects: OPPO `{code: 0}`, HMS `{errno: "0"}`, Xiaomi, Meizu and vivo `{}` (the 200 is the acknowledgement).',
		),
		400: standardErrors[400],
		404: standardErrors[404],
		413: standardErrors[413],
	},
});

export function receiptRoutes(api: Api) {
	api.openapi(postReceipts, async (c) => {
		const { channel, appId, token } = c.req.valid("param");
		// One answer for every wrong part, so a caller learns nothing about which apps exist.
		const denied = new AppError("not_found", "No such receipt endpoint.");
		if (!isReceiptChannel(channel)) throw denied;
		if (!(await verifyReceiptToken(c.env as unknown as ReceiptKeys, channel, appId, token))) throw denied;
		// The body reader turned a vendor form into JSON (workers/http/body.ts), so "json" holds either.
		const parsed = parseReceiptBody(channel, c.req.valid("json"));
		if (!parsed.success) throw validationError(parsed.issues, "json");
		const groups = byMessage(receiptEvents(parsed.data));
		if (groups.size > MAX_RECEIPT_MESSAGES) {
			throw new AppError("invalid_request", `A receipt post may name at most ${MAX_RECEIPT_MESSAGES} messages.`, [
				{ path: "", message: `more than ${MAX_RECEIPT_MESSAGES} messages` },
			]);
		}
		if (groups.size > 0) {
			// Only this app's messages reach a ledger (one D1 read per post); other ids are ignored.
			const ids = [...groups.keys()];
			const known = await db(c.env)
				.select({ id: messages.id })
				.from(messages)
				.where(and(eq(messages.appId, appId), inArray(messages.id, ids)));
			// One ledger call per message per post, whatever the number of receipts in it.
			await Promise.all(
				known.map(({ id }) =>
					ledgerFor(c.env, appId, id).recordReceipts(
						channel,
						(groups.get(id) ?? []).map(({ token: t, kind, at }) => ({ token: t, kind, at })),
					),
				),
			);
		}
		return c.json(RECEIPT_ANSWERS[channel] as Record<string, unknown>, 200);
	});
}
