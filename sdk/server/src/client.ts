import { type FetchLike, type RequestOptions, Transport } from "./http.js";
import type { RetryOptions } from "./retry.js";
import type {
	AppInfo,
	ClientToken,
	CreateAppInput,
	CreateDeviceInput,
	CreatedApp,
	CreateKeyInput,
	CreateTokenInput,
	Device,
	MessageAccepted,
	MessageView,
	NewKey,
	PageQuery,
	PutUserInput,
	RecallResult,
	RecipientView,
	SendMessageInput,
	TagChange,
	TagList,
	TagUsers,
	TokensRevoked,
	User,
} from "./types.js";

export interface WarblerOptions {
	/** e.g. `https://push.example.com` or `http://127.0.0.1:8787`. */
	baseUrl: string;
	/** An app key's secret; the admin token for `apps.*`. */
	key: string;
	/** A `fetch` implementation. Default: the global one. */
	fetch?: FetchLike;
	/** Retries on network errors, timeouts, 429 (honouring Retry-After) and 5xx. */
	retry?: RetryOptions;
	/** Per attempt. Default 30 s. */
	timeoutMs?: number;
	/** Extra headers on every request. */
	headers?: Record<string, string>;
}

const seg = encodeURIComponent;

/**
 * The Warbler REST API for backends (Node ≥ 20, Workers, Deno, Bun). Every method throws a
 * `WarblerError` on failure. Calls that are safe to repeat are retried; sending a message is made
 * safe by its idempotency key, which stays the same across retries.
 */
export class Warbler {
	private readonly http: Transport;

	constructor(options: WarblerOptions) {
		this.http = new Transport({ ...options, token: options.key });
	}

	/** Apps and keys: needs the admin token as `key`. */
	readonly apps = {
		/** Not retried after an unknown outcome (a second app could be created); 429 is. */
		create: (input: CreateAppInput, opts?: RequestOptions) =>
			this.http.request<CreatedApp>({ method: "POST", path: "/v1/apps", body: input, idempotent: false, ...opts }),
		get: (appId: string, opts?: RequestOptions) =>
			this.http.request<AppInfo>({ method: "GET", path: `/v1/apps/${seg(appId)}`, idempotent: true, ...opts }),
		createKey: (appId: string, input: CreateKeyInput, opts?: RequestOptions) =>
			this.http.request<NewKey>({ method: "POST", path: `/v1/apps/${seg(appId)}/keys`, body: input, idempotent: false, ...opts }),
		revokeKey: (appId: string, keyId: string, opts?: RequestOptions) =>
			this.http.request<void>({ method: "DELETE", path: `/v1/apps/${seg(appId)}/keys/${seg(keyId)}`, idempotent: true, ...opts }),
	};

	readonly users = {
		/** Creates or updates; attributes are merged, `null` deletes one. */
		put: (userId: string, input: PutUserInput = {}, opts?: RequestOptions) =>
			this.http.request<User>({ method: "PUT", path: `/v1/users/${seg(userId)}`, body: input, idempotent: true, ...opts }),
		get: (userId: string, opts?: RequestOptions) =>
			this.http.request<User>({ method: "GET", path: `/v1/users/${seg(userId)}`, idempotent: true, ...opts }),
		/** Erases the user's attributes, tags, devices and inbox. */
		delete: (userId: string, opts?: RequestOptions) =>
			this.http.request<void>({ method: "DELETE", path: `/v1/users/${seg(userId)}`, idempotent: true, ...opts }),
	};

	readonly devices = {
		/** Retried after an unknown outcome only when you give the device `id`. */
		create: (userId: string, input: CreateDeviceInput, opts?: RequestOptions) =>
			this.http.request<Device>({
				method: "POST",
				path: `/v1/users/${seg(userId)}/devices`,
				body: input,
				idempotent: input.id !== undefined,
				...opts,
			}),
		delete: (userId: string, deviceId: string, opts?: RequestOptions) =>
			this.http.request<void>({
				method: "DELETE",
				path: `/v1/users/${seg(userId)}/devices/${seg(deviceId)}`,
				idempotent: true,
				...opts,
			}),
	};

