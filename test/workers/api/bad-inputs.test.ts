/**
 * A table of bad inputs. Every case must answer its status with the contract's error body and
 * code, name the offending field for schema violations, and leave every D1 table exactly as it was.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { appTokenSecret, signClientToken } from "../../../core/auth/client-tokens.js";
import { ADMIN, BASE, call, newApp, newKey, ok, send } from "../http.js";
import { detailPaths, expectError, id, snapshot, webPushSubscription } from "./helpers.js";

interface Fixture {
	appId: string;
	key: string;
	keyId: string;
	readKey: string;
	sendKey: string;
	manageKey: string;
	revokedKey: string;
	otherAppId: string;
	otherKeyId: string;
	clientToken: string;
	expiredToken: string;
	messageId: string;
}

const f = {} as Fixture;
type Dyn<T> = T | ((f: Fixture) => T);

interface Case {
	name: string;
	method: string;
	path: Dyn<string>;
	/** The whole Authorization header; null sends none. Default: the fixture app's full key. */
	auth?: Dyn<string | null>;
	/** JSON-encoded. */
	body?: Dyn<unknown>;
	/** Sent as is instead of body. */
	raw?: Dyn<BodyInit>;
	headers?: Record<string, string>;
	status: number;
	code: string;
	/** Detail paths the answer must name (schema violations). */
	paths?: string[];
}

const resolve = <T>(v: Dyn<T>): T => (typeof v === "function" ? (v as (f: Fixture) => T)(f) : v);
const admin = `Bearer ${ADMIN}`;
const bearer = (k: keyof Fixture) => (fx: Fixture) => `Bearer ${fx[k]}`;
const text = (body = "hi") => ({ type: "text", body });
const toUsers = (users: unknown) => ({ audience: { users }, content: text() });
const deep = (n: number, leaf = "1") => "[".repeat(n) + leaf + "]".repeat(n);
const MIB = 1024 * 1024;

const invalid = (name: string, c: Omit<Case, "name" | "status" | "code">): Case => ({
	name,
	status: 400,
	code: "invalid_request",
	...c,
});
const unauthorized = (name: string, c: Omit<Case, "name" | "status" | "code">): Case => ({
	name,
	status: 401,
	code: "unauthorized",
	...c,
});
const forbidden = (name: string, c: Omit<Case, "name" | "status" | "code">): Case => ({
	name,
	status: 403,
	code: "forbidden",
	...c,
});
const notFound = (name: string, c: Omit<Case, "name" | "status" | "code">): Case => ({
	name,
	status: 404,
	code: "not_found",
	...c,
});
const notAllowed = (name: string, c: Omit<Case, "name" | "status" | "code">): Case => ({
	name,
	status: 405,
	code: "method_not_allowed",
	...c,
});
const tooLarge = (name: string, c: Omit<Case, "name" | "status" | "code">): Case => ({
	name,
	status: 413,
	code: "payload_too_large",
	...c,
});

const PUT_ALICE = { method: "PUT", path: "/v1/users/alice" } as const;
const DEVICES = { method: "POST", path: "/v1/users/alice/devices" } as const;
const TOKENS = { method: "POST", path: "/v1/users/newbie/tokens" } as const;
const USER_TAGS = { method: "PUT", path: "/v1/users/alice/tags" } as const;
const TAG_USERS = { method: "POST", path: "/v1/tags/vip/users" } as const;
const MESSAGES = { method: "POST", path: "/v1/messages" } as const;
const NEW_APP = { method: "POST", path: "/v1/apps", auth: admin } as const;
const NEW_KEY = { method: "POST", path: (fx: Fixture) => `/v1/apps/${fx.appId}/keys`, auth: admin } as const;
const apns = { platform: "ios", channel: "apns", token: "abc" };
const ws = { platform: "web", channel: "ws" };

