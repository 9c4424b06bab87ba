// Command-line flags of the CLI: `--name value`, `--name=value`, or a bare `--name` (true).
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Config } from '../config';

export type Flags = Record<string, string | true>;

export class UsageError extends Error {}

export function parseFlags(args: string[]): Flags {
  const flags: Flags = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!arg.startsWith('--')) throw new UsageError(`unexpected argument "${arg}"`);
    const [name, inline] = arg.slice(2).split(/=(.*)/s, 2);
    if (inline !== undefined) flags[name] = inline;
    else if (i + 1 < args.length && !args[i + 1].startsWith('--')) flags[name] = args[++i];
    else flags[name] = true;
  }
  return flags;
}

export function text(flags: Flags, name: string): string {
  const value = flags[name];
  if (typeof value !== 'string' || value.trim() === '') throw new UsageError(`--${name} is required`);
  return value;
}

export type CommandHandler = (
  orm: MikroORM,
  flags: Flags,
  config: Config,
) => Promise<Record<string, unknown>>;
