// Growth: how long one list page with its total takes as a partner's rows grow, one call at a time, so the
// figure is the page's own time and not the queue of a loaded machine.
import { get as httpGet } from 'node:http';

/** Milliseconds of one GET, read to the end; NaN when the answer is not 200 (counted as failed). */
function timedGet(url: string, headers: Record<string, string>): Promise<number> {
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    httpGet(url, { headers }, (res) => {
      res.on('data', () => {});
      res.on('end', () => {
        resolve(res.statusCode === 200 ? Number(process.hrtime.bigint() - started) / 1e6 : NaN);
      });
      res.on('error', reject);
    }).on('error', reject);
  });
}

/** `calls` GETs one after another (after one not counted): median and 90th percentile, in ms. */
export async function pageTime(
  url: string,
  headers: Record<string, string>,
  calls = Number(process.env.BENCH_GROWTH_CALLS ?? 30),
): Promise<{ p50: number; p90: number; failed: number }> {
  await timedGet(url, headers);
  const all: number[] = [];
  for (let i = 0; i < calls; i++) all.push(await timedGet(url, headers));
  const times = all.filter((t) => !Number.isNaN(t)).sort((a, b) => a - b);
  const at = (p: number) => times[Math.min(times.length - 1, Math.floor((p / 100) * times.length))] ?? NaN;
  return { p50: at(50), p90: at(90), failed: all.length - times.length };
}

export const ms = (t: { p50: number; p90: number; failed: number }) =>
  `${t.p50.toFixed(1)} / ${t.p90.toFixed(1)}${t.failed ? ` (${t.failed} failed)` : ''}`;
