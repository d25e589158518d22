/**
 * JSON text that this code writes and later reads back itself (Durable Object SQLite columns,
 * sealed payloads): one codec per stored shape declares, in one place, the type written and the
 * type read. Not a validator: anything from outside goes through a zod schema instead.
 */
export interface JsonCodec<T> {
	stringify(value: T): string;
	parse(text: string): T;
}

export function jsonCodec<T>(): JsonCodec<T> {
	return {
		stringify: (value) => JSON.stringify(value),
		parse: (text) => JSON.parse(text) as T,
	};
}
