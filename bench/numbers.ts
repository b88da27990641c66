/**
 * Figures as the tables show them, and the median the tables are made of.
 *
 * @module
 */

/** The median of `values` (the mean of the middle two for an even count); NaN when empty. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** `n` with `digits` significant digits, without exponent (`1.23`, `0.0456`, `10.0`, `1234`); `—` when not finite. */
export function fmt(n: number, digits = 3): string {
  if (!Number.isFinite(n)) return "—";
  if (Math.abs(n) >= 10 ** digits) return Math.round(n).toString();
  return n.toPrecision(digits);
}

/** An integer with spaces between thousands: `100 000`. */
export function count(n: number): string {
  return Math.round(n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, " ");
}
