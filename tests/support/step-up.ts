// Helpers for the OTP, idempotency, evidence and bad-input suites: OTP enrolment through the CLI,
// TOTP codes from the printed secret, and GraphQL over real HTTP (JSON and multipart uploads).
import * as OTPAuth from 'otpauth';
import { runCli } from '../../src/cli/run';
import type { World } from './world';

export interface Enrolled {
  id: string;
  email: string;
  otpauthUri: string;
  otpSecret: string;
  headers: Record<string, string>;
}

/** `operator:create --otp` through the CLI, against the world's database, as an operator would run it. */
export async function enrollWithCli(world: World, roles: string, partnerIds: string[]): Promise<Enrolled> {
  const email = `otp-${Math.random().toString(36).slice(2, 10)}@test.local`;
  const result = await runCli(
    [
      'operator:create',
      '--email',
      email,
      '--name',
      'OTP Operator',
      '--roles',
      roles,
      '--partners',
      partnerIds.join(','),
      '--otp',
    ],
    { DATABASE_URL: world.databaseUrl, LOG_LEVEL: 'silent', NODE_ENV: 'test' },
  );
  if (result.code !== 0) throw new Error(`operator:create --otp failed: ${result.stderr}`);
  const printed = JSON.parse(result.stdout) as Omit<Enrolled, 'headers'>;
  return { ...printed, headers: await world.headers(printed.id) };
}

function totpOf(secret: string): OTPAuth.TOTP {
  return new OTPAuth.TOTP({
    secret: OTPAuth.Secret.fromBase32(secret),
    algorithm: 'SHA1',
    digits: 6,
    period: 30,
  });
}

/** Waits out the end of a time step so a code computed now is still inside the ±1 window when checked. */
async function awayFromStepEdge(): Promise<void> {
  const remaining = 30_000 - (Date.now() % 30_000);
  if (remaining < 3000) await new Promise((resolve) => setTimeout(resolve, remaining + 50));
}

/** The code of the current step plus `offset` steps (−1, 0 and +1 are accepted: three usable codes per step). */
export async function codeAt(secret: string, offset = 0): Promise<string> {
  await awayFromStepEdge();
  return totpOf(secret).generate({ timestamp: Date.now() + offset * 30_000 });
}

/** Three distinct valid codes (steps −1, 0, +1). */
export async function validCodes(secret: string): Promise<string[]> {
  await awayFromStepEdge();
  const now = Date.now();
  return [-1, 0, 1].map((o) => totpOf(secret).generate({ timestamp: now + o * 30_000 }));
}

/** A well-formed code that no step in the accepted window produces. */
export async function wrongCode(secret: string): Promise<string> {
  const valid = new Set(await validCodes(secret));
  for (let n = 0; ; n++) {
    const candidate = String((123457 + n * 7919) % 1_000_000).padStart(6, '0');
    if (!valid.has(candidate)) return candidate;
  }
}

export interface GqlHttpResult {
  status: number;
  data?: Record<string, unknown> | null;
  errors?: Array<{ message: string; path?: string[]; extensions?: Record<string, unknown> }>;
  text: string;
}

/** A GraphQL operation over real HTTP as JSON. */
export async function gqlHttp(
  world: World,
  headers: Record<string, string>,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<GqlHttpResult> {
  const res = await world.http
    .post('/graphql')
    .set(headers)
    .set('content-type', 'application/json')
    .send(JSON.stringify({ query, variables }));
  return { status: res.status, data: res.body?.data, errors: res.body?.errors, text: res.text };
}

export const CREATE_MUTATION = `mutation Create($clientId: ID!, $input: CreateProcessRequestInput!, $evidence: Upload!, $idempotencyKey: String) {
  createProcessRequest(clientId: $clientId, input: $input, evidence: $evidence, idempotencyKey: $idempotencyKey) {
    id status requestedAmount currency observations createdBy evidence { fileName contentType size sha256 }
  }
}`;

/** createProcessRequest over real HTTP with a multipart upload (GraphQL multipart request spec). */
export async function gqlUpload(
  world: World,
  headers: Record<string, string>,
  variables: Record<string, unknown>,
  file: Buffer,
  fileName = 'receipt.pdf',
  query = CREATE_MUTATION,
): Promise<GqlHttpResult> {
  const res = await world.http
    .post('/graphql')
    .set(headers)
    .set('apollo-require-preflight', 'true')
    .field('operations', JSON.stringify({ query, variables: { ...variables, evidence: null } }))
    .field('map', JSON.stringify({ 0: ['variables.evidence'] }))
    .attach('0', file, fileName);
  return { status: res.status, data: res.body?.data, errors: res.body?.errors, text: res.text };
}

export async function count(
  world: World,
  table: string,
  where = 'true',
  params: unknown[] = [],
): Promise<number> {
  const [row] = await world.sql<{ n: string }>(`select count(*) as n from ${table} where ${where}`, params);
  return Number(row.n);
}

export type Part =
  | { name: string; value: string }
  | { name: string; file: Buffer; fileName?: string; contentType?: string; rawDisposition?: string };

export const BOUNDARY = 'XbOuNdArYx1234567890';

/** A multipart/form-data body built byte by byte, so tests can send what a well-behaved client never would. */
export function multipart(
  parts: Part[],
  { boundary = BOUNDARY, close = true }: { boundary?: string; close?: boolean } = {},
): Buffer {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    chunks.push(Buffer.from(`--${boundary}\r\n`));
    if ('value' in part) {
      chunks.push(
        Buffer.from(`Content-Disposition: form-data; name="${part.name}"\r\n\r\n`, 'utf8'),
        Buffer.from(part.value, 'utf8'),
      );
    } else {
      const disposition =
        part.rawDisposition ?? `form-data; name="${part.name}"; filename="${part.fileName ?? 'receipt.pdf'}"`;
      chunks.push(
        Buffer.from(
          `Content-Disposition: ${disposition}\r\nContent-Type: ${part.contentType ?? 'application/octet-stream'}\r\n\r\n`,
          'utf8',
        ),
        part.file,
      );
    }
    chunks.push(Buffer.from('\r\n'));
  }
  if (close) chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(chunks);
}
