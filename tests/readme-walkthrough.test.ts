// The walkthrough, executed: every ```sh block of docs/walkthrough.md and of the guides that continue it
// (SCRIPT below, in the order of the README's guide list), in order, in ONE bash session (`set -e`),
// against the service started here the way `npm start` starts it (its own database and container, the
// demo world, and the very `export` lines `npm start` prints, from the same code).
//
// The guides' convention, checked here too, over README.md and every docs/*.md:
//   ```sh       run, in order; a command that fails (a `want` check, `cmp`, `grep`, `json` of a missing
//               field, …) fails this test, naming the file, the block and its line. Only the files of
//               SCRIPT may hold one: a sh block anywhere else would say it runs and never be run
//   ```console  shown, never run (installing, starting the service, production settings)
//   ```bash / ```shell / ```zsh are refused, so every shell block says which of the two it is
//   <!-- file: NAME --> before a fenced block: the block is saved as NAME in the session's current
//               folder, at that point of the script (for example a Node client the next block runs)
// `npm run --silent cli -- …` inside a block runs the command against the same database with the block's
// arguments and environment, through `runCli` (what src/cli.ts runs) in this test's process
// (tests/support/cli-server.ts): its output and exit code are the command's, without loading the whole
// service in a fresh process for each of the guides' commands. The process around it (src/cli.ts: dotenv,
// flushing, the exit code) is what scripts/check-production.sh runs as `npm run cli:prod`.
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { demoBanner, originOf } from '../src/demo-banner';
import { CLI_CLIENT, startCliServer, type CliServer } from './support/cli-server';
import { createWorld, type World } from './support/world';

const ROOT = path.resolve(__dirname, '..');
/**
 * The files whose sh blocks are the script, in the order they run: the walkthrough, then the guides
 * that continue its shell session. A new guide with runnable examples is added here (and to the README's
 * guide list, in the same order).
 */
