// Scrapes a metrics listener over HTTP and reads values out of the Prometheus text format.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Scrape {
  status: number;
  contentType: string | null;
  text: string;
  samples: Sample[];
  /** Sum of the samples named `name` whose labels include every given label (0 when none). */
  value(name: string, labels?: Record<string, string>): number;
  /** `# HELP` text per metric name. */
  help: Map<string, string>;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parseMetrics(text: string): Pick<Scrape, 'samples' | 'help'> {
  const samples: Sample[] = [];
  const help = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line.startsWith('# HELP ')) {
      const [name, ...rest] = line.slice(7).split(' ');
      help.set(name, rest.join(' '));
      continue;
    }
    if (line === '' || line.startsWith('#')) continue;
    const match = SAMPLE.exec(line);
    if (!match) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(LABEL)) labels[key] = value;
    samples.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return { samples, help };
}

export async function scrape(metricsUrl: string): Promise<Scrape> {
  const res = await fetch(`${metricsUrl}/metrics`);
  const text = await res.text();
  const { samples, help } = parseMetrics(text);
  return {
    status: res.status,
    contentType: res.headers.get('content-type'),
    text,
    samples,
    help,
    value(name, labels = {}) {
      return samples
        .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
        .reduce((sum, s) => sum + s.value, 0);
    },
  };
}

/** Scrapes until `check` holds: a response is observed when it is over, a moment after the client has it. */
export async function scrapeUntil(
  metricsUrl: string,
  check: (s: Scrape) => boolean,
  timeoutMs = 3000,
): Promise<Scrape> {
  const started = Date.now();
  for (;;) {
    const s = await scrape(metricsUrl);
    if (check(s)) return s;
    if (Date.now() - started > timeoutMs) return s;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * TCP ports this process listens on, read from the kernel (Linux /proc): a socket closes at once, unlike
 * the handle lists of process.getActiveResourcesInfo(), which trail a close by a turn of the event loop.
 */
export function listeningPorts(): number[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`));
      if (match) inodes.add(match[1]);
    } catch {
      // closed between the listing and the read
    }
  }
  const ports: number[] = [];
  for (const table of ['/proc/self/net/tcp', '/proc/self/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      // local_address is ADDR:PORT in hex; state 0A is LISTEN; column 10 is the inode.
      if (cols.length > 9 && cols[3] === '0A' && inodes.has(cols[9])) {
        ports.push(parseInt(cols[1].split(':')[1], 16));
      }
    }
  }
  return ports.sort((a, b) => a - b);
}