	readonly tokens = {
		/** Mints a client token (JWT) for one user, for the client SDK's `getToken`. */
		create: (userId: string, input: CreateTokenInput = {}, opts?: RequestOptions) =>
			this.http.request<ClientToken>({
				method: "POST",
				path: `/v1/users/${seg(userId)}/tokens`,
				body: input,
				idempotent: true,
				...opts,
			}),
		/** Refuses every client token of the user minted until now and closes the sockets they opened. */
		revoke: (userId: string, opts?: RequestOptions) =>
			this.http.request<TokensRevoked>({
				method: "POST",
				path: `/v1/users/${seg(userId)}/tokens/revoke`,
				// Revoking again only moves the cutoff later: safe to retry.
				idempotent: true,
				...opts,
			}),
	};

	readonly tags = {
		/** Adds and removes tags of one user; answers the user's tags after the change. */
		setUserTags: (userId: string, change: TagChange, opts?: RequestOptions) =>
			this.http.request<{ tags: string[] }>({
				method: "PUT",
				path: `/v1/users/${seg(userId)}/tags`,
				body: change,
				idempotent: true,
				...opts,
			}),
		/** Adds and removes up to 1,000 users of one tag. */
		updateUsers: (tag: string, change: TagChange, opts?: RequestOptions) =>
			this.http.request<{ added: number; removed: number }>({
				method: "POST",
				path: `/v1/tags/${seg(tag)}/users`,
				body: change,
				idempotent: true,
				...opts,
			}),
		list: (query: PageQuery = {}, opts?: RequestOptions) =>
			this.http.request<TagList>({ method: "GET", path: "/v1/tags", query: { ...query }, idempotent: true, ...opts }),
		users: (tag: string, query: PageQuery = {}, opts?: RequestOptions) =>
			this.http.request<TagUsers>({
				method: "GET",
				path: `/v1/tags/${seg(tag)}/users`,
				query: { ...query },
				idempotent: true,
				...opts,
			}),
		/** Every tag, page after page: `for await (const t of warbler.tags.all()) …`. */
		all: (opts?: RequestOptions) =>
			paginate(
				(cursor) => this.tags.list({ cursor }, opts),
				(page) => page.tags,
			),
		/** Every user id of a tag, page after page. */
		allUsers: (tag: string, opts?: RequestOptions & { limit?: number }) =>
			paginate(
				(cursor) => this.tags.users(tag, { cursor, limit: opts?.limit }, { signal: opts?.signal }),
				(page) => page.users,
			),
	};

	readonly messages = {
		/**
		 * Sends a message. `options.idempotency_key` is generated when absent and reused on every
		 * retry, so a retry never sends twice; the key is echoed back as `idempotency_key`.
		 */
		send: async (input: SendMessageInput, opts?: RequestOptions): Promise<MessageAccepted> => {
			const idempotency_key = input.options?.idempotency_key ?? crypto.randomUUID();
			const body = { ...input, options: { ...input.options, idempotency_key } };
			const accepted = await this.http.request<Omit<MessageAccepted, "idempotency_key">>({
				method: "POST",
				path: "/v1/messages",
				body,
				idempotent: true,
				...opts,
			});
			return { ...accepted, idempotency_key };
		},
		get: (id: string, opts?: RequestOptions) =>
			this.http.request<MessageView>({ method: "GET", path: `/v1/messages/${seg(id)}`, idempotent: true, ...opts }),
		/** One recipient's delivery status. */
		recipient: (id: string, userId: string, opts?: RequestOptions) =>
			this.http.request<RecipientView>({
				method: "GET",
				path: `/v1/messages/${seg(id)}/recipients/${seg(userId)}`,
				idempotent: true,
				...opts,
			}),
		/** Recalls: the message leaves every inbox that still holds it; online devices get a `recall` frame. */
		recall: (id: string, opts?: RequestOptions) =>
			this.http.request<RecallResult>({ method: "DELETE", path: `/v1/messages/${seg(id)}`, idempotent: true, ...opts }),
	};
}

async function* paginate<P extends { next_cursor: string | null }, T>(
	fetchPage: (cursor: string | undefined) => Promise<P>,
	items: (page: P) => T[],
): AsyncGenerator<T> {
	let cursor: string | undefined;
	do {
		const page = await fetchPage(cursor);
		yield* items(page);
		cursor = page.next_cursor ?? undefined;
	} while (cursor);
}
