// Several timed runs of one server pooled into one summary: requests over seconds, and the percentiles of
// all their latencies together (autocannon's histograms added, not percentiles averaged).
import autocannon from 'autocannon';
import type { LoadSummary } from './load-worker';

export type Measured = LoadSummary & { cpuPerRequest?: number };

/** The runs as one: their rate, their pooled p50 / p99, their main-thread CPU per request. */
export function pooled(runs: Measured[]): Measured {
  if (runs.length === 1) return runs[0];
  if (runs.some((r) => r.raw === undefined)) throw new Error('pooled: a run without its histograms');
  const requests = runs.reduce((n, r) => n + r.requests, 0);
  const seconds = runs.reduce((n, r) => n + r.seconds, 0);
  const { latency } = autocannon.aggregateResult(
    runs.map((r) => r.raw),
    { url: 'pooled' },
  );
  const statusCodes: Record<string, number> = {};
  for (const r of runs)
    for (const [code, n] of Object.entries(r.statusCodes)) statusCodes[code] = (statusCodes[code] ?? 0) + n;
  const cpu = runs.every((r) => r.cpuPerRequest !== undefined)
    ? runs.reduce((n, r) => n + r.cpuPerRequest! * r.requests, 0) / requests
    : undefined;
  return {
    requests,
    seconds,
    perSecond: requests / seconds,
    p50: latency.p50,
    p99: latency.p99,
    average: latency.average,
    errors: runs.reduce((n, r) => n + r.errors, 0),
    non2xx: runs.reduce((n, r) => n + r.non2xx, 0),
    statusCodes,
    ...(cpu === undefined ? {} : { cpuPerRequest: cpu }),
  };
}

/** One round of a pair: each server's run. */
export interface Round {
  service: Measured;
  bare: Measured;
}

/**
 * `rounds` rounds of `measure` on two servers, their order alternating (A B, B A, A B, …), so that a machine
 * growing busier or quieter during the pair weighs on both alike. Each server's runs are pooled; each
 * round is kept to show the spread.
 */
export async function alternating(
  rounds: number,
  measure: (server: 'service' | 'bare', round: number) => Promise<Measured>,
): Promise<{ service: Measured; bare: Measured; rounds: Round[] }> {
  const kept: Round[] = [];
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? (['service', 'bare'] as const) : (['bare', 'service'] as const);
    const runs: Partial<Round> = {};
    for (const server of order) runs[server] = await measure(server, round);
    kept.push(runs as Round);
  }
  return {
    service: pooled(kept.map((r) => r.service)),
    bare: pooled(kept.map((r) => r.bare)),
    rounds: kept,
  };
}

/** Each round of each pair: rates, p99s and ratios, service / bare. */
export function roundLines(pairs: Array<{ scenario: string; rounds?: Round[] }>): string {
  const lines = pairs
    .filter((p) => (p.rounds?.length ?? 0) > 1)
    .map(
      ({ scenario, rounds }) =>
        `- ${scenario}: ` +
        rounds!
          .map(
            ({ service: s, bare: b }, i) =>
              `${i + 1}. ${s.perSecond.toFixed(0)} / ${b.perSecond.toFixed(0)} req/s (${(s.perSecond / b.perSecond).toFixed(2)}x), ` +
              `p99 ${s.p99} / ${b.p99} ms (${(s.p99 / b.p99).toFixed(2)}×)`,
          )
          .join('; '),
    );
  return lines.length
    ? ['each round, service / bare (odd rounds: service first; even: bare first):', ...lines].join('\n')
    : '';
}
