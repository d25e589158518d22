import { md5 } from "@noble/hashes/legacy";
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils";

/** Lower-case hex MD5 of the UTF-8 text: vivo and Meizu sign with it, and Web Crypto has no MD5. */
export function md5Hex(text: string): string {
	return bytesToHex(md5(utf8ToBytes(text)));
}
