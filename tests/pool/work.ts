/**
 * Functions the pool tests run in workers: CPU-bound work, errors, a
 * runaway loop, a crash, and synchronous WSGI apps.
 *
 * @module
 */

/** The n-th Fibonacci number, the slow way (CPU-bound on purpose). */
export function fib(n: number): number {
  return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

/** Sums its arguments after a pause (a promise is awaited). */
export async function slowSum(ms: number, ...values: number[]): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, ms));
  return values.reduce((a, b) => a + b, 0);
}

/** Throws a RangeError. */
export function fails(what: string): never {
  throw new RangeError(`cannot do ${what}`);
}

/** Never returns. */
export function spin(): never {
  for (;;) {
    // a runaway computation
  }
}

/** Returns a function, which cannot be copied back. */
export function returnsFunction(): () => void {
  return () => {};
}

/** Crashes its worker: an error thrown from a timer, outside the call. */
export function crash(): Promise<never> {
  setTimeout(() => {
    throw new Error("boom from a timer");
  }, 0);
  return new Promise(() => {});
}

/** The worker's identity (to tell workers apart). */
export function workerId(): string {
  return (globalThis as { __id?: string }).__id ??= crypto.randomUUID();
}

/** A synchronous WSGI app: reports the request, computing fib(n) from the query first. */
export function report(
  environ: Record<string, unknown>,
  startResponse: (status: string, headers: [string, string][]) => unknown,
): string[] {
  const n = Number(new URLSearchParams(environ.QUERY_STRING as string).get("n") ?? "20");
  const input = environ["wsgi.input"] as { read(): Uint8Array };
  const body = new TextDecoder().decode(input.read());
  startResponse("200 OK", [["Content-Type", "text/plain"], ["X-Worker", "yes"]]);
  return [
    `${environ.REQUEST_METHOD} ${environ.SCRIPT_NAME}${environ.PATH_INFO} fib(${n})=${fib(n)} body=${body}`,
  ];
}

/** Ends its own worker with self.close(). */
export function closesItself(): number {
  (globalThis as { close?: () => void }).close?.();
  return 1;
}

/** Ends its own worker with Deno.exit(). */
export function exitsItself(): never {
  Deno.exit(3);
}
