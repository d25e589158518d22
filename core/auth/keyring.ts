import { SealedJson, seal, unseal } from "./crypto.js";

/**
 * Encryption keys for secrets at rest. ENCRYPTION_KEY is version ENCRYPTION_KEY_VERSION (default 1);
 * during a rotation ENCRYPTION_KEY_PREVIOUS still opens records sealed under the version before.
 * `POST /v1/admin/rotate-encryption` re-seals every record under the current key (README: Rotating).
 */
interface KeyEnv {
	ENCRYPTION_KEY: string;
	ENCRYPTION_KEY_VERSION?: string;
	ENCRYPTION_KEY_PREVIOUS?: string;
}

function keyEnv(env: Env): KeyEnv {
	return env as unknown as KeyEnv;
}

export function currentKeyVersion(env: Env): number {
	return Number(keyEnv(env).ENCRYPTION_KEY_VERSION ?? "1");
}

export function sealSecret(env: Env, plaintext: string): Promise<string> {
	return seal(plaintext, keyEnv(env).ENCRYPTION_KEY, currentKeyVersion(env));
}

export async function unsealSecret(env: Env, sealedJson: string): Promise<string> {
	const { v } = SealedJson.parse(sealedJson);
	const k = keyEnv(env);
	if (v === currentKeyVersion(env)) return unseal(sealedJson, k.ENCRYPTION_KEY);
	if (k.ENCRYPTION_KEY_PREVIOUS) return unseal(sealedJson, k.ENCRYPTION_KEY_PREVIOUS);
	throw new Error(`no key for sealed record version ${v}`);
}

export function sealedVersion(sealedJson: string): number {
	return SealedJson.parse(sealedJson).v;
}
