/**
 * The servers compared in the HTTP sections: rounds that alternate between
 * them, and the tables made of the rounds — per measurement, the median of
 * each server, the ratios of ours to `Deno.serve`, to `node:http` and to the
 * `Deno.listen` floor, and the targets, met (✓) or missed (✗); then the
 * checks and every round.
 *
 * @module
 */
import { count, fmt, median } from "./numbers.ts";
import type { SectionOutput } from "./results.ts";
import { MULTI_SERVERS, SERVER_TITLE, type ServerName, SERVERS } from "./server_process.ts";

/** A target for our server on one measurement. */
export type Target =
  /**
   * ours ÷ `vs` at least `factor` (higher is better) or at most `factor`
   * (lower is better); with `everyRound`, in every round (ours and `vs` of
   * the same round compared), not only in the medians.
   */
  | { vs: ServerName; factor: number; everyRound?: boolean }
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

/** Every round of every server, in run order. */
export type Rounds = Record<ServerName, RoundResult[]>;

/**
 * Runs `rounds` rounds of `servers`, each server in turn within a round
 * (ours, Deno.serve, node:http, the floor, ours, …), with `settleMs` of pause
 * between two: `one` measures a server once, in a process of its own.
 */
export async function alternate(
  servers: readonly ServerName[],
  rounds: number,
  settleMs: number,
  one: (name: ServerName, prefix: string) => Promise<RoundResult>,
): Promise<Rounds> {
  const results = Object.fromEntries(
    [...SERVERS, ...MULTI_SERVERS].map((name) => [name, []]),
  ) as unknown as Rounds;
  for (let round = 0; round < rounds; round++) {
    for (const name of servers) {
      if (round + servers.indexOf(name) > 0) await new Promise((r) => setTimeout(r, settleMs));
      results[name].push(await one(name, `round ${round + 1}/${rounds} ${SERVER_TITLE[name].padEnd(10)}`));
    }
  }
  return results;
}

/** The median over the rounds of `server` of `metric` (NaN without any). */
export function medianOf(rounds: Rounds, server: ServerName, metric: string): number {
  return median(rounds[server].map((r) => r.values[metric]).filter(Number.isFinite));
}

/** A figure for the tables: 3 significant digits, thousands spaced (`101 697`, `0.0700`). */
function show(v: number): string {
  return Math.abs(v) >= 1000 ? count(v) : fmt(v);
}

function ratio(rounds: Rounds, metric: Metric, vs: ServerName, of: ServerName = "ours"): number {
  const ours = medianOf(rounds, of, metric.id);
  const other = medianOf(rounds, vs, metric.id);
  return other > 0 && ours >= 0 ? ours / other : NaN;
}

function ratioText(r: number): string {
  return Number.isFinite(r) ? `${fmt(r)}×` : "—";
}

/** ours ÷ `vs` in each round where both have the figure. */
function roundRatios(rounds: Rounds, metric: Metric, vs: ServerName): number[] {
  return rounds.ours.flatMap((r, i) => {
    const other = rounds[vs][i]?.values[metric.id];
    const ours = r.values[metric.id];
    return Number.isFinite(ours) && other > 0 ? [ours / other] : [];
  });
}

function targetText(metric: Metric, t: Target): string {
  const op = metric.higherIsBetter ? "≥" : "≤";
  if ("value" in t) return `${op} ${t.value} ${metric.unit}`;
  const what = t.factor === 1 ? `${op} ${SERVER_TITLE[t.vs]}'s` : `${op} ${t.factor}× ${SERVER_TITLE[t.vs]}`;
  return t.everyRound ? `${what} in every round` : what;
}

/** Whether ours meets `t` (undefined when a figure is missing), and the figure compared. */
function check(rounds: Rounds, metric: Metric, t: Target): { met?: boolean; figure: string } {
  const meets = (v: number, bound: number) => (metric.higherIsBetter ? v >= bound : v <= bound);
  if ("value" in t) {
    const v = medianOf(rounds, "ours", metric.id);
    return Number.isFinite(v)
      ? { met: meets(v, t.value), figure: `${show(v)} ${metric.unit}` }
      : { figure: "no figure" };
  }
  const v = ratio(rounds, metric, t.vs);
  if (!Number.isFinite(v)) return { figure: "no figure" };
  if (!t.everyRound) return { met: meets(v, t.factor), figure: `${fmt(v)}×` };
  const each = roundRatios(rounds, metric, t.vs);
  const worst = metric.higherIsBetter ? Math.min(...each) : Math.max(...each);
  return {
    met: each.length > 0 && each.every((r) => meets(r, t.factor)),
    figure: `${fmt(v)}×; worst round ${ratioText(worst)}`,
  };
}

function mark(met: boolean | undefined): string {
  return met === undefined ? "?" : met ? "✓ met" : "✗ missed";
}

