import { describe, expect, it } from "vitest";
import { call, newApp, ok } from "../http.js";
import { detailPaths, expectError, id, snapshot } from "./helpers.js";

const range = (n: number, prefix: string, width = 4) =>
	Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(width, "0")}`);

describe("PUT /v1/users/{userId}/tags", () => {
	it("adds and removes tags, answering the user's tags sorted", async () => {
		const { key } = await newApp();
		const first = await call("PUT", "/v1/users/u1/tags", key, { add: ["vip", "beijing", "trial"] });
		expect(first.status).toBe(200);
		expect(first.body).toEqual({ tags: ["beijing", "trial", "vip"] });
		const second = await call("PUT", "/v1/users/u1/tags", key, { add: ["gold", "vip"], remove: ["trial", "never-had"] });
		expect(second.body).toEqual({ tags: ["beijing", "gold", "vip"] });
		// The user exists (created by the first call) and shows the same tags.
		expect((await call("GET", "/v1/users/u1", key)).body.tags).toEqual(["beijing", "gold", "vip"]);
		// An empty call changes nothing and answers the current tags.
		expect((await call("PUT", "/v1/users/u1/tags", key, {})).body).toEqual({ tags: ["beijing", "gold", "vip"] });
	});

	it("duplicate names in one call count once", async () => {
		const { key } = await newApp();
		const res = await call("PUT", "/v1/users/u1/tags", key, { add: ["a", "a", "b"] });
		expect(res.body).toEqual({ tags: ["a", "b"] });
		expect((await call("GET", "/v1/tags", key)).body.tags).toEqual([
			{ name: "a", users: 1 },
			{ name: "b", users: 1 },
		]);
	});

	it("refuses a tag both added and removed", async () => {
		const { key } = await newApp();
		await ok("PUT", "/v1/users/u1/tags", key, { add: ["x"] });
		const before = await snapshot();
		const res = await call("PUT", "/v1/users/u1/tags", key, { add: ["x", "y"], remove: ["x"] });
		expectError(res, 400, "invalid_request");
		expect(detailPaths(res)).toEqual(["remove"]);
		expect(await snapshot()).toEqual(before);
	});

	it("tag names: 128 characters accepted, 129 rejected", async () => {
		const { key } = await newApp();
		expect((await call("PUT", "/v1/users/u1/tags", key, { add: [id(128, "t")] })).body.tags).toEqual([id(128, "t")]);
		const res = await call("PUT", "/v1/users/u1/tags", key, { add: ["ok", id(129, "t")] });
		expectError(res, 400, "invalid_request");
		expect(detailPaths(res)).toEqual(["add[1]"]);
		expect((await call("GET", "/v1/users/u1", key)).body.tags).toEqual([id(128, "t")]);
	});

	it("a user holds at most 1,000 tags: the 1,000th fits, the 1,001st is refused and nothing changes", async () => {
		const { key } = await newApp();
		const tags = range(999, "t");
		expect((await call("PUT", "/v1/users/u1/tags", key, { add: tags })).body.tags).toHaveLength(999);
		expect((await call("PUT", "/v1/users/u1/tags", key, { add: ["last"] })).body.tags).toHaveLength(1000);
		const before = await snapshot();
		const over = await call("PUT", "/v1/users/u1/tags", key, { add: ["one-more"] });
		expectError(over, 400, "invalid_request");
		expect(detailPaths(over)).toEqual(["add"]);
		// Through the bulk route too.
		const bulk = await call("POST", "/v1/tags/one-more/users", key, { add: ["u2", "u1"] });
		expectError(bulk, 400, "invalid_request");
		expect(detailPaths(bulk)).toEqual(["add"]);
		expect(await snapshot()).toEqual(before);
		// Swapping one tag for another within the limit is fine.
		const swap = await call("PUT", "/v1/users/u1/tags", key, { add: ["one-more"], remove: ["last"] });
		expect(swap.status).toBe(200);
		expect(swap.body.tags).toHaveLength(1000);
		expect(swap.body.tags).toContain("one-more");
	});

	it("the 1,000-tag limit holds when requests race for the last places", async () => {
		const { key } = await newApp();
		await ok("PUT", "/v1/users/u1/tags", key, { add: range(990, "t") });
		const racing = await Promise.all(
			Array.from({ length: 20 }, (_, i) => call("PUT", "/v1/users/u1/tags", key, { add: [`race-${i}`] })),
		);
		const statuses = racing.map((r) => r.status);
		expect(statuses.filter((s) => s === 200)).toHaveLength(10);
		expect(statuses.filter((s) => s === 400)).toHaveLength(10);
		expect((await call("GET", "/v1/users/u1", key)).body.tags).toHaveLength(1000);
		// The bulk route, racing with itself for the same user: still 1,000.
		await ok("PUT", "/v1/users/u1/tags", key, { remove: range(10, "t") });
		const bulk = await Promise.all(
			Array.from({ length: 20 }, (_, i) => call("POST", `/v1/tags/bulk-${i}/users`, key, { add: ["u1", `other-${i}`] })),
		);
		expect(bulk.filter((r) => r.status === 200)).toHaveLength(10);
		expect(bulk.filter((r) => r.status === 400)).toHaveLength(10);
		expect((await call("GET", "/v1/users/u1", key)).body.tags).toHaveLength(1000);
	});

	it("1,000 names in one call are accepted, 1,001 are not", async () => {
		const { key } = await newApp();
		expect((await call("PUT", "/v1/users/u1/tags", key, { add: range(1000, "t") })).body.tags).toHaveLength(1000);
		expect((await call("PUT", "/v1/users/u1/tags", key, { remove: range(1000, "t") })).body.tags).toEqual([]);
		const before = await snapshot();
		const res = await call("PUT", "/v1/users/u2/tags", key, { add: range(1001, "t") });
		expectError(res, 400, "invalid_request");
		expect(detailPaths(res)).toEqual(["add"]);
		expect(await snapshot()).toEqual(before);
	});
});

describe("POST /v1/tags/{tag}/users", () => {
	it("adds and removes users, counting only real changes", async () => {
		const { key } = await newApp();
		const res = await call("POST", "/v1/tags/vip/users", key, { add: ["u1", "u2", "u3"] });
		expect(res.status).toBe(200);
		expect(res.body).toEqual({ added: 3, removed: 0 });
		const again = await call("POST", "/v1/tags/vip/users", key, { add: ["u1", "u4"], remove: ["u2", "u9"] });
		expect(again.body).toEqual({ added: 1, removed: 1 });
		expect((await call("GET", "/v1/tags/vip/users", key)).body).toEqual({ users: ["u1", "u3", "u4"], next_cursor: null });
		// The users exist now and carry the tag.
		expect((await call("GET", "/v1/users/u4", key)).body.tags).toEqual(["vip"]);
		expect((await call("POST", "/v1/tags/vip/users", key, {})).body).toEqual({ added: 0, removed: 0 });
	});

	it("takes 1,000 ids in one call, not 1,001 (add and remove together)", async () => {
		const { key } = await newApp();
		const users = range(1000, "user-");
		expect((await call("POST", "/v1/tags/big/users", key, { add: users })).body).toEqual({ added: 1000, removed: 0 });
		expect((await call("GET", "/v1/tags", key)).body.tags).toEqual([{ name: "big", users: 1000 }]);
		const before = await snapshot();
		for (const body of [{ add: range(1001, "n-") }, { remove: range(1001, "user-") }, { add: ["extra"], remove: users }]) {
			const res = await call("POST", "/v1/tags/big/users", key, body);
			expectError(res, 400, "invalid_request");
			expect(detailPaths(res).length).toBeGreaterThan(0);
		}
		expect(await snapshot()).toEqual(before);
		expect((await call("POST", "/v1/tags/big/users", key, { remove: users })).body).toEqual({ added: 0, removed: 1000 });
		expectError(await call("GET", "/v1/tags/big/users", key), 404, "not_found");
	});

	it("user ids in the body: 128 characters accepted, 129 rejected with the item's path", async () => {
		const { key } = await newApp();
		expect((await call("POST", "/v1/tags/t/users", key, { add: [id(128, "u")] })).body).toEqual({ added: 1, removed: 0 });
		const res = await call("POST", "/v1/tags/t/users", key, { add: ["fine", id(129, "u")] });
		expectError(res, 400, "invalid_request");
		expect(detailPaths(res)).toEqual(["add[1]"]);
		const tag = await call("POST", `/v1/tags/${id(129, "t")}/users`, key, { add: ["u1"] });
		expectError(tag, 400, "invalid_request");
		expect(detailPaths(tag)).toEqual(["tag"]);
		expect((await call("POST", `/v1/tags/${id(128, "t")}/users`, key, { add: ["u1"] })).status).toBe(200);
	});
});

describe("GET /v1/tags", () => {
	it("pages through every tag by name with its user count, 100 per page by default", async () => {
		const { key } = await newApp();
		const names = range(250, "tag-", 3);
		await ok("PUT", "/v1/users/u1/tags", key, { add: names });
		await ok("PUT", "/v1/users/u2/tags", key, { add: names.slice(0, 10) });
		const seen: { name: string; users: number }[] = [];
		let cursor: string | null = null;
		const sizes: number[] = [];
		do {
			const res = await call("GET", `/v1/tags${cursor ? `?cursor=${encodeURIComponent(cursor)}` : ""}`, key);
			expect(res.status).toBe(200);
			sizes.push(res.body.tags.length);
			seen.push(...res.body.tags);
			cursor = res.body.next_cursor;
		} while (cursor);
		expect(sizes).toEqual([100, 100, 50]);
		expect(seen.map((t) => t.name)).toEqual(names);
		expect(seen.slice(0, 10).every((t) => t.users === 2)).toBe(true);
		expect(seen.slice(10).every((t) => t.users === 1)).toBe(true);
	});

	it("honours limit and ends with next_cursor null", async () => {
		const { key } = await newApp();
		await ok("PUT", "/v1/users/u1/tags", key, { add: ["a", "b", "c", "d", "e"] });
		const p1 = await call("GET", "/v1/tags?limit=2", key);
		expect(p1.body.tags.map((t: { name: string }) => t.name)).toEqual(["a", "b"]);
		const p2 = await call("GET", `/v1/tags?limit=2&cursor=${p1.body.next_cursor}`, key);
		expect(p2.body.tags.map((t: { name: string }) => t.name)).toEqual(["c", "d"]);
		const p3 = await call("GET", `/v1/tags?limit=2&cursor=${p2.body.next_cursor}`, key);
		expect(p3.body).toEqual({ tags: [{ name: "e", users: 1 }], next_cursor: null });
		// An exact fit still ends with null, not a cursor to an empty page.
		expect((await call("GET", "/v1/tags?limit=5", key)).body.next_cursor).toBeNull();
	});

	it("an app without tags gets an empty list", async () => {
		const { key } = await newApp();
		expect((await call("GET", "/v1/tags", key)).body).toEqual({ tags: [], next_cursor: null });
	});
});

describe("GET /v1/tags/{tag}/users", () => {
	it("pages a tag's users in id order with cursor and limit", async () => {
		const { key } = await newApp();
		const users = range(237, "u");
		await ok("POST", "/v1/tags/vip/users", key, { add: [...users].reverse() });
		await ok("POST", "/v1/tags/other/users", key, { add: ["zzz"] });
		const seen: string[] = [];
		const sizes: number[] = [];
		let cursor: string | null = null;
		do {
			const res = await call("GET", `/v1/tags/vip/users?limit=50${cursor ? `&cursor=${cursor}` : ""}`, key);
			expect(res.status).toBe(200);
			sizes.push(res.body.users.length);
			seen.push(...res.body.users);
			cursor = res.body.next_cursor;
		} while (cursor);
		expect(sizes).toEqual([50, 50, 50, 50, 37]);
		expect(seen).toEqual(users);
		// Default page size is 100; limit=1000 takes all.
		const def = await call("GET", "/v1/tags/vip/users", key);
		expect(def.body.users).toEqual(users.slice(0, 100));
		expect(typeof def.body.next_cursor).toBe("string");
		expect((await call("GET", "/v1/tags/vip/users?limit=1000", key)).body).toEqual({ users, next_cursor: null });
		expect((await call("GET", "/v1/tags/vip/users?limit=1", key)).body.users).toEqual(["u0000"]);
	});

	it("answers 404 for a tag nobody has", async () => {
		const { key } = await newApp();
		expectError(await call("GET", "/v1/tags/nobody-here/users", key), 404, "not_found");
	});
});