const cases: Case[] = [
	// ── malformed JSON ──────────────────────────────────────────────────────────────────────────
	invalid("malformed JSON: unclosed object", { ...PUT_ALICE, raw: "{", paths: [""] }),
	invalid("malformed JSON: truncated value", { ...PUT_ALICE, raw: '{"attributes":', paths: [""] }),
	invalid("malformed JSON: single quotes", { ...PUT_ALICE, raw: "{'attributes':{}}", paths: [""] }),
	invalid("malformed JSON: trailing comma", { ...NEW_APP, raw: '{"name":"x",}', paths: [""] }),
	invalid("malformed JSON: comment", { ...NEW_APP, raw: '{"name":"x" /* hi */}', paths: [""] }),
	invalid("malformed JSON: bare NaN", { ...DEVICES, raw: "NaN", paths: [""] }),
	invalid("malformed JSON: undefined", { ...TOKENS, raw: "undefined", paths: [""] }),
	invalid("malformed JSON: XML", { ...MESSAGES, raw: "<message to='u1'/>", paths: [""] }),
	invalid("malformed JSON: form encoding", {
		...NEW_APP,
		raw: "name=acme&plan=free",
		headers: { "content-type": "application/x-www-form-urlencoded" },
		paths: [""],
	}),
	invalid("malformed JSON: two documents", { ...USER_TAGS, raw: '{"add":["a"]}{"add":["b"]}', paths: [""] }),
	invalid("malformed JSON: invalid UTF-8", {
		...NEW_APP,
		raw: new Uint8Array([0x7b, 0x22, 0x6e, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]),
		paths: [""],
	}),
	invalid("malformed JSON: unescaped control character in a string", { ...NEW_APP, raw: '{"name":"a\u0001b"}', paths: [""] }),
	invalid("JSON nested 10,000 deep in attributes", { ...PUT_ALICE, raw: `{"attributes":{"a":${deep(10_000)}}}`, paths: [""] }),
	invalid("JSON nested 10,000 deep in message data", {
		...MESSAGES,
		raw: `{"audience":{"users":["alice"]},"content":{"type":"custom","data":{"a":${deep(10_000)}}}}`,
		paths: [""],
	}),
	invalid("JSON nested 65 deep", { ...PUT_ALICE, raw: `{"attributes":{"a":${deep(63)}}}`, paths: [""] }),
	invalid("__proto__ attribute key", {
		...PUT_ALICE,
		raw: '{"attributes":{"__proto__":{"admin":true}}}',
		paths: ["attributes.__proto__"],
	}),
	invalid("__proto__ key nested in message data", {
		...MESSAGES,
		raw: '{"audience":{"users":["alice"]},"content":{"type":"custom","data":{"x":{"__proto__":1}}}}',
		paths: ["content.data.x.__proto__"],
	}),

	invalid("lone surrogate in an app name", { ...NEW_APP, raw: '{"name":"Acme\\ud800"}', paths: ["name"] }),
	invalid("lone surrogate in a device token", {
		...DEVICES,
		raw: '{"platform":"ios","channel":"apns","token":"t\\udc00k"}',
		paths: ["token"],
	}),
	invalid("lone surrogate in an attribute key", {
		...PUT_ALICE,
		raw: '{"attributes":{"\\ud83d":"x"}}',
		paths: ["attributes.\ud83d"],
	}),
	invalid("lone surrogate in a message title", {
		...MESSAGES,
		raw: '{"audience":{"users":["alice"]},"content":{"type":"text","title":"hi \\ud83d"}}',
		paths: ["content.title"],
	}),

	// ── body of the wrong shape ─────────────────────────────────────────────────────────────────
	invalid("body is an array", { ...PUT_ALICE, body: [], paths: [""] }),
	invalid("body is null", { ...PUT_ALICE, raw: "null", paths: [""] }),
	invalid("body is a string", { ...NEW_APP, body: "acme", paths: [""] }),
	invalid("body is a number", { ...DEVICES, body: 42, paths: [""] }),
	invalid("body is true", { ...MESSAGES, body: true, paths: [""] }),

	// ── PUT /v1/users/{userId} ──────────────────────────────────────────────────────────────────
	invalid("attributes is an array", { ...PUT_ALICE, body: { attributes: [1] }, paths: ["attributes"] }),
	invalid("attributes is a string", { ...PUT_ALICE, body: { attributes: "plan=gold" }, paths: ["attributes"] }),
	invalid("attributes is null", { ...PUT_ALICE, body: { attributes: null }, paths: ["attributes"] }),
	invalid("attribute value overflows to Infinity", {
		...PUT_ALICE,
		raw: '{"attributes":{"score":1e400}}',
		paths: ["attributes.score"],
	}),
	invalid("attribute key empty", { ...PUT_ALICE, body: { attributes: { "": 1 } }, paths: ["attributes."] }),
	invalid("attribute key of 129 characters", {
		...PUT_ALICE,
		body: { attributes: { [id(129, "k")]: 1 } },
		paths: [`attributes.${id(129, "k")}`],
	}),
	invalid("locale is a number", { ...PUT_ALICE, body: { locale: 5 }, paths: ["locale"] }),
	invalid("locale with underscore", { ...PUT_ALICE, body: { locale: "zh_CN" }, paths: ["locale"] }),
	invalid("locale with SQL injection", { ...PUT_ALICE, body: { locale: "zh-CN'; DROP TABLE users;--" }, paths: ["locale"] }),
	invalid("locale in Chinese characters", { ...PUT_ALICE, body: { locale: "中文" }, paths: ["locale"] }),
	invalid("timezone unknown", { ...PUT_ALICE, body: { timezone: "Mars/Olympus_Mons" }, paths: ["timezone"] }),
	invalid("timezone empty", { ...PUT_ALICE, body: { timezone: "" }, paths: ["timezone"] }),
	invalid("timezone with NUL byte", { ...PUT_ALICE, body: { timezone: "Asia/Shanghai\u0000" }, paths: ["timezone"] }),
	invalid("timezone of 65 characters", { ...PUT_ALICE, body: { timezone: id(65, "Z") }, paths: ["timezone"] }),
	invalid("timezone is an object", { ...PUT_ALICE, body: { timezone: { name: "UTC" } }, paths: ["timezone"] }),
	invalid("unknown field on user", { ...PUT_ALICE, body: { name: "Alice" }, paths: ["name"] }),
	invalid("tags are not set through PUT user", { ...PUT_ALICE, body: { tags: ["vip"] }, paths: ["tags"] }),
	invalid("unknown field next to valid ones", { ...PUT_ALICE, body: { attributes: { a: 1 }, online: 3 }, paths: ["online"] }),
	tooLarge("attributes over 16 KiB in one call", {
		...PUT_ALICE,
		body: { attributes: { a: "x".repeat(16_400) } },
		paths: ["attributes"],
	}),
	tooLarge("attributes over 16 KiB after merge", {
		method: "PUT",
		path: "/v1/users/big",
		body: { attributes: { more: "y".repeat(600) } },
		paths: ["attributes"],
	}),
	tooLarge("user body over 1 MiB", { ...PUT_ALICE, body: { attributes: { a: "x".repeat(MIB) } } }),

	// ── bad ids in paths ────────────────────────────────────────────────────────────────────────
	invalid("userId of 129 characters", { method: "PUT", path: `/v1/users/${id(129, "u")}`, body: {}, paths: ["userId"] }),
	invalid("userId with a space", { method: "PUT", path: "/v1/users/a%20b", body: {}, paths: ["userId"] }),
	invalid("userId with an encoded slash", { method: "PUT", path: "/v1/users/a%2Fb", body: {}, paths: ["userId"] }),
	invalid("userId with an accent", { method: "PUT", path: "/v1/users/caf%C3%A9", body: {}, paths: ["userId"] }),
	invalid("userId of an emoji", { method: "PUT", path: "/v1/users/%F0%9F%98%80", body: {}, paths: ["userId"] }),
	invalid("userId with SQL injection", { method: "PUT", path: "/v1/users/x'%20OR%201=1--", body: {}, paths: ["userId"] }),
	invalid("userId with a NUL byte", { method: "PUT", path: "/v1/users/a%00b", body: {}, paths: ["userId"] }),
	invalid("userId with a newline", { method: "PUT", path: "/v1/users/a%0Ab", body: {}, paths: ["userId"] }),
	invalid("userId with broken percent-encoding", { method: "PUT", path: "/v1/users/%E4%B8", body: {}, paths: ["userId"] }),
	invalid("userId with an asterisk", { method: "PUT", path: "/v1/users/a*", body: {}, paths: ["userId"] }),
	invalid("GET userId with a DROP TABLE", {
		method: "GET",
		path: "/v1/users/%27%3B%20DROP%20TABLE%20users%3B--",
		paths: ["userId"],
	}),
	invalid("DELETE userId with a percent sign", { method: "DELETE", path: "/v1/users/100%25", paths: ["userId"] }),
	invalid("devices of a bad userId", { method: "POST", path: "/v1/users/a%20b/devices", body: ws, paths: ["userId"] }),
	invalid("tokens of a bad userId", { method: "POST", path: "/v1/users/%F0%9F%98%80/tokens", body: {}, paths: ["userId"] }),
	invalid("tags of a bad userId", { method: "PUT", path: `/v1/users/${id(129)}/tags`, body: { add: ["t"] }, paths: ["userId"] }),
	invalid("deviceId with an encoded slash", { method: "DELETE", path: "/v1/users/alice/devices/d1%2F..", paths: ["deviceId"] }),
	invalid("deviceId of 129 characters", {
		method: "DELETE",
		path: `/v1/users/alice/devices/${id(129, "d")}`,
		paths: ["deviceId"],
	}),

	// ── POST /v1/users/{userId}/devices ─────────────────────────────────────────────────────────
	invalid("device without platform", { ...DEVICES, body: { channel: "ws" }, paths: ["platform"] }),
	invalid("device without channel", { ...DEVICES, body: { platform: "web" }, paths: ["channel"] }),
	invalid("device of an unknown platform", { ...DEVICES, body: { platform: "windows", channel: "ws" }, paths: ["platform"] }),
	invalid("device of an unknown channel", {
		...DEVICES,
		body: { platform: "ios", channel: "sms", token: "x" },
		paths: ["channel"],
	}),
	invalid("platform in another case", {
		...DEVICES,
		body: { platform: "IOS", channel: "apns", token: "x" },
		paths: ["platform"],
	}),
	invalid("APNs device without token", { ...DEVICES, body: { platform: "ios", channel: "apns" }, paths: ["token"] }),
	invalid("FCM device with an empty token", {
		...DEVICES,
		body: { platform: "android", channel: "fcm", token: "" },
		paths: ["token"],
	}),
	invalid("WebSocket device with a token", { ...DEVICES, body: { ...ws, token: "abc" }, paths: ["token"] }),
	invalid("Web Push device without subscription", {
		...DEVICES,
		body: { platform: "web", channel: "webpush" },
		paths: ["subscription"],
	}),
	invalid("APNs device with a subscription", {
		...DEVICES,
		body: { ...apns, subscription: webPushSubscription() },
		paths: ["subscription"],
	}),
	invalid("subscription endpoint is not a URL", {
		...DEVICES,
		body: { platform: "web", channel: "webpush", subscription: { ...webPushSubscription(), endpoint: "not a url" } },
		paths: ["subscription.endpoint"],
	}),
	invalid("subscription endpoint over ftp", {
		...DEVICES,
		body: {
			platform: "web",
			channel: "webpush",
			subscription: { ...webPushSubscription(), endpoint: "ftp://push.example.com/x" },
		},
		paths: ["subscription.endpoint"],
	}),
	invalid("subscription p256dh too short", {
		...DEVICES,
		body: {
			platform: "web",
			channel: "webpush",
			subscription: { ...webPushSubscription(), keys: { ...webPushSubscription().keys, p256dh: "abc" } },
		},
		paths: ["subscription.keys.p256dh"],
	}),
	invalid("subscription without auth secret", {
		...DEVICES,
		body: {
			platform: "web",
			channel: "webpush",
			subscription: { endpoint: "https://push.example.com/x", keys: { p256dh: webPushSubscription().keys.p256dh } },
		},
		paths: ["subscription.keys.auth"],
	}),
	invalid("subscription with an unknown field", {
		...DEVICES,
		body: { platform: "web", channel: "webpush", subscription: { ...webPushSubscription(), vapid: "x" } },
		paths: ["subscription.vapid"],
	}),
	invalid("device token of 4,097 characters", { ...DEVICES, body: { ...apns, token: "t".repeat(4097) }, paths: ["token"] }),
	invalid("device token is a number", { ...DEVICES, body: { ...apns, token: 12345 }, paths: ["token"] }),
	invalid("device id with a space", { ...DEVICES, body: { ...ws, id: "my phone" }, paths: ["id"] }),
	invalid("device id of 129 characters", { ...DEVICES, body: { ...ws, id: id(129, "d") }, paths: ["id"] }),
	invalid("device id of an emoji", { ...DEVICES, body: { ...ws, id: "📱" }, paths: ["id"] }),
	invalid("device id with SQL injection", { ...DEVICES, body: { ...ws, id: "x' OR 1=1--" }, paths: ["id"] }),
	invalid("device id with a NUL byte", { ...DEVICES, body: { ...ws, id: "d\u00001" }, paths: ["id"] }),
	invalid("device id empty", { ...DEVICES, body: { ...ws, id: "" }, paths: ["id"] }),
	invalid("device id is a number", { ...DEVICES, body: { ...ws, id: 7 }, paths: ["id"] }),
	invalid("device status is not the caller's to set", { ...DEVICES, body: { ...apns, status: "invalid" }, paths: ["status"] }),
	invalid("device with a user_id field", { ...DEVICES, body: { ...ws, user_id: "mallory" }, paths: ["user_id"] }),

	// ── POST /v1/users/{userId}/tokens ──────────────────────────────────────────────────────────
	invalid("token ttl under a minute", { ...TOKENS, body: { ttl_seconds: 59 }, paths: ["ttl_seconds"] }),
	invalid("token ttl over 30 days", { ...TOKENS, body: { ttl_seconds: 30 * 24 * 3600 + 1 }, paths: ["ttl_seconds"] }),
	invalid("token ttl as a string", { ...TOKENS, body: { ttl_seconds: "3600" }, paths: ["ttl_seconds"] }),
	invalid("token ttl fractional", { ...TOKENS, body: { ttl_seconds: 3600.5 }, paths: ["ttl_seconds"] }),
	invalid("token ttl negative", { ...TOKENS, body: { ttl_seconds: -3600 }, paths: ["ttl_seconds"] }),
	invalid("token with a chosen subject", { ...TOKENS, body: { sub: "admin" }, paths: ["sub"] }),

	// ── PUT /v1/users/{userId}/tags ─────────────────────────────────────────────────────────────
	invalid("tags add is a string", { ...USER_TAGS, body: { add: "vip" }, paths: ["add"] }),
	invalid("tags add holds a number", { ...USER_TAGS, body: { add: [1] }, paths: ["add[0]"] }),
	invalid("tag name with a space", { ...USER_TAGS, body: { add: ["ok", "has space"] }, paths: ["add[1]"] }),
	invalid("tag name with an emoji", { ...USER_TAGS, body: { add: ["label🏷"] }, paths: ["add[0]"] }),
	invalid("tag name with SQL injection", { ...USER_TAGS, body: { add: ["x' OR 1=1--"] }, paths: ["add[0]"] }),
	invalid("tag name empty", { ...USER_TAGS, body: { remove: [""] }, paths: ["remove[0]"] }),
	invalid("tag name of 129 characters", { ...USER_TAGS, body: { add: [id(129, "t")] }, paths: ["add[0]"] }),
	invalid("1,001 tags in one call", {
		...USER_TAGS,
		body: { add: Array.from({ length: 1001 }, (_, i) => `t${i}`) },
		paths: ["add"],
	}),
	invalid("a tag both added and removed", { ...USER_TAGS, body: { add: ["x"], remove: ["x"] }, paths: ["remove"] }),
	invalid("a 1,001st tag for a user", {
		method: "PUT",
		path: "/v1/users/full/tags",
		body: { add: ["one-too-many"] },
		paths: ["add"],
	}),
	invalid("tags remove is null", { ...USER_TAGS, body: { remove: null }, paths: ["remove"] }),
	invalid("unknown field on tags", { ...USER_TAGS, body: { set: ["vip"] }, paths: ["set"] }),

	// ── POST /v1/tags/{tag}/users ───────────────────────────────────────────────────────────────
	invalid("tag path with a space", { method: "POST", path: "/v1/tags/v%20ip/users", body: { add: ["alice"] }, paths: ["tag"] }),
	invalid("tag path of 129 characters", {
		method: "POST",
		path: `/v1/tags/${id(129, "t")}/users`,
		body: { add: ["alice"] },
		paths: ["tag"],
	}),
	invalid("tag path of Chinese characters", {
		method: "POST",
		path: "/v1/tags/%E5%8C%97%E4%BA%AC/users",
		body: { add: ["alice"] },
		paths: ["tag"],
	}),
	invalid("1,001 ids to add", { ...TAG_USERS, body: { add: Array.from({ length: 1001 }, (_, i) => `n${i}`) }, paths: ["add"] }),
	invalid("1,001 ids added and removed together", {
		...TAG_USERS,
		body: { add: Array.from({ length: 600 }, (_, i) => `n${i}`), remove: Array.from({ length: 401 }, (_, i) => `r${i}`) },
		paths: ["add"],
	}),
	invalid("user id empty in a bulk add", { ...TAG_USERS, body: { add: ["new1", ""] }, paths: ["add[1]"] }),
	invalid("user id null in a bulk add", { ...TAG_USERS, body: { add: [null] }, paths: ["add[0]"] }),
	invalid("user id with a slash in a bulk add", { ...TAG_USERS, body: { add: ["new1", "a/b"] }, paths: ["add[1]"] }),
	invalid("bulk remove is a string", { ...TAG_USERS, body: { remove: "alice" }, paths: ["remove"] }),
	invalid("unknown field on bulk tag", { ...TAG_USERS, body: { users: ["alice"] }, paths: ["users"] }),
	invalid("bulk add and remove of the same user", { ...TAG_USERS, body: { add: ["bob"], remove: ["bob"] }, paths: ["remove"] }),
	invalid("bulk add of a user at 1,000 tags", {
		method: "POST",
		path: "/v1/tags/brand-new/users",
		body: { add: ["new1", "full"] },
		paths: ["add"],
	}),

	// ── GET /v1/tags and /v1/tags/{tag}/users ───────────────────────────────────────────────────
	invalid("tags limit=0", { method: "GET", path: "/v1/tags?limit=0", paths: ["limit"] }),
	invalid("tags limit=abc", { method: "GET", path: "/v1/tags?limit=abc", paths: ["limit"] }),
	invalid("tags limit=100000", { method: "GET", path: "/v1/tags?limit=100000", paths: ["limit"] }),
	invalid("tags limit=-5", { method: "GET", path: "/v1/tags?limit=-5", paths: ["limit"] }),
	invalid("tags limit=1.5", { method: "GET", path: "/v1/tags?limit=1.5", paths: ["limit"] }),
	invalid("tags limit empty", { method: "GET", path: "/v1/tags?limit=", paths: ["limit"] }),
	invalid("tags cursor of punctuation", { method: "GET", path: "/v1/tags?cursor=!!!", paths: ["cursor"] }),
	invalid("tags cursor of one character", { method: "GET", path: "/v1/tags?cursor=a", paths: ["cursor"] }),
	invalid("tags cursor of 513 characters", { method: "GET", path: `/v1/tags?cursor=${"A".repeat(513)}`, paths: ["cursor"] }),
	invalid("tags cursor decoding to invalid UTF-8", { method: "GET", path: "/v1/tags?cursor=_w", paths: ["cursor"] }),
	invalid("tags cursor decoding to a non-id", {
		method: "GET",
		path: `/v1/tags?cursor=${btoa("x' OR 1=1--")}`,
		paths: ["cursor"],
	}),
	invalid("tags unknown query parameter", { method: "GET", path: "/v1/tags?sort=desc", paths: ["sort"] }),
	invalid("tag users limit=0", { method: "GET", path: "/v1/tags/vip/users?limit=0", paths: ["limit"] }),
	invalid("tag users limit=1001", { method: "GET", path: "/v1/tags/vip/users?limit=1001", paths: ["limit"] }),
	invalid("tag users limit=1e3x", { method: "GET", path: "/v1/tags/vip/users?limit=1e3x", paths: ["limit"] }),
	invalid("tag users cursor garbage", { method: "GET", path: "/v1/tags/vip/users?cursor=%25%25%25", paths: ["cursor"] }),
	invalid("tag users of a bad tag", { method: "GET", path: "/v1/tags/a%2Fb/users", paths: ["tag"] }),

	// ── POST /v1/apps and keys ──────────────────────────────────────────────────────────────────
	invalid("app without name", { ...NEW_APP, body: { plan: "free" }, paths: ["name"] }),
	invalid("app name empty", { ...NEW_APP, body: { name: "" }, paths: ["name"] }),
	invalid("app name only spaces", { ...NEW_APP, body: { name: "   " }, paths: ["name"] }),
	invalid("app name of 201 characters", { ...NEW_APP, body: { name: "n".repeat(201) }, paths: ["name"] }),
	invalid("app name is a number", { ...NEW_APP, body: { name: 123 }, paths: ["name"] }),
	invalid("app of an unknown plan", { ...NEW_APP, body: { name: "x", plan: "gold" }, paths: ["plan"] }),
	invalid("app plan null", { ...NEW_APP, body: { name: "x", plan: null }, paths: ["plan"] }),
	invalid("app with a chosen id", { ...NEW_APP, body: { name: "x", id: "app_mine" }, paths: ["id"] }),
	invalid("app with a chosen key", { ...NEW_APP, body: { name: "x", key: { secret: "s" } }, paths: ["key"] }),
	tooLarge("app body over 1 MiB", { ...NEW_APP, body: { name: "x", pad: "p".repeat(MIB) } }),
	invalid("key without name", { ...NEW_KEY, body: { scopes: ["read"] }, paths: ["name"] }),
	invalid("key with no scopes", { ...NEW_KEY, body: { name: "k", scopes: [] }, paths: ["scopes"] }),
	invalid("key with an unknown scope", { ...NEW_KEY, body: { name: "k", scopes: ["read", "admin"] }, paths: ["scopes[1]"] }),
	invalid("key with a repeated scope", { ...NEW_KEY, body: { name: "k", scopes: ["read", "read"] }, paths: ["scopes"] }),
	invalid("key scopes as a string", { ...NEW_KEY, body: { name: "k", scopes: "read" }, paths: ["scopes"] }),
	invalid("key with a chosen secret", { ...NEW_KEY, body: { name: "k", secret: "wbsk.mine" }, paths: ["secret"] }),
	invalid("key for an appId with a space", {
		method: "POST",
		path: "/v1/apps/app%20x/keys",
		auth: admin,
		body: { name: "k" },
		paths: ["appId"],
	}),
	notFound("key for an unknown app", {
		method: "POST",
		path: "/v1/apps/app_000000000000/keys",
		auth: admin,
		body: { name: "k" },
	}),
	invalid("GET app of 129 characters", { method: "GET", path: `/v1/apps/${id(129)}`, auth: admin, paths: ["appId"] }),
	invalid("GET app with unicode", { method: "GET", path: "/v1/apps/%C3%A5pp", auth: admin, paths: ["appId"] }),
	notFound("GET unknown app", { method: "GET", path: "/v1/apps/app_000000000000", auth: admin }),
	invalid("revoke keyId with SQL injection", {
		method: "DELETE",
		path: (fx) => `/v1/apps/${fx.appId}/keys/1%27%20OR%20%271%27=%271`,
		auth: admin,
		paths: ["keyId"],
	}),
	notFound("revoke unknown key", { method: "DELETE", path: (fx) => `/v1/apps/${fx.appId}/keys/key_000000000000`, auth: admin }),
	notFound("revoke a key under the wrong app", {
		method: "DELETE",
		path: (fx) => `/v1/apps/${fx.otherAppId}/keys/${fx.keyId}`,
		auth: admin,
	}),
	notFound("revoke an already revoked key", {
		method: "DELETE",
		path: (fx) => `/v1/apps/${fx.appId}/keys/${fx.revokedKey.split(".")[1]}`,
		auth: admin,
	}),

	// ── credentials ─────────────────────────────────────────────────────────────────────────────
	...["", "not a URL", "' OR 1=1 --", "//no-scheme", "https://"].map((uri) =>
		invalid(`FCM token_uri ${JSON.stringify(uri)} is a 400, not a 503`, {
			method: "PUT",
			path: "/v1/credentials/fcm",
			body: { service_account: { project_id: "my-app-12345", token_uri: uri } },
			paths: ["service_account.token_uri"],
		}),
	),
	unauthorized("no Authorization header", { ...PUT_ALICE, auth: null, body: { attributes: { a: 1 } } }),
	unauthorized("Basic scheme", { ...PUT_ALICE, auth: "Basic YWRtaW46YWRtaW4=", body: {} }),
	unauthorized("Bearer without a token", { method: "GET", path: "/v1/users/alice", auth: "Bearer " }),
	unauthorized("Bearer garbage", { method: "GET", path: "/v1/users/alice", auth: "Bearer garbage" }),
	unauthorized("token without a scheme", { method: "GET", path: "/v1/users/alice", auth: (fx) => fx.key }),
	unauthorized("well-formed but unknown key", {
		...DEVICES,
		auth: "Bearer wbsk.key_000000000000.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		body: ws,
	}),
	unauthorized("key with its last character changed", {
		...PUT_ALICE,
		auth: (fx) => `Bearer ${fx.key.slice(0, -1)}${fx.key.endsWith("A") ? "B" : "A"}`,
		body: {},
	}),
	unauthorized("key id of one key with the secret of another", {
		...PUT_ALICE,
		auth: (fx) => `Bearer ${fx.key.split(".").slice(0, 2).join(".")}.${fx.readKey.split(".")[2]}`,
		body: {},
	}),
	unauthorized("key with a trailing dot", { method: "GET", path: "/v1/users/alice", auth: (fx) => `Bearer ${fx.key}.` }),
	unauthorized("credential of 600 characters", { method: "GET", path: "/v1/users/alice", auth: `Bearer ${"x".repeat(600)}` }),
	unauthorized("SQL injection as credential", { method: "GET", path: "/v1/tags", auth: "Bearer wbsk.key_x'OR'1'='1.x" }),
	unauthorized("revoked key writing a user", { ...PUT_ALICE, auth: bearer("revokedKey"), body: { attributes: { a: 2 } } }),
	unauthorized("revoked key sending a message", { ...MESSAGES, auth: bearer("revokedKey"), body: toUsers(["alice"]) }),
	unauthorized("client token used as an app key", { ...PUT_ALICE, auth: bearer("clientToken"), body: {} }),
	unauthorized("admin token on PUT user", { ...PUT_ALICE, auth: admin, body: {} }),
	unauthorized("admin token on POST messages", { ...MESSAGES, auth: admin, body: toUsers(["alice"]) }),
	unauthorized("admin token on bulk tag", { ...TAG_USERS, auth: admin, body: { add: ["new1"] } }),
	unauthorized("app key on POST /v1/apps", { ...NEW_APP, auth: bearer("key"), body: { name: "x" } }),
	unauthorized("app key creating a key", { ...NEW_KEY, auth: bearer("key"), body: { name: "escalate" } }),
	unauthorized("app key revoking a key", {
		method: "DELETE",
		path: (fx) => `/v1/apps/${fx.appId}/keys/${fx.keyId}`,
		auth: bearer("key"),
	}),
	unauthorized("app key reading its app", { method: "GET", path: (fx) => `/v1/apps/${fx.appId}`, auth: bearer("key") }),
	unauthorized("wrong admin token", { ...NEW_APP, auth: "Bearer test-admin-tokem", body: { name: "x" } }),
	unauthorized("admin token with a suffix", { ...NEW_APP, auth: `Bearer ${ADMIN}x`, body: { name: "x" } }),
	unauthorized("no credential on POST /v1/apps", { ...NEW_APP, auth: null, body: { name: "x" } }),
	unauthorized("expired client token on connect", {
		method: "GET",
		path: (fx) => `/v1/connect?token=${fx.expiredToken}&device=d9`,
		auth: null,
		headers: { upgrade: "websocket" },
	}),
	unauthorized("garbage client token on connect", {
		method: "GET",
		path: "/v1/connect?token=a.b.c&device=d9",
		auth: null,
		headers: { upgrade: "websocket" },
	}),
	unauthorized("app key as client token on connect", {
		method: "GET",
		path: (fx) => `/v1/connect?token=${fx.key}&device=d9`,
		auth: null,
		headers: { upgrade: "websocket" },
	}),
	invalid("connect with a bad device id", {
		method: "GET",
		path: (fx) => `/v1/connect?token=${fx.clientToken}&device=a%20b`,
		auth: null,
		headers: { upgrade: "websocket" },
		paths: ["device"],
	}),

	// ── scopes ──────────────────────────────────────────────────────────────────────────────────
	forbidden("read key writing a user", { ...PUT_ALICE, auth: bearer("readKey"), body: { attributes: { a: 3 } } }),
	forbidden("read key deleting a user", { method: "DELETE", path: "/v1/users/alice", auth: bearer("readKey") }),
	forbidden("read key registering a device", { ...DEVICES, auth: bearer("readKey"), body: ws }),
	forbidden("read key deleting a device", { method: "DELETE", path: "/v1/users/alice/devices/d1", auth: bearer("readKey") }),
	forbidden("read key minting a token", { ...TOKENS, auth: bearer("readKey"), body: {} }),
	forbidden("read key tagging", { ...TAG_USERS, auth: bearer("readKey"), body: { add: ["new1"] } }),
	forbidden("read key sending", { ...MESSAGES, auth: bearer("readKey"), body: toUsers(["alice"]) }),
	forbidden("read key recalling", { method: "DELETE", path: (fx) => `/v1/messages/${fx.messageId}`, auth: bearer("readKey") }),
	forbidden("send key reading a user", { method: "GET", path: "/v1/users/alice", auth: bearer("sendKey") }),
	forbidden("send key tagging a user", { ...USER_TAGS, auth: bearer("sendKey"), body: { add: ["x"] } }),
	forbidden("send key listing tags", { method: "GET", path: "/v1/tags", auth: bearer("sendKey") }),
	forbidden("manage key sending", { ...MESSAGES, auth: bearer("manageKey"), body: toUsers(["alice"]) }),
	forbidden("manage key reading a message", {
		method: "GET",
		path: (fx) => `/v1/messages/${fx.messageId}`,
		auth: bearer("manageKey"),
	}),
	forbidden("manage key listing a tag's users", { method: "GET", path: "/v1/tags/vip/users", auth: bearer("manageKey") }),

	// ── unknown routes and methods ──────────────────────────────────────────────────────────────
	notFound("unknown route without credential", { method: "GET", path: "/v1/nope", auth: null }),
	notFound("unknown version", { ...MESSAGES, path: "/v2/messages", body: toUsers(["alice"]) }),
	notAllowed("DELETE the users collection", { method: "DELETE", path: "/v1/users" }),
	notFound("unknown user sub-resource", { method: "GET", path: "/v1/users/alice/friends" }),
	notFound("too deep a path", { method: "DELETE", path: "/v1/users/alice/devices/d1/extra" }),
	notFound("unknown admin route", { method: "GET", path: "/v1/admin", auth: admin }),
	notAllowed("PATCH a user", { method: "PATCH", path: "/v1/users/alice", body: { attributes: { a: 9 } } }),
	notAllowed("POST a user", { method: "POST", path: "/v1/users/alice", body: {} }),
	notAllowed("GET devices", { method: "GET", path: "/v1/users/alice/devices" }),
	notAllowed("PUT a device", { method: "PUT", path: "/v1/users/alice/devices/d1", body: ws }),
	notAllowed("GET tokens", { method: "GET", path: "/v1/users/alice/tokens" }),
	notAllowed("DELETE all tags", { method: "DELETE", path: "/v1/tags" }),
	notAllowed("PUT messages", { method: "PUT", path: "/v1/messages", body: toUsers(["alice"]) }),
	notAllowed("PUT the apps list", { method: "PUT", path: "/v1/apps", auth: admin, body: {} }),
	notAllowed("DELETE an app", { method: "DELETE", path: (fx) => `/v1/apps/${fx.appId}`, auth: admin }),
	notAllowed("GET a key", { method: "GET", path: (fx) => `/v1/apps/${fx.appId}/keys/${fx.keyId}`, auth: admin }),

	// ── POST /v1/messages and message reads ─────────────────────────────────────────────────────
	invalid("message without audience", { ...MESSAGES, body: { content: text() }, paths: ["audience"] }),
	invalid("message without content", { ...MESSAGES, body: { audience: { users: ["alice"] } }, paths: ["content"] }),
	invalid("audience empty object", { ...MESSAGES, body: { audience: {}, content: text() }, paths: ["audience"] }),
	invalid("audience with no users", { ...MESSAGES, body: toUsers([]), paths: ["audience.users"] }),
	invalid("audience users is a string", { ...MESSAGES, body: toUsers("alice"), paths: ["audience"] }),
	invalid("audience with a bad user id", { ...MESSAGES, body: toUsers(["alice", "bad id"]), paths: ["audience.users[1]"] }),
	invalid("audience of 1,001 users", {
		...MESSAGES,
		body: toUsers(Array.from({ length: 1001 }, (_, i) => `u${i}`)),
		paths: ["audience"],
	}),
	invalid("audience all=false", { ...MESSAGES, body: { audience: { all: false }, content: text() }, paths: ["audience"] }),
	invalid("audience mixing users and all", {
		...MESSAGES,
		body: { audience: { users: ["alice"], all: true }, content: text() },
		paths: ["audience"],
	}),
	invalid("audience tags without a rule", {
		...MESSAGES,
		body: { audience: { tags: {} }, content: text() },
		paths: ["audience.tags"],
	}),
	invalid("audience tags any empty", {
		...MESSAGES,
		body: { audience: { tags: { any: [] } }, content: text() },
		paths: ["audience.tags.any"],
	}),
	invalid("audience tag with a space", {
		...MESSAGES,
		body: { audience: { tags: { any: ["x y"] } }, content: text() },
		paths: ["audience.tags.any[0]"],
	}),
	invalid("audience tags unknown rule", {
		...MESSAGES,
		body: { audience: { tags: { some: ["vip"] } }, content: text() },
		paths: ["audience.tags.some"],
	}),
	invalid("text message without title or body", {
		...MESSAGES,
		body: { audience: { users: ["alice"] }, content: { type: "text" } },
		paths: ["content.body"],
	}),
	invalid("content of an unknown type", {
		...MESSAGES,
		body: { audience: { users: ["alice"] }, content: { type: "sms", body: "x" } },
		paths: ["content.type"],
	}),
	invalid("image message without media", {
		...MESSAGES,
		body: { audience: { users: ["alice"] }, content: { type: "image" } },
		paths: ["content.media"],
	}),
	invalid("media over plain http", {
		...MESSAGES,
		body: { audience: { users: ["alice"] }, content: { type: "image", media: { url: "http://cdn.example.com/a.png" } } },
		paths: ["content.media.url"],
	}),
	invalid("javascript: click URL", {
		...MESSAGES,
		body: { audience: { users: ["alice"] }, content: { ...text(), url: "javascript:alert(1)" } },
		paths: ["content.url"],
	}),
	invalid("content with an unknown field", {
		...MESSAGES,
		body: { audience: { users: ["alice"] }, content: { ...text(), html: "<b>" } },
		paths: ["content.html"],
	}),
	invalid("title of 1,025 characters", {
		...MESSAGES,
		body: { audience: { users: ["alice"] }, content: { type: "text", title: "t".repeat(1025) } },
		paths: ["content.title"],
	}),
	tooLarge("content data over 64 KiB", {
		...MESSAGES,
		body: { audience: { users: ["alice"] }, content: { ...text(), data: { blob: "d".repeat(64 * 1024) } } },
		paths: ["content"],
	}),
	// Over 65,536 characters the schema stops at the body itself, before anything scans it.
	tooLarge("text body over 64 KiB", {
		...MESSAGES,
		body: { audience: { users: ["alice"] }, content: text("b".repeat(64 * 1024 + 1)) },
		paths: ["content.body"],
	}),
	// Fewer characters but more bytes: the serialized content is measured after the schema.
	tooLarge("text body under 65,536 characters but over 64 KiB of UTF-8", {
		...MESSAGES,
		body: { audience: { users: ["alice"] }, content: text("北".repeat(30_000)) },
		paths: ["content"],
	}),
	tooLarge("message body over 1 MiB", {
		...MESSAGES,
		body: { audience: { users: ["alice"] }, content: { ...text(), data: { blob: "d".repeat(MIB) } } },
	}),
	invalid("ttl of 0", {
		...MESSAGES,
		body: { ...toUsers(["alice"]), options: { ttl_seconds: 0 } },
		paths: ["options.ttl_seconds"],
	}),
	invalid("ttl as a string", {
		...MESSAGES,
		body: { ...toUsers(["alice"]), options: { ttl_seconds: "1h" } },
		paths: ["options.ttl_seconds"],
	}),
	invalid("ttl over 30 days", {
		...MESSAGES,
		body: { ...toUsers(["alice"]), options: { ttl_seconds: 30 * 24 * 3600 + 1 } },
		paths: ["options.ttl_seconds"],
	}),
	invalid("ttl fractional", {
		...MESSAGES,
		body: { ...toUsers(["alice"]), options: { ttl_seconds: 1.5 } },
		paths: ["options.ttl_seconds"],
	}),
	invalid("priority urgent", {
		...MESSAGES,
		body: { ...toUsers(["alice"]), options: { priority: "urgent" } },
		paths: ["options.priority"],
	}),
	invalid("priority as a number", {
		...MESSAGES,
		body: { ...toUsers(["alice"]), options: { priority: 10 } },
		paths: ["options.priority"],
	}),
	invalid("unknown option", {
		...MESSAGES,
		body: { ...toUsers(["alice"]), options: { delay_seconds: 60 } },
		paths: ["options.delay_seconds"],
	}),
	invalid("collapse key with a space", {
		...MESSAGES,
		body: { ...toUsers(["alice"]), options: { collapse_key: "a b" } },
		paths: ["options.collapse_key"],
	}),
	invalid("idempotency key empty", {
		...MESSAGES,
		body: { ...toUsers(["alice"]), options: { idempotency_key: "" } },
		paths: ["options.idempotency_key"],
	}),
	invalid("options is an array", { ...MESSAGES, body: { ...toUsers(["alice"]), options: [] }, paths: ["options"] }),
	invalid("unknown top-level message field", {
		...MESSAGES,
		body: { ...toUsers(["alice"]), schedule: { at: "2030-01-01T00:00:00Z" } },
		paths: ["schedule"],
	}),
	invalid("message id with a slash", { method: "GET", path: "/v1/messages/msg%2F1", paths: ["id"] }),
	notFound("unknown message", { method: "GET", path: "/v1/messages/msg_00000000000000000000000000" }),
	notFound("recall of an unknown message", { method: "DELETE", path: "/v1/messages/msg_00000000000000000000000000" }),
	notFound("recipient of an unknown message", {
		method: "GET",
		path: "/v1/messages/msg_00000000000000000000000000/recipients/alice",
	}),
	invalid("recipient with a bad user id", {
		method: "GET",
		path: (fx) => `/v1/messages/${fx.messageId}/recipients/a%20b`,
		paths: ["userId"],
	}),
];

