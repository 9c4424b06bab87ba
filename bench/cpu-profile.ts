// Self time of a `node --cpu-prof` profile, by package and by function:
// `node dist/bench/cpu-profile.js FILE.cpuprofile [top]`.
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
}

/** Where a frame's code lives: a package under node_modules, the project's own code, node core, or V8's pseudo-frames. */
function owner(url: string, name: string): string {
  if (!url) return name.startsWith('(') ? name : '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1];
  if (url.startsWith('node:')) return 'node core';
  const own = /\/dist\/(src|bench)\/(.*)$/.exec(url);
  if (own) return own[1] === 'src' ? `src/${own[2].split('/')[0]}` : 'bench';
  return url;
}

function summarize(file: string, top: number): string {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfSamples = new Map<number, number>();
  for (const id of profile.samples) selfSamples.set(id, (selfSamples.get(id) ?? 0) + 1);
  const total = profile.samples.length;
  const byOwner = new Map<string, number>();
  const byFunction = new Map<string, number>();
  for (const [id, count] of selfSamples) {
    const { callFrame } = byId.get(id)!;
    const who = owner(callFrame.url, callFrame.functionName);
    byOwner.set(who, (byOwner.get(who) ?? 0) + count);
    const fn = `${callFrame.functionName || '(anonymous)'} ${who}:${callFrame.lineNumber + 1}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + count);
  }
  const pct = (n: number) => `${((n / total) * 100).toFixed(1)}%`;
  const rows = (m: Map<string, number>) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, n]) => `| ${k} | ${pct(n)} |`);
  return [
    `${total} samples`,
    '',
    '| self time by owner | share |',
    '| --- | ---: |',
    ...rows(byOwner),
    '',
    '| self time by function | share |',
    '| --- | ---: |',
    ...rows(byFunction),
  ].join('\n');
}

const [file, top] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: node dist/bench/cpu-profile.js FILE.cpuprofile [top]\n');
  process.exit(2);
}
process.stdout.write(`${summarize(file, Number(top) || 25)}\n`);
