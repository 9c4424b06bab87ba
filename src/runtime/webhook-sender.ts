// One webhook POST: no redirect followed, at most 64 KiB of the answer read, one deadline for all of it,
// and — unless private networks are allowed — only to a public address, checked on the address the
// socket connects to (a resolver hook plus the socket's remote address), so DNS rebinding cannot steer it.
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { performance } from 'node:perf_hooks';
import { nonPublicReason, normaliseIp } from '../domain/network-address';

/** Most bytes of an answer read. */
export const MAX_ANSWER_BYTES = 64 * 1024;
/** The longest Retry-After honoured. */
export const MAX_RETRY_AFTER_SECONDS = 3600;

export interface SendResult {
  statusCode: number | null;
  durationMs: number;
  error: string | null;
  /** Retry-After of a 429 or 503, in seconds, capped at an hour; null when absent or not in the future. */
  retryAfterSeconds: number | null;
}

export interface SendOptions {
  url: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
  allowPrivateNetworks: boolean;
  agents?: { http: http.Agent; https: https.Agent };
}

/** A resolver that refuses (as a lookup error) a host with any non-public address. */
export const publicOnlyLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
    if (error) return callback(error, '', 0);
    const bad = addresses.find((a) => nonPublicReason(a.address) !== undefined);
    if (bad) {
      const refusal = Object.assign(
        new Error(`${hostname} resolves to ${bad.address} (${nonPublicReason(bad.address)}): refused`),
        { code: 'WEBHOOK_ADDRESS_FORBIDDEN' },
      );
      return callback(refusal, '', 0);
    }
    if ((options as { all?: boolean }).all)
      return (callback as (e: null, a: LookupAddress[]) => void)(null, addresses);
    callback(null, addresses[0].address, addresses[0].family);
  });
};

/**
 * Retry-After as seconds (delta or HTTP date), capped; null when absent, unreadable or not in the future
 * (0, a negative number, a date already past: no wait asked for, so the schedule decides).
 */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | null {
  if (!value) return null;
  const seconds = /^\d+$/.test(value.trim()) ? Number(value.trim()) : (Date.parse(value) - now) / 1000;
  if (!Number.isFinite(seconds) || seconds <= 0) return null;
  return Math.min(MAX_RETRY_AFTER_SECONDS, Math.ceil(seconds));
}

/** Why a URL may not be sent to, before any connection (scheme, an IP literal's range); undefined: go. */
export function refusalBeforeConnect(url: URL, allowPrivateNetworks: boolean): string | undefined {
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'not an http(s) URL';
  if (allowPrivateNetworks) return undefined;
  if (url.protocol !== 'https:') return 'only https is allowed';
  const host = normaliseIp(url.hostname);
  if (isIP(host)) {
    const reason = nonPublicReason(host);
    if (reason) return `${host} is ${reason}: refused`;
  }
  return undefined;
}

export function sendWebhook(options: SendOptions): Promise<SendResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  return new Promise<SendResult>((resolve) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined = undefined;
    const finish = (result: Omit<SendResult, 'durationMs'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...result, durationMs: elapsed() });
    };
    const fail = (error: string) => finish({ statusCode: null, error, retryAfterSeconds: null });
    let url: URL;
    try {
      url = new URL(options.url);
    } catch {
      return fail('not a URL');
    }
    const refused = refusalBeforeConnect(url, options.allowPrivateNetworks);
    if (refused) return fail(refused);
    const secure = url.protocol === 'https:';
    const request = (secure ? https : http).request(url, {
      method: 'POST',
      headers: {
        ...options.headers,
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(options.body)),
        'user-agent': 'process-requests-webhooks/1',
      },
      agent: options.agents ? (secure ? options.agents.https : options.agents.http) : undefined,
      lookup: options.allowPrivateNetworks ? undefined : publicOnlyLookup,
    });
    timer = setTimeout(() => {
      request.destroy(new Error(`no answer within ${options.timeoutMs} ms`));
    }, options.timeoutMs);
    request.on('socket', (socket) => {
      if (options.allowPrivateNetworks) return;
      const check = () => {
        const reason = socket.remoteAddress ? nonPublicReason(socket.remoteAddress) : 'no remote address';
        if (reason) request.destroy(new Error(`connected to ${socket.remoteAddress} (${reason}): refused`));
      };
      if (socket.remoteAddress && !socket.connecting) check();
      else socket.once('connect', check);
    });
    request.on('error', (error) => fail(error.message.slice(0, 500)));
    request.on('response', (response) => {
      const statusCode = response.statusCode ?? 0;
      const retryAfterSeconds =
        statusCode === 429 || statusCode === 503 ? parseRetryAfter(response.headers['retry-after']) : null;
      const error =
        statusCode >= 200 && statusCode < 300
          ? null
          : statusCode >= 300 && statusCode < 400
            ? `redirect (${statusCode}) not followed`
            : `answered ${statusCode}`;
      let read = 0;
      const done = () => finish({ statusCode, error, retryAfterSeconds });
      response.on('data', (chunk: Buffer) => {
        read += chunk.length;
        // The answer's content is never used: past the cap the connection is dropped, the status stands.
        if (read >= MAX_ANSWER_BYTES) {
          done();
          response.destroy();
          request.destroy();
        }
      });
      response.on('end', done);
      response.on('error', (e) => (settled ? undefined : fail(e.message)));
      response.on('close', done);
    });
    request.end(options.body);
  });
}