describe("bad inputs", () => {
	beforeAll(async () => {
		const app = await newApp("bad inputs");
		Object.assign(f, { appId: app.appId, key: app.key, keyId: app.keyId });
		f.readKey = (await newKey(app.appId, ["read"])).secret;
		f.sendKey = (await newKey(app.appId, ["send"])).secret;
		f.manageKey = (await newKey(app.appId, ["manage"])).secret;
		const revoked = await newKey(app.appId);
		await ok("DELETE", `/v1/apps/${app.appId}/keys/${revoked.id}`, ADMIN);
		f.revokedKey = revoked.secret;
		const other = await newApp("other");
		f.otherAppId = other.appId;
		f.otherKeyId = other.keyId;

		await ok("PUT", "/v1/users/alice", app.key, { attributes: { plan: "gold" }, locale: "en", timezone: "UTC" });
		await ok("PUT", "/v1/users/alice/tags", app.key, { add: ["vip"] });
		await ok("POST", "/v1/tags/vip/users", app.key, { add: ["bob"] });
		await ok("POST", "/v1/users/alice/devices", app.key, { id: "d1", ...apns });
		await ok("PUT", "/v1/users/big", app.key, { attributes: { a: "x".repeat(16 * 1024 - 500) } });
		await ok("PUT", "/v1/users/full/tags", app.key, { add: Array.from({ length: 1000 }, (_, i) => `t${i}`) });
		f.messageId = (await ok("POST", "/v1/messages", app.key, toUsers(["alice"]))).id;
		f.clientToken = (await ok("POST", "/v1/users/alice/tokens", app.key, {})).token;
		const secret = await appTokenSecret(env, app.appId);
		f.expiredToken = (await signClientToken(secret!, app.appId, "alice", -60)).token;
	});

	it(`has at least 110 cases, all with distinct names (${cases.length})`, () => {
		expect(cases.length).toBeGreaterThanOrEqual(110);
		expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length);
	});

	for (const c of cases) {
		it(`${c.status} ${c.code}: ${c.name}`, async () => {
			const before = await snapshot();
			const headers: Record<string, string> = { "content-type": "application/json", ...c.headers };
			const auth = c.auth === undefined ? `Bearer ${f.key}` : resolve(c.auth);
			if (auth !== null) headers.authorization = auth;
			const init: RequestInit = { method: c.method, headers };
			if (c.raw !== undefined) init.body = resolve(c.raw);
			else if (c.body !== undefined) init.body = JSON.stringify(resolve(c.body));
			const res = await send(`${BASE}${resolve(c.path)}`, init);
			expect(res.status, res.text).toBeLessThan(500);
			const error = expectError(res, c.status, c.code);
			if (c.paths) {
				expect(error.details, "a schema violation names its fields").toBeDefined();
				expect(detailPaths(res)).toEqual(expect.arrayContaining(c.paths));
			}
			expect(await snapshot()).toEqual(before);
		});
	}

	// Bug in workers/schemas/messages.ts (owned elsewhere): content.body is capped at 65,536 characters
	// by the schema, so a body over 64 KiB answers 400 invalid_request instead of the contract's 413.
	it("the fixture still works after every bad input", async () => {
		const user = await call("GET", "/v1/users/alice", f.key);
		expect(user.status).toBe(200);
		expect(user.body).toMatchObject({ attributes: { plan: "gold" }, locale: "en", timezone: "UTC", tags: ["vip"] });
		expect(user.body.devices.map((d: { id: string }) => d.id)).toEqual(["d1"]);
		expect((await call("GET", "/v1/users/alice", f.readKey)).status).toBe(200);
		expect((await call("GET", "/v1/tags/vip/users", f.key)).body.users).toEqual(["alice", "bob"]);
	});
});
