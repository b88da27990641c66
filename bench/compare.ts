/**
 * The tables of the HTTP sections: per measurement, the median over rounds
 * of each server, the ratios of ours to `Deno.serve` and to `node:http`, and
 * the targets, met (✓) or missed (✗); then the checks and every round.
 *
 * @module
 */
import { SERVER_TITLE, type ServerName, SERVERS } from "./server_process.ts";
import { count, fmt, median } from "./util.ts";

/** A target for our server on one measurement. */
export type Target =
  /** ours ÷ `vs` at least `factor` (higher is better) or at most `factor` (lower is better). */
  | { vs: ServerName; factor: number }
  /** ours at least / at most `value`, in the measurement's unit. */
  | { value: number };

/** One measurement: a row of the table. */
export interface Metric {
  /** The key of its figures in {@linkcode RoundResult.values}. */
  id: string;
  /** Its row in the table. */
  label: string;
  /** Its name in the headline. */
  short: string;
  /** The unit its figures are shown in. */
  unit: string;
  /** Whether more is better (req/s) or less (latency, memory). */
  higherIsBetter: boolean;
  /** What ours should reach. */
  targets?: Target[];
}

/** One server's round. */
export interface RoundResult {
  /** The figures measured, by {@linkcode Metric.id} (only those whose checks passed). */
  values: Record<string, number>;
  /** Failed checks: each makes the bench exit 1. */
  problems: string[];
  /** Things to know that do not invalidate the figures. */
  notes: string[];
  /** One line for the table of rounds. */
  summary: string;
}

/** Everything a section measured. */
export interface Comparison {
  /** The rows. */
  metrics: Metric[];
  /** Every round of every server, in run order. */
  rounds: Record<ServerName, RoundResult[]>;
}

/** An empty {@linkcode Comparison.rounds}. */
export function noRounds(): Record<ServerName, RoundResult[]> {
  return { ours: [], deno: [], node: [], floor: [] };
}

/** The median over the rounds of `server` of `metric` (NaN without any). */
export function medianOf(c: Comparison, server: ServerName, metric: string): number {
  return median(c.rounds[server].map((r) => r.values[metric]).filter(Number.isFinite));
}

/** A figure for the tables: 3 significant digits, thousands spaced (`101 697`, `0.0700`). */
function show(v: number): string {
  return Math.abs(v) >= 1000 ? count(v) : fmt(v);
}

function ratio(c: Comparison, metric: Metric, vs: ServerName, of: ServerName = "ours"): number {
  const ours = medianOf(c, of, metric.id);
  const other = medianOf(c, vs, metric.id);
  return other > 0 && ours >= 0 ? ours / other : NaN;
}

/** The floor ÷ Deno.serve cell: how far any server on `Deno.listen` could go past Deno.serve. */
function floorRatio(c: Comparison, metric: Metric): string {
  const r = ratio(c, metric, "deno", "floor");
  return Number.isFinite(r) ? `${fmt(r)}×` : "—";
}

function targetText(metric: Metric, t: Target): string {
  const op = metric.higherIsBetter ? "≥" : "≤";
  if ("value" in t) return `${op} ${t.value} ${metric.unit}`;
  return t.factor === 1 ? `${op} ${SERVER_TITLE[t.vs]}'s` : `${op} ${t.factor}× ${SERVER_TITLE[t.vs]}`;
}

/** Whether ours meets `t` (undefined when a figure is missing), and the figure compared. */
function check(c: Comparison, metric: Metric, t: Target): { met?: boolean; figure: string } {
  const v = "value" in t ? medianOf(c, "ours", metric.id) : ratio(c, metric, t.vs);
  if (!Number.isFinite(v)) return { figure: "no figure" };
  const met = metric.higherIsBetter
    ? v >= ("value" in t ? t.value : t.factor)
    : v <= ("value" in t ? t.value : t.factor);
  return { met, figure: "value" in t ? `${show(v)} ${metric.unit}` : `${fmt(v)}×` };
}

function mark(met: boolean | undefined): string {
  return met === undefined ? "?" : met ? "✓ met" : "✗ missed";
}