/** The headline, the table of medians and ratios, and the lists of checks and rounds, as markdown. */
export function renderComparison(
  metrics: Metric[],
  rounds: Rounds,
  options: { checks: string[]; method: string[]; rounds: number; seconds: number },
): SectionOutput {
  const value = (server: ServerName, m: Metric) => {
    const v = medianOf(rounds, server, m.id);
    return Number.isFinite(v) ? `${show(v)} ${m.unit}` : "—";
  };
  const cell = (m: Metric, vs: ServerName, of: ServerName = "ours") => ratioText(ratio(rounds, m, vs, of));
  // The floors' columns only where they ran: ours ÷ floor says how much of the way to it is left.
  const floor = rounds.floor.length > 0;
  const wsgi = rounds.floorWsgi.length > 0;
  const servers = SERVERS.filter((s) => (s !== "floor" || floor) && (s !== "floorWsgi" || wsgi));
  const targets = metrics.flatMap((m) =>
    (m.targets ?? []).map((t) => ({ m, t, text: targetText(m, t), ...check(rounds, m, t) }))
  );
  const table = [
    `| measurement | ours | Deno.serve | node:http (Node) |${floor ? " Deno.listen floor |" : ""}${
      wsgi ? " WSGI-shape floor |" : ""
    } ours ÷ Deno.serve | ours ÷ node:http |${floor ? " ours ÷ floor | floor ÷ Deno.serve |" : ""}${
      wsgi ? " ours ÷ WSGI-shape floor |" : ""
    } target (ours) |`,
    `|---|--:|--:|--:|${floor ? "--:|" : ""}${wsgi ? "--:|" : ""}--:|--:|${floor ? "--:|--:|" : ""}${
      wsgi ? "--:|" : ""
    }---|`,
    ...metrics.map((m) =>
      `| ${m.label} | ${servers.map((s) => value(s, m)).join(" | ")} | ${cell(m, "deno")} | ${
        cell(m, "node")
      } |${floor ? ` ${cell(m, "floor")} | ${cell(m, "deno", "floor")} |` : ""}${
        wsgi ? ` ${cell(m, "floorWsgi")} |` : ""
      } ${
        targets.filter((x) => x.m === m).map((x) => `${x.text}: ${mark(x.met)} (${x.figure})`).join("; ") ||
        "—"
      } |`
    ),
  ].join("\n");

  const versus = (vs: ServerName, of: ServerName = "ours") =>
    metrics.map((m) => `${m.short} ${cell(m, vs, of)}`).join(", ");
  const problems = servers.flatMap((s) =>
    rounds[s].flatMap((r, i) => r.problems.map((p) => `${SERVER_TITLE[s]}, round ${i + 1}: ${p}`))
  );
  const notes = servers.flatMap((s) =>
    rounds[s].flatMap((r, i) => r.notes.map((n) => `${SERVER_TITLE[s]}, round ${i + 1}: ${n}`))
  );
  const higher = metrics.filter((m) => m.higherIsBetter).map((m) => m.short);
  const lower = metrics.filter((m) => !m.higherIsBetter).map((m) => m.short);
  const met = targets.filter((t) => t.met === true).length;
  const headline = [
    `**Ours ÷ Deno.serve:** ${versus("deno")}.`,
    `**Ours ÷ node:http:** ${versus("node")}.`,
    floor ? `**Ours ÷ the Deno.listen floor:** ${versus("floor")}.` : "",
    floor
      ? "**The Deno.listen floor ÷ Deno.serve** (the most any server on `Deno.listen` could reach): " +
        `${versus("deno", "floor")}.`
      : "",
    wsgi
      ? "**Ours ÷ the WSGI-shape floor** (the Deno.listen floor plus an environ and a suspended generator app " +
        `per request, the least the contract keeps): ${versus("floorWsgi")}.`
      : "",
    higher.length > 0 && lower.length > 0
      ? `(Above 1 is better for ${higher.join(", ")}; below 1 is better for ${lower.join(", ")}.)`
      : lower.length > 0
      ? "(Below 1 is better.)"
      : "(Above 1 is better.)",
    targets.length > 0
      ? `**Targets: ${met} of ${targets.length} met.** ${
        targets.map((t) => `${t.m.short} ${t.text} ${mark(t.met)} (${t.figure})`).join("; ")
      }.`
      : "",
    problems.length > 0 ? `**${problems.length} check(s) failed** (see below).` : "All checks passed.",
  ].filter(Boolean).join(" ");

  const perRound = [
    "| server | round | figures |",
    "|---|--:|---|",
    ...servers.flatMap((s) =>
      rounds[s].map((r, i) =>
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
      servers.map((s) => `${SERVER_TITLE[s]} ${rounds[s].length}`).join(", ")
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
