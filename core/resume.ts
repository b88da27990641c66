/**
 * How a suspended coroutine is resumed: the one name for the state that the
 * scheduler (and anything else that drives a generator by hand) keeps
 * between two steps.
 *
 * @module
 */

/**
 * How a coroutine is resumed: `"next"` sends a value in (`gen.next(value)`),
 * `"throw"` throws an error in (`gen.throw(error)`), `"return"` ends it so
 * that its `finally` blocks run (`gen.return(value)`: a cancel).
 *
 * Strings rather than small integers: a task shows `resume: "throw"` in a
 * debugger, and the scheduler's step costs the same (V8 compares interned
 * literals by identity; 2 M bare `yield`s took the same CPU time either way).
 *
 * @example
 * ```ts
 * import type { Resume } from "./resume.ts";
 * function step(gen: Generator<unknown, unknown, unknown>, how: Resume, value: unknown) {
 *   return how === "next" ? gen.next(value) : how === "throw" ? gen.throw(value) : gen.return(value);
 * }
 * function* numbers() {
 *   try {
 *     yield 1;
 *   } finally {
 *     console.log("cleaned up");
 *   }
 * }
 * const gen = numbers();
 * step(gen, "next", undefined); // { value: 1, done: false }
 * step(gen, "return", undefined); // logs "cleaned up"; { value: undefined, done: true }
 * ```
 */
export type Resume = "next" | "throw" | "return";