/** The headline, the table of medians and ratios, and the lists of checks and rounds, as markdown. */
export function renderComparison(
  c: Comparison,
  options: { checks: string[]; method: string[]; rounds: number; seconds: number },
): { headline: string; body: string; ok: boolean } {
  const value = (server: ServerName, m: Metric) => {
    const v = medianOf(c, server, m.id);
    return Number.isFinite(v) ? `${show(v)} ${m.unit}` : "—";
  };
  const ratioCell = (m: Metric, vs: ServerName) => {
    const r = ratio(c, m, vs);
    return Number.isFinite(r) ? `${fmt(r)}×` : "—";
  };
  // The floor's columns only where it ran: ours ÷ floor says how much of the way to it is left.
  const floor = c.rounds.floor.length > 0;
  const servers = SERVERS.filter((s) => s !== "floor" || floor);
  const table = [
    `| measurement | ours | Deno.serve | node:http (Node) |${
      floor ? " Deno.listen floor |" : ""
    } ours ÷ Deno.serve | ours ÷ node:http |${
      floor ? " ours ÷ floor | floor ÷ Deno.serve |" : ""
    } target (ours) |`,
    `|---|--:|--:|--:|${floor ? "--:|" : ""}--:|--:|${floor ? "--:|--:|" : ""}---|`,
    ...c.metrics.map((m) =>
      `| ${m.label} | ${servers.map((s) => value(s, m)).join(" | ")} | ${ratioCell(m, "deno")} | ${
        ratioCell(m, "node")
      } |${floor ? ` ${ratioCell(m, "floor")} | ${floorRatio(c, m)} |` : ""} ${
        (m.targets ?? []).map((t) => {
          const { met, figure } = check(c, m, t);
          return `${targetText(m, t)}: ${mark(met)} (${figure})`;
        }).join("; ") || "—"
      } |`
    ),
  ].join("\n");

  const versus = (vs: ServerName) => c.metrics.map((m) => `${m.short} ${ratioCell(m, vs)}`).join(", ");
  const floorLine = floor
    ? `**The Deno.listen floor ÷ Deno.serve** (the most any server on \`Deno.listen\` could reach): ${
      c.metrics.map((m) => `${m.short} ${floorRatio(c, m)}`).join(", ")
    }.`
    : "";
  const targets = c.metrics.flatMap((m) =>
    (m.targets ?? []).map((t) => {
      const { met, figure } = check(c, m, t);
      return { met, text: `${m.short} ${targetText(m, t)} ${mark(met)} (${figure})` };
    })
  );
  const problems = servers.flatMap((s) =>
    c.rounds[s].flatMap((r, i) => r.problems.map((p) => `${SERVER_TITLE[s]}, round ${i + 1}: ${p}`))
  );
  const notes = servers.flatMap((s) =>
    c.rounds[s].flatMap((r, i) => r.notes.map((n) => `${SERVER_TITLE[s]}, round ${i + 1}: ${n}`))
  );
  const lower = c.metrics.filter((m) => !m.higherIsBetter).map((m) => m.short);
  const met = targets.filter((t) => t.met === true).length;
  const headline = [
    `**Ours ÷ Deno.serve:** ${versus("deno")}.`,
    `**Ours ÷ node:http:** ${versus("node")}.`,
    floorLine,
    lower.length > 0 && lower.length < c.metrics.length
      ? `(Above 1 is better for ${
        c.metrics.filter((m) => m.higherIsBetter).map((m) => m.short).join(", ")
      }; below 1 is better for ${lower.join(", ")}.)`
      : lower.length > 0
      ? "(Below 1 is better.)"
      : "(Above 1 is better.)",
    targets.length > 0
      ? `**Targets: ${met} of ${targets.length} met.** ${targets.map((t) => t.text).join("; ")}.`
      : "",
    problems.length > 0 ? `**${problems.length} check(s) failed** (see below).` : "All checks passed.",
  ].filter(Boolean).join(" ");

  const perRound = [
    "| server | round | figures |",
    "|---|--:|---|",
    ...servers.flatMap((s) =>
      c.rounds[s].map((r, i) =>
        `| ${SERVER_TITLE[s]} | ${i + 1} | ${r.problems.length > 0 ? "✗ " : ""}${r.summary} |`
      )
    ),
  ].join("\n");
  const body = [
    table,
    "",
    `Checks (every round of every server): ${options.checks.join("; ")}.`,
    ...(problems.length > 0 ? ["", "Failed checks:", "", ...problems.map((p) => `- ${p}`)] : []),
    ...(notes.length > 0 ? ["", "Notes:", "", ...notes.map((n) => `- ${n}`)] : []),
    "",
    `Rounds: ${options.rounds} requested; run: ${
      servers.map((s) => `${SERVER_TITLE[s]} ${c.rounds[s].length}`).join(", ")
    }. Section time: ${options.seconds.toFixed(0)} s.`,
    "",
    "How it is measured:",
    "",
    ...options.method.map((line) => `- ${line}`),
    "",
    `Every round (the servers took turns: ${servers.map((s) => SERVER_TITLE[s]).join(", ")}, ours, …):`,
    "",
    perRound,
  ].join("\n");
  return { headline, body, ok: problems.length === 0 };
}