const SCRIPT = [
  'docs/walkthrough.md',
  'docs/api.md',
  'docs/configuration.md',
  'docs/operations.md',
  'docs/live-progress.md',
  'docs/otp-and-idempotency.md',
];
/** Every markdown file a reader is pointed to: the README and the guides. */
const GUIDES = [
  'README.md',
  ...readdirSync(path.join(ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .sort()
    .map((name) => `docs/${name}`),
];
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');
/** A block that makes no progress for this long fails the test. */
const BLOCK_TIMEOUT_MS = 90_000;

interface Block {
  /** The markdown file holding it, relative to the repository. */
  source: string;
  /** The fence's info string: sh, console, json, js, … ('' when none). */
  lang: string;
  /** 1-based line of the opening fence in its file. */
  line: number;
  text: string;
  /** From a `<!-- file: NAME -->` marker right before the block. */
  file?: string;
}

/** The fenced blocks of a markdown text, indented ones (inside list items) included. */
export function fencedBlocks(markdown: string, source: string): Block[] {
  const lines = markdown.split('\n');
  const blocks: Block[] = [];
  let open: (Block & { indent: number; body: string[] }) | undefined;
  let file: string | undefined;
  lines.forEach((line, index) => {
    if (open) {
      if (/^\s*```\s*$/.test(line)) {
        const { indent: _indent, body, ...block } = open;
        blocks.push({ ...block, text: `${body.join('\n')}\n` });
        open = undefined;
      } else open.body.push(line.slice(Math.min(open.indent, line.length - line.trimStart().length)));
      return;
    }
    const fence = /^(\s*)```(\S*)\s*$/.exec(line);
    if (fence) {
      open = { source, lang: fence[2], line: index + 1, text: '', indent: fence[1].length, body: [], file };
      file = undefined;
      return;
    }
    const marker = /^\s*<!-- file: (\S+) -->\s*$/.exec(line);
    if (marker) file = marker[1];
    else if (line.trim() !== '') file = undefined;
  });
  if (open) throw new Error(`${source}: the block opened on line ${open.line} is never closed`);
  return blocks;
}

const blocks = GUIDES.flatMap((file) => fencedBlocks(read(file), file));
const runnable = SCRIPT.flatMap((file) => fencedBlocks(read(file), file)).filter(
  (block) => block.lang === 'sh' || block.file !== undefined,
);
const where = (block: Block) => `${block.source} line ${block.line}`;

const quote = (value: string) => `'${value.replace(/'/g, `'\\''`)}'`;

test('every shell block of the guides says whether it runs (sh) or is only shown (console)', () => {
  const ambiguous = blocks.filter((block) => ['bash', 'shell', 'zsh'].includes(block.lang));
  expect(ambiguous.map((block) => `${where(block)}: \`\`\`${block.lang}`)).toEqual([]);
  expect(runnable.filter((block) => block.lang === 'sh').length).toBeGreaterThan(30);
  // A sh block outside the script would claim to run and never be run.
  const stray = blocks.filter((block) => block.lang === 'sh' && !SCRIPT.includes(block.source));
  expect(stray.map(where)).toEqual([]);
  // What must never run in a test is visibly excluded.
  const console = blocks.filter((block) => block.lang === 'console').map((block) => block.text);
  for (const command of ['npm ci && npm start', 'npm start | tee start.log', 'npm prune --omit=dev'])
    expect(console.some((text) => text.includes(command))).toBe(true);
  for (const block of blocks.filter((b) => b.lang === 'sh'))
    expect({
      at: where(block),
      starts: /(^|[;&|(]\s*)(\w+=\S*\s+)*npm (start|ci|test|prune)\b/m.test(block.text),
    }).toEqual({
      at: where(block),
      starts: false,
    });
});

test("the README lists the script's guides in the order they run", () => {
  const readme = read('README.md');
  const at = SCRIPT.map((file) => readme.indexOf(`](${file})`));
  expect(at.filter((index) => index < 0)).toEqual([]);
  expect(at).toEqual([...at].sort((a, b) => a - b));
});

test('every runnable example that calls the service checks what it got', () => {
  const unchecked = runnable.filter(
    (block) =>
      block.file === undefined &&
      /\bcurl\b|\bnpm run\b|\bnode\b/.test(block.text) &&
      !/\bwant\b|\bjson\b|\bcmp\b|\bgrep\b/.test(block.text),
  );
  expect(unchecked.map(where)).toEqual([]);
});

describe('against a started service', () => {
  let world: World;
  let cli: CliServer;
  let banner: string;
  const work = path.join(ROOT, '.cache', `readme-walkthrough-${process.pid}`);
  beforeAll(async () => {
    rmSync(work, { recursive: true, force: true });
    mkdirSync(path.join(work, 'session'), { recursive: true });
    world = await createWorld();
    cli = await startCliServer();
    banner = await demoBanner(world.app, world.baseUrl);
  });
  afterAll(async () => {
    await cli?.close();
    await world?.close();
    rmSync(work, { recursive: true, force: true });
  });

  test('the README shows the lines npm start prints (tokens and ports aside)', () => {
    const shown = blocks.find((block) => block.text.includes('Process requests service is up'));
    expect(shown?.lang).toBe('text');
    const metrics = world.app.metricsAddress();
    const pattern = (line: string) =>
      new RegExp(
        `^${line
          .replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
          .replace(/…/g, '.+')
          .replace('http://127\\.0\\.0\\.1:3000', world.baseUrl.replace(/\./g, '\\.'))
          .replace('http://127\\.0\\.0\\.1:9464', originOf(metrics!).replace(/\./g, '\\.'))}$`,
      );
    const trim = (text: string) => text.replace(/^\n+|\n+$/g, '').split('\n');
    const expected = trim(shown!.text);
    const printed = trim(banner);
    expect(printed.length).toBe(expected.length);
    printed.forEach((line, i) =>
      expect({ line, matches: pattern(expected[i]).test(line) }).toEqual({ line, matches: true }),
    );
  });

  test(
    'their sh blocks run in order in one shell and each does what its guide says',
    async () => {
      // The session: bash -e, the `export` lines loaded as the README says (`eval "$(grep '^  export ' start.log)"`),
      // `npm run --silent cli` pointed at the CLI server above, then every block in order between markers.
      const session = path.join(work, 'session');
      writeFileSync(path.join(session, 'start.log'), banner);
      const script = [
        'set -e',
        `cd ${quote(session)}`,
        `npm() {`,
        `  if [ "$1 $2 $3" = "run --silent cli" ]; then`,
        `    shift 3; if [ "\${1:-}" = "--" ]; then shift; fi`,
        `    node ${quote(CLI_CLIENT)} "$@"`,
        `  else echo "the walkthrough test runs no other npm command: npm $*" >&2; return 1; fi`,
        `}`,
        `eval "$(grep '^  export ' start.log)"`,
      ];
      runnable.forEach((block, i) => {
        const source = path.join(work, `block-${i}`);
        writeFileSync(source, block.text);
        script.push(`printf '\\n@@start ${i}@@\\n'; printf '@@start ${i}@@\\n' >&2`);
        script.push(
          block.file === undefined ? `. ${quote(source)}` : `cp -- ${quote(source)} ${quote(block.file)}`,
        );
        script.push(`printf '\\n@@done ${i}@@\\n'`);
      });
      script.push(`printf '\\n@@finished@@\\n'`);
      writeFileSync(path.join(work, 'walkthrough.sh'), `${script.join('\n')}\n`);

      const child = spawn('bash', ['--noprofile', '--norc', path.join(work, 'walkthrough.sh')], {
        cwd: session,
        detached: true, // its own process group: a stuck block and its background jobs are killed together
        stdio: ['ignore', 'pipe', 'pipe'],
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          LANG: 'C.UTF-8',
          TMPDIR: work,
          NODE_ENV: 'development',
          // What `npm start`'s embedded PostgreSQL is for the README's CLI: the service's own database.
          DATABASE_URL: world.databaseUrl,
          CLI_SERVER_URL: cli.url,
        },
      });
      let stdout = '';
      let stderr = '';
      let lastProgress = Date.now();
      child.stdout!.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        lastProgress = Date.now();
      });
      child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const watchdog = setInterval(() => {
        if (Date.now() - lastProgress > BLOCK_TIMEOUT_MS) process.kill(-child.pid!, 'SIGKILL');
      }, 1000);
      const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
      clearInterval(watchdog);
      try {
        process.kill(-child.pid!, 'SIGKILL'); // background jobs a failed block left behind
      } catch {
        // the group is gone already
      }

      const section = (text: string, i: number) => {
        const start = text.lastIndexOf(`@@start ${i}@@`);
        const end = text.indexOf('@@start', start + 1);
        return start < 0 ? '' : text.slice(start, end < 0 ? undefined : end);
      };
      const done = [...stdout.matchAll(/@@done (\d+)@@/g)].length;
      if (code !== 0 || !stdout.includes('@@finished@@')) {
        const failed = runnable[done];
        const failing = failed
          ? `the block on ${where(failed)} (${done + 1} of ${runnable.length})`
          : 'the session set-up';
        throw new Error(
          `${failing} failed (bash exit ${code}):\n${failed?.text ?? ''}\n--- its output:\n${section(stdout, done)}` +
            `\n--- its standard error:\n${section(stderr, done)}`,
        );
      }
      expect(done).toBe(runnable.length);
      // The guides' CLI commands did run (through the server above).
      expect(cli.commands()).toBeGreaterThan(20);
    },
    10 * 60_000,
  );
});
