import { detailPath } from "../../core/util/detail-path.js";
import type { ErrorDetail } from "../../protocol/errors.js";
import { AppError } from "./errors.js";

interface Issue {
	code: string;
	path: PropertyKey[];
	message: string;
	keys?: string[];
	/** `{status: 413}`: the value is over a size limit, which the contract answers with 413. */
	params?: Record<string, unknown>;
}

/** Turns a zod failure into the contract's 400 with one detail per bad field. */
export function validationError(issues: readonly Issue[], target: string): AppError {
	const details: ErrorDetail[] = [];
	for (const issue of issues.slice(0, 50)) {
		if (issue.code === "unrecognized_keys" && issue.keys) {
			for (const k of issue.keys) details.push({ path: detailPath([...issue.path, k]), message: "unknown field" });
		} else {
			details.push({ path: detailPath(issue.path), message: issue.message });
		}
	}
	const where = target === "json" ? "body" : target === "param" ? "path" : target;
	if (issues.some((i) => i.params?.status === 413)) {
		return new AppError("payload_too_large", `The request ${where} is over a size limit.`, details);
	}
	return new AppError("invalid_request", `The request ${where} is invalid.`, details);
}
