// Summarises a V8 CPU profile (`node --cpu-prof`) as self time by package: node_modules/<package>, the
// service (dist/src), the bench itself (dist/bench: the bare reference and the load workers' glue), Node's
// internals, idle and GC. `node dist/bench/profile-summary.js <file.cpuprofile> [top] [from-µs to-µs]`: with
// a window (the `mark` lines of BENCH_MARKS=1), only the samples taken in it, e.g. the service's own run.
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
}

function bucketOf(node: ProfileNode): string {
  const { url, functionName } = node.callFrame;
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1];
  if (url.includes('/dist/src/')) return 'service (dist/src)';
  if (url.includes('/dist/bench/')) return 'bench (bare reference, glue)';
  if (url.startsWith('node:')) return 'node core';
  return url;
}

const [file, topArg, fromArg, toArg] = process.argv.slice(2);
const from = fromArg ? Number(fromArg) : -Infinity;
const to = toArg ? Number(toArg) : Infinity;
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map<string, number>();
const fns = new Map<string, number>();
let total = 0;
let at = profile.startTime;
profile.samples.forEach((id, i) => {
  const dt = profile.timeDeltas[i] ?? 0;
  at += dt;
  if (at < from || at > to) return;
  const node = byId.get(id)!;
  const bucket = bucketOf(node);
  self.set(bucket, (self.get(bucket) ?? 0) + dt);
  const fn = `${node.callFrame.functionName || '(anonymous)'} ${bucket}`;
  fns.set(fn, (fns.get(fn) ?? 0) + dt);
  total += dt;
});
const busy = total - (self.get('(idle)') ?? 0);
const pct = (n: number, of: number) => `${((100 * n) / of).toFixed(1)}%`;
console.log(`| self time by package | of all | of busy |\n| --- | ---: | ---: |`);
for (const [bucket, t] of [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, Number(topArg ?? 15)))
  console.log(`| ${bucket} | ${pct(t, total)} | ${bucket === '(idle)' ? '' : pct(t, busy)} |`);
console.log(`\ntop functions (self, of busy):`);
for (const [fn, t] of [...fns.entries()]
  .filter(([fn]) => !fn.startsWith('(idle)'))
  .sort((a, b) => b[1] - a[1])
  .slice(0, 15))
  console.log(`  ${pct(t, busy).padStart(6)}  ${fn}`);
