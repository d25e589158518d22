import { z } from "@hono/zod-openapi";
import { Id } from "./common.js";

export const Plan = z.enum(["free", "standard", "pro", "enterprise"]);
export const ScopeSchema = z.enum(["send", "read", "manage"]);
const Name = z.string().trim().min(1).max(200);

export const CreateAppBody = z
	.strictObject({ name: Name, plan: Plan.optional() })
	.openapi("CreateAppRequest", { example: { name: "Acme", plan: "free" } });

export const CreateKeyBody = z
	.strictObject({
		name: Name,
		scopes: z
			.array(ScopeSchema)
			.min(1)
			.max(3)
			.refine((s) => new Set(s).size === s.length, "scopes must not repeat")
			.optional(),
	})
	.openapi("CreateKeyRequest", { example: { name: "backend", scopes: ["send", "read"] } });

export const NewKey = z
	.object({ id: z.string(), name: z.string(), secret: z.string(), scopes: z.array(ScopeSchema), created_at: z.string() })
	.openapi("NewKey");

export const KeyInfo = z
	.object({
		id: z.string(),
		name: z.string(),
		scopes: z.array(ScopeSchema),
		created_at: z.string(),
		revoked_at: z.string().nullable(),
	})
	.openapi("Key");

export const AppInfo = z
	.object({
		id: z.string(),
		name: z.string(),
		plan: Plan,
		created_at: z.string(),
		shard_count: z.number().int().openapi({ description: "Shards holding the app's users (docs/api.md: Growing an app)." }),
		plan_id: z
			.string()
			.nullable()
			.openapi({ description: "The plan whose limits apply (PUT /v1/admin/apps/{appId}/plan); null: none." }),
		keys: z.array(KeyInfo),
	})
	.openapi("App");

export const AppList = z
	.object({
		apps: z.array(z.object({ id: z.string(), name: z.string(), plan: Plan, created_at: z.string() })),
	})
	.openapi("AppList");

export const GrowShardsBody = z
	.strictObject({
		count: z
			.number()
			.int()
			.min(1)
			.max(1024)
			.openapi({ description: "The new number of shards: a power of two, at least the current one." }),
	})
	.openapi("GrowShardsRequest", { example: { count: 4 } });

export const ShardGrowth = z
	.object({
		previous: z.number().int(),
		count: z.number().int(),
		users: z.array(z.number().int()).openapi({ description: "Users each shard holds now, by shard index." }),
	})
	.openapi("ShardGrowth");

export const CreatedApp = z
	.object({ id: z.string(), name: z.string(), plan: Plan, created_at: z.string(), key: NewKey })
	.openapi("CreatedApp");

export const AppIdParam = z.object({ appId: Id });
export const KeyIdParam = AppIdParam.extend({ keyId: Id });

export const RotateTokenSecretBody = z
	.strictObject({
		overlap_seconds: z
			.number()
			.int()
			.min(0)
			.max(30 * 24 * 3600)
			.optional()
			.openapi({ description: "How long tokens signed with the replaced secret still verify: 0 – 30 days, default 1 day." }),
	})
	.openapi("RotateTokenSecretRequest");

export const TokenSecretRotated = z
	.object({
		kid: z.string().openapi({ description: "The new secret's id: tokens minted from now on carry it in their `kid` header." }),
		previous_kid: z.string(),
		previous_valid_until: z.string().openapi({ description: "Tokens signed with the replaced secret verify until then." }),
	})
	.openapi("TokenSecretRotated");
