import { z } from "@hono/zod-openapi";
import { INTERVAL_MS, MAX_POINTS, STAT_FIELDS } from "../../core/stats/fields.js";

const DAY_MS = 86_400_000;
const Instant = z.iso.datetime({ offset: true }).openapi({ example: "2026-12-01T00:00:00Z" });

/** `from`/`to` default to the last 24 hours; a window holds at most 800 points of its interval. */
export const StatsQuery = z
	.strictObject({
		from: Instant.optional(),
		to: Instant.optional(),
		interval: z.enum(["hour", "day"]).default("hour"),
		group_by: z.enum(["channel", "platform", "category"]).optional(),
	})
	.transform((q, ctx) => {
		const to = q.to ? new Date(q.to) : new Date();
		const from = q.from ? new Date(q.from) : new Date(to.getTime() - DAY_MS);
		if (from.getTime() >= to.getTime()) {
			ctx.addIssue({ code: "custom", path: ["from"], message: "from must be before to" });
			return z.NEVER;
		}
		if ((to.getTime() - from.getTime()) / INTERVAL_MS[q.interval] > MAX_POINTS) {
			ctx.addIssue({
				code: "custom",
				path: ["to"],
				message: `at most ${MAX_POINTS} ${q.interval}s in one answer (31 days of hours, 800 days of days)`,
			});
			return z.NEVER;
		}
		return { from, to, interval: q.interval, groupBy: q.group_by };
	});

const Counts = z.object(
	Object.fromEntries(STAT_FIELDS.map((f) => [f, z.number().int()])) as Record<(typeof STAT_FIELDS)[number], z.ZodNumber>,
);

export const StatsView = z
	.object({
		from: z.string(),
		to: z.string(),
		interval: z.enum(["hour", "day"]),
		group_by: z.enum(["channel", "platform", "category"]).nullable(),
		series: z.array(
			z.object({
				key: z.string().nullable(),
				points: z.array(Counts.extend({ at: z.string() })),
			}),
		),
		totals: Counts,
	})
	.openapi("Stats");

export const OnlineView = z.object({ users: z.number().int(), devices: z.number().int(), at: z.string() }).openapi("Online");
