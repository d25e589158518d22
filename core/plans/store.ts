import { asc, count, eq } from "drizzle-orm";
import { nowIso } from "../db/audit.js";
import type { Db } from "../db/client.js";
import { apps, plans } from "../db/schema.js";
import { AppError, notFound } from "../errors.js";
import type { AppPlan, PlanLimits } from "./limits.js";

/** How many plans a deployment may define: plans are tiers, not per-customer rows. */
export const MAX_PLANS = 100;

export interface PlanRow extends AppPlan {
	createdAt: string;
	updatedAt: string;
}

export async function listPlans(d: Db): Promise<PlanRow[]> {
	return d.select().from(plans).orderBy(asc(plans.id)).all();
}

export async function getPlan(d: Db, id: string): Promise<PlanRow> {
	const row = await d.select().from(plans).where(eq(plans.id, id)).get();
	if (!row) throw notFound("plan");
	return row;
}

export async function createPlan(d: Db, input: { id: string; name: string; limits: PlanLimits }): Promise<PlanRow> {
	const [existing, total] = await Promise.all([
		d.select({ id: plans.id }).from(plans).where(eq(plans.id, input.id)).get(),
		d.select({ n: count() }).from(plans).get(),
	]);
	if (existing) throw new AppError("conflict", `A plan '${input.id}' exists already; change it with PUT.`);
	if ((total?.n ?? 0) >= MAX_PLANS) throw new AppError("conflict", `A deployment keeps at most ${MAX_PLANS} plans.`);
	const now = nowIso();
	const row = { ...input, createdAt: now, updatedAt: now };
	await d.insert(plans).values(row);
	return row;
}

/** Replaces a plan's name and limits; apps on it see the new limits from their next request. */
export async function replacePlan(d: Db, id: string, input: { name: string; limits: PlanLimits }): Promise<PlanRow> {
	const prior = await getPlan(d, id);
	const updatedAt = nowIso();
	await d.update(plans).set({ name: input.name, limits: input.limits, updatedAt }).where(eq(plans.id, id));
	return { ...prior, ...input, updatedAt };
}

/** A plan that apps are still on cannot go: move them first (409 naming how many). */
export async function deletePlan(d: Db, id: string): Promise<void> {
	await getPlan(d, id);
	const users = await d.select({ n: count() }).from(apps).where(eq(apps.planId, id)).get();
	if ((users?.n ?? 0) > 0) {
		throw new AppError("conflict", `${users?.n} app(s) are on this plan; move them with PUT /v1/admin/apps/{id}/plan first.`);
	}
	await d.delete(plans).where(eq(plans.id, id));
}

/** Puts an app on a plan (or on none, with null). 404 for an unknown app or plan. */
export async function assignPlan(d: Db, appId: string, planId: string | null): Promise<PlanRow | null> {
	const app = await d.select({ id: apps.id }).from(apps).where(eq(apps.id, appId)).get();
	if (!app) throw notFound("app");
	const plan = planId === null ? null : await getPlan(d, planId);
	await d.update(apps).set({ planId }).where(eq(apps.id, appId));
	return plan;
}

/** The app's plan, for work that runs without a key (schedules, automations, usage). */
export async function planOfApp(d: Db, appId: string): Promise<AppPlan | undefined> {
	const row = await d
		.select({ id: plans.id, name: plans.name, limits: plans.limits })
		.from(apps)
		.innerJoin(plans, eq(plans.id, apps.planId))
		.where(eq(apps.id, appId))
		.get();
	return row ?? undefined;
}
