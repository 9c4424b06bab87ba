// A partner's webhook receiver on 127.0.0.1: it verifies every message with the Standard Webhooks
// reference library (`standardwebhooks`) and answers as the test scripts it (status, headers, delay).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import type { Operator } from '../../src/entities/operator.entity';
import type { World } from './world';

export interface Received {
  id: string;
  timestamp: string;
  signature: string;
  body: string;
  /** The parsed body when some secret verified it; undefined when none did. */
  verified?: { type: string; timestamp: string; data: Record<string, unknown> };
  /** Which of the secrets given verified it (indexes). */
  verifiedBy: number[];
  at: number;
}

/** What to answer: a status with headers, a delay before answering, or a bigger body. */
export interface Answer {
  status: number;
  headers?: Record<string, string>;
  delayMs?: number;
  body?: string;
}

export interface Receiver {
  url: string;
  port: number;
  received: Received[];
  /** Secrets to verify with (several during a rotation). */
  secrets: string[];
  /** Answers for the next messages, in order; when empty, `fallback` is answered. */
  script: Answer[];
  fallback: Answer;
  /** The most messages it was answering at once. */
  maxInFlight: number;
  close(): Promise<void>;
}

function headerOf(req: IncomingMessage, name: string): string {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(',') : (value ?? '');
}

export async function startReceiver(secrets: string[] = []): Promise<Receiver> {
  const receiver = {
    received: [] as Received[],
    secrets,
    script: [] as Answer[],
    fallback: { status: 204 } as Answer,
    maxInFlight: 0,
  } as Receiver;
  let inFlight = 0;
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    inFlight += 1;
    receiver.maxInFlight = Math.max(receiver.maxInFlight, inFlight);
    res.on('close', () => (inFlight -= 1));
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const headers = {
        'webhook-id': headerOf(req, 'webhook-id'),
        'webhook-timestamp': headerOf(req, 'webhook-timestamp'),
        'webhook-signature': headerOf(req, 'webhook-signature'),
      };
      const entry: Received = {
        id: headers['webhook-id'],
        timestamp: headers['webhook-timestamp'],
        signature: headers['webhook-signature'],
        body,
        verifiedBy: [],
        at: Date.now(),
      };
      receiver.secrets.forEach((secret, i) => {
        try {
          entry.verified = new Webhook(secret).verify(body, headers) as Received['verified'];
          entry.verifiedBy.push(i);
        } catch {
          // not signed with this one
        }
      });
      receiver.received.push(entry);
      const answer = receiver.script.shift() ?? receiver.fallback;
      const reply = () => {
        if (res.destroyed) return;
        res.writeHead(answer.status, answer.headers);
        res.end(answer.body ?? '');
      };
      if (answer.delayMs) setTimeout(reply, answer.delayMs);
      else reply();
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  receiver.port = port;
  receiver.url = `http://127.0.0.1:${port}/hooks`;
  receiver.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return receiver;
}

/**
 * Registers `receiver` as a webhook endpoint of `partnerId` (`extra`: the rest of the body), as `admin`, and
 * gives the receiver the endpoint's secret to verify with. The endpoint as the service answered it.
 */
export async function registerEndpoint(
  world: World,
  partnerId: string,
  admin: Operator,
  receiver: Receiver,
  extra: Record<string, unknown> = {},
): Promise<{ id: string; secret: string }> {
  const res = await world.http
    .post(`${world.rest(partnerId)}/webhook-endpoints`)
    .set(await world.headers(admin))
    .send({ url: receiver.url, ...extra });
  expect({ status: res.status, body: res.body }).toMatchObject({ status: 201 });
  receiver.secrets.push(res.body.secret as string);
  return res.body as { id: string; secret: string };
}
