// Minimal types for http_ece (RFC 8188 / RFC 8291), which ships none.
declare module "http_ece" {
	import type { ECDH } from "node:crypto";

	interface EceParams {
		version?: "aes128gcm" | "aesgcm";
		key?: string | Buffer;
		salt?: string | Buffer;
		rs?: number;
		keyid?: string | Buffer;
		dh?: string | Buffer;
		privateKey?: ECDH;
		authSecret?: string | Buffer;
		pad?: number;
	}
	const ece: {
		decrypt(buffer: Buffer, params: EceParams): Buffer;
		encrypt(buffer: Buffer, params: EceParams): Buffer;
	};
	export default ece;
}
