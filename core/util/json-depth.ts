/** The deepest nesting of arrays and objects in a JSON text, strings skipped; linear and iterative. */
export function nestingDepth(text: string): number {
	let depth = 0;
	let max = 0;
	let inString = false;
	for (let i = 0; i < text.length; i++) {
		const ch = text.charCodeAt(i);
		if (inString) {
			if (ch === 0x5c)
				i++; // backslash: skip the escaped character
			else if (ch === 0x22) inString = false;
		} else if (ch === 0x22) inString = true;
		else if (ch === 0x5b || ch === 0x7b) {
			depth++;
			if (depth > max) max = depth;
		} else if (ch === 0x5d || ch === 0x7d) depth--;
	}
	return max;
}
