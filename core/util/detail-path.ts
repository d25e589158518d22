/** A field's path as error details name it: `audience.users[3]`, `content.data.items[0]`. */
export function detailPath(path: readonly PropertyKey[]): string {
	let out = "";
	for (const p of path) {
		if (typeof p === "number") out += `[${p}]`;
		else out += out ? `.${String(p)}` : String(p);
	}
	return out;
}
