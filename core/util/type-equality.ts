/**
 * Compile-time checks that two types are the same: `npm run typecheck` fails when they drift.
 *
 * `Equals` is identity, not just mutual assignability: mutual assignability would miss an optional
 * field one side lacks (`{a?: string}` and `{}` are assignable both ways).
 */
export type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

/** `A` is assignable to `B` (one direction only: for known, reported differences). */
export type Extends<A, B> = [A] extends [B] ? true : false;

/** Compiles only when `T` is `true`: `export type X = Assert<Equals<A, B>>`. */
export type Assert<T extends true> = T;
