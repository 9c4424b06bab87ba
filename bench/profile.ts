// A CPU profile of this process's main thread (where the app runs) while one scenario loads it, read as
// self time by package: `BENCH_CPU_PROFILE=<dir>` writes `<dir>/<name>.cpuprofile` and a summary beside it.
import { Session } from 'node:inspector/promises';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** The package (or part of the service) a frame belongs to. */
export function packageOf(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (url === '') {
    if (/^\((idle|program|garbage collector)\)$/.test(functionName)) return functionName;
    return '(native: writes, crypto, JSON, …)';
  }
  if (url.startsWith('node:')) return 'node core';
  const modules = url.lastIndexOf('/node_modules/');
  if (modules !== -1) {
    const parts = url.slice(modules + '/node_modules/'.length).split('/');
    return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
  }
  const src = /\/dist\/(src|bench)\/(?:([^/]+)\/)?/.exec(url);
  if (src) return src[1] === 'bench' ? 'bench (harness, bare)' : `service: src/${src[2] ?? ''}`;
  return url;
}

/** Self time by package and the heaviest functions, as Markdown (with the busy time per request when known). */
export function summarise(profile: Profile, requests?: number, top = 25): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  // Stopping the profiler (node:inspector) is sampled too: its stack is left out.
  const profiler = new Set<number>();
  const mark = (node: ProfileNode, under: boolean) => {
    const inside = under || node.callFrame.url === 'node:inspector';
    if (inside) profiler.add(node.id);
    for (const child of node.children ?? []) mark(byId.get(child)!, inside);
  };
  mark(profile.nodes[0], false);
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    if (!profiler.has(id)) self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  let total = 0;
  const packages = new Map<string, number>();
  const functions = new Map<string, number>();
  for (const [id, us] of self) {
    const frame = byId.get(id)!.callFrame;
    total += us;
    const pkg = packageOf(frame);
    packages.set(pkg, (packages.get(pkg) ?? 0) + us);
    const name = `${frame.functionName || '(anonymous)'} — ${pkg}${frame.url ? `:${frame.url.split('/').pop()}:${frame.lineNumber + 1}` : ''}`;
    functions.set(name, (functions.get(name) ?? 0) + us);
  }
  const busy = total - (packages.get('(idle)') ?? 0);
  const rows = (map: Map<string, number>, n: number) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(
        ([name, us]) =>
          `| ${name} | ${((100 * us) / total).toFixed(1)}% | ${name === '(idle)' ? '' : `${((100 * us) / busy).toFixed(1)}%`} |`,
      );
  return [
    `${(total / 1e6).toFixed(1)} s sampled, ${((100 * busy) / total).toFixed(1)}% busy` +
      (requests
        ? `; ${requests} requests, ${(busy / requests).toFixed(0)} µs of main thread busy per request`
        : ''),
    '',
    '| package | of all samples | of busy samples |',
    '| --- | ---: | ---: |',
    ...rows(packages, 40),
    '',
    '| function (self time) | of all samples | of busy samples |',
    '| --- | ---: | ---: |',
    ...rows(functions, top),
  ].join('\n');
}

/**
 * Runs `work` with the main thread's CPU profiler on, when `dir` is given; writes the profile and its summary
 * (`requests` counts what `work` served, for the busy time per request).
 */
export async function profiled<T extends { requests?: number }>(
  dir: string | undefined,
  name: string,
  work: () => Promise<T>,
): Promise<T> {
  if (!dir) return work();
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  await session.post('Profiler.start');
  let requests: number | undefined;
  try {
    const result = await work();
    requests = result.requests;
    return result;
  } finally {
    const { profile } = (await session.post('Profiler.stop')) as unknown as { profile: Profile };
    session.disconnect();
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `${name}.cpuprofile`);
    writeFileSync(file, JSON.stringify(profile));
    writeFileSync(path.join(dir, `${name}.md`), `${summarise(profile, requests)}\n`);
    process.stderr.write(`· profile: ${file} (summary: ${name}.md)\n`);
  }
}

/**
 * CPU time of this process's main thread (where the app and the bare server run; the load generator is a
 * worker), in µs, from /proc: less disturbed by other work on the machine than a rate is. Undefined where
 * /proc is not there.
 */
export function mainThreadCpu(): number | undefined {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime, fields 14 and 15 of stat (11 and 12 after the name), in clock ticks of 10 ms.
    return (Number(fields[11]) + Number(fields[12])) * 10_000;
  } catch {
    return undefined;
  }
}

/**
 * Before a timed run: a wait until the main thread is idle (under 10% busy over half a second; at most
 * `maxMs`). The app and the bare server share this process and the service is measured first in each pair,
 * so the background work the previous run left (progress events read after NOTIFY, webhook fan-out of
 * stored events) would otherwise land on the service's run alone. No GC is forced: a full GC just before a
 * run was measured to raise the service's p99 (V8 then sizes the old generation for the little left live,
 * so the run that follows collects more often; see "Round 8" in bench/RESULTS.md). Returns the ms waited.
 */
export async function settle(maxMs = 10_000): Promise<number> {
  const started = Date.now();
  for (;;) {
    const before = mainThreadCpu();
    await new Promise((resolve) => setTimeout(resolve, 500));
    const after = mainThreadCpu();
    const idle = before === undefined || after === undefined || after - before < 50_000;
    if (idle || Date.now() - started >= maxMs) return Date.now() - started;
  }
}

/** Runs `work` and adds the main thread's CPU per request it served (`cpuPerRequest`, µs). */
export async function withCpu<T extends { requests: number }>(
  work: () => Promise<T>,
): Promise<T & { cpuPerRequest?: number }> {
  const before = mainThreadCpu();
  const result = await work();
  const after = mainThreadCpu();
  if (before === undefined || after === undefined || result.requests === 0) return result;
  return { ...result, cpuPerRequest: (after - before) / result.requests };
}

/** One line per scenario: main-thread CPU per request of the service and of the bare server, and their ratio. */
export function cpuLines(
  pairs: Array<{
    scenario: string;
    service: { cpuPerRequest?: number };
    bare?: { cpuPerRequest?: number };
  }>,
): string {
  const lines = pairs
    .filter((p) => p.service.cpuPerRequest !== undefined && p.bare?.cpuPerRequest !== undefined)
    .map(({ scenario, service, bare }) => {
      const s = service.cpuPerRequest!;
      const b = bare!.cpuPerRequest!;
      return `- ${scenario}: service ${s.toFixed(0)} µs, bare ${b.toFixed(0)} µs (bare / service ${(b / s).toFixed(2)}x)`;
    });
  return lines.length
    ? [
        'main-thread CPU per request (steadier than rates on a shared machine; PostgreSQL not included):',
        ...lines,
      ].join('\n')
    : '';
}
