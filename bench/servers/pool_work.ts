/**
 * The CPU-bound work of the `pool` bench section: a synchronous WSGI app
 * that computes a Fibonacci number the slow way (a few ms of CPU), served
 * inline or from a worker pool by `ours_pool.ts`.
 *
 * @module
 */

/** The n-th Fibonacci number, the slow way. */
export function fib(n: number): number {
  return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

/** Which Fibonacci number `/fib` computes. */
export const FIB_N = 27;
/** What `/fib` answers. */
export const FIB_BODY = `fib(${FIB_N}) = ${fib(FIB_N)}\n`;

/** The synchronous app: `fib(FIB_N)`, computed on every request. */
export function fibApp(
  _environ: Record<string, unknown>,
  startResponse: (status: string, headers: [string, string][]) => unknown,
): string[] {
  const body = `fib(${FIB_N}) = ${fib(FIB_N)}\n`;
  startResponse("200 OK", [["Content-Type", "text/plain"]]);
  return [body];
}
