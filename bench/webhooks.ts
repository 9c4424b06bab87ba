// Webhook benchmark: `npm run bench:webhooks`. The app in-process on a fresh database, 10 receivers on
// 127.0.0.1, and approvals over HTTP at BENCH_CONNECTIONS at once: first with no endpoint (the decision
// rate alone), then with 10 endpoints hearing every approval. Prints the decision → receiver latency
// (p50, p99: from the approve call's answer to the message's arrival) and deliveries per second as a
// ratio to the decision rate of the same phase and of the phase without webhooks.
import 'reflect-metadata';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, chmodSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { Client } from 'pg';
import { createApp } from '../src/app';
import { mintToken } from '../src/auth/dev-tokens';
import { loadConfig } from '../src/config';
import { migrate, openDatabase } from '../src/db';
import { startAzurite } from '../src/infra/embedded';
import { pgConnectionOptions } from '../src/infra/database-url';
import { PostgresCluster, temporaryDataDir } from '../src/infra/postgres-cluster';
import { freePort } from '../src/infra/free-port';
import { createLogger } from '../src/logger';
import { createOperator, createPartner } from '../src/services/identity/admin.service';
import { createFields, newOperator, newPartner, parseInput } from '../src/shapes/inputs';
import { cloneRequests } from './seed';

const APPROVALS = Number(process.env.BENCH_APPROVALS ?? 400);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const ENDPOINTS = 10;
const say = (line: string) => process.stderr.write(`· ${line}\n`);
const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

interface Arrival {
  requestId: string;
  at: number;
}

async function receiver(arrivals: Arrival[]): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const at = performance.now();
      const body = JSON.parse(Buffer.concat(chunks).toString()) as { data: { processRequestId: string } };
      arrivals.push({ requestId: body.data.processRequestId, at });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook` };
}

async function main(): Promise<void> {
  const log = createLogger(process.env.BENCH_LOG_LEVEL ?? 'warn');
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'bench-webhooks-'));
  chmodSync(tmp, 0o755);
  const cleanup: Array<() => Promise<unknown>> = [];
  try {
    const pg = new PostgresCluster({
      dataDir: temporaryDataDir(tmp),
      port: await freePort(),
      temporary: true,
    });
    await pg.initialise();
    await pg.start();
    cleanup.push(() => pg.stop());
    const admin = new Client(pgConnectionOptions(pg.url('postgres')));
    await admin.connect();
    await admin.query('create database bench');
    await admin.end();
    const databaseUrl = pg.url('bench');
    const azurite = await startAzurite(path.join(tmp, 'azurite'), log, await freePort());
    cleanup.push(() => azurite.stop());
    const orm = await openDatabase({ url: databaseUrl }, log);
    await migrate(orm).finally(() => orm.close(true));

    const config = {
      ...loadConfig({ LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn' }),
      databaseUrl,
      storageConnectionString: azurite.url,
      evidenceContainer: `bench-${randomBytes(4).toString('hex')}`,
      metricsPort: null,
      // One bench checker makes every call: its cap on calls in flight is the load's connections.
      maxGraphQLOperationsPerOperator: CONNECTIONS,
    };
    const app = await createApp(config, { logger: log });
    cleanup.unshift(() => app.close());
    const origin = `http://127.0.0.1:${(await app.listen(0, '127.0.0.1')).port}`;
    const { partner } = await createPartner(
      app.orm.em.fork(),
      parseInput(newPartner, { name: 'Bench', currency: 'USD' }),
    );
    const operator = (roles: string[]) =>
      createOperator(
        app.orm.em.fork(),
        parseInput(newOperator, {
          email: `${roles[0].toLowerCase()}-${randomBytes(3).toString('hex')}@bench.test`,
          name: 'Bench',
          roles,
          partnerIds: [partner.id],
        }),
      );
    const [maker, checker, hooksAdmin] = [
      await operator(['MAKER']),
      await operator(['CHECKER']),
      await operator(['ADMIN']),
    ];
    const headers = async (subject: string) => ({
      authorization: `Bearer ${await mintToken(config, 'app', 'bench', 3600)}`,
      'x-user-token': `Bearer ${await mintToken(config, 'user', subject, 3600)}`,
    });
    const source = await app.services.processRequests.create(
      { em: app.orm.em.fork(), operator: maker, log },
      partner.id,
      async (stage) => {
        await stage({ stream: Readable.from([Buffer.from('%PDF-1.4\n%%EOF\n')]), fileName: 'r.pdf' });
        return parseInput(createFields, { requestedAmount: '1.00' });
      },
    );
    const checkerHeaders = await headers(checker.subject);

    /** Approves every id, CONNECTIONS at once; returns when each answer came and the phase's rate. */
    const approveAll = async (ids: string[], connections = CONNECTIONS, pauseMs = 0) => {
      const answered = new Map<string, number>();
      const queue = [...ids];
      const started = performance.now();
      await Promise.all(
        Array.from({ length: connections }, async () => {
          for (let id = queue.shift(); id; id = queue.shift()) {
            const res = await fetch(
              `${origin}/cms/rest/app/partners/${partner.id}/process-request/${id}/approve`,
              {
                method: 'PATCH',
                headers: checkerHeaders,
              },
            );
            if (res.status !== 204) throw new Error(`approve answered ${res.status}`);
            answered.set(id, performance.now());
            if (pauseMs) await new Promise((r) => setTimeout(r, pauseMs));
          }
        }),
      );
      const seconds = (performance.now() - started) / 1000;
      return { answered, started, rate: ids.length / seconds };
    };

    say(`phase 1: ${APPROVALS} approvals, no webhook endpoint`);
    const bare = await approveAll(
      await cloneRequests(databaseUrl, source.id, APPROVALS, { status: 'PENDING', returning: true }),
    );

    const arrivals: Arrival[] = [];
    const receivers = await Promise.all(Array.from({ length: ENDPOINTS }, () => receiver(arrivals)));
    cleanup.unshift(async () => receivers.forEach((r) => r.server.close()));
    const adminHeaders = await headers(hooksAdmin.subject);
    for (const r of receivers) {
      const res = await fetch(`${origin}/cms/rest/app/partners/${partner.id}/webhook-endpoints`, {
        method: 'POST',
        headers: { ...adminHeaders, 'content-type': 'application/json' },
        body: JSON.stringify({ url: r.url, eventTypes: ['process_request.approved'] }),
      });
      if (res.status !== 201) throw new Error(`endpoint answered ${res.status}`);
    }
    say(`phase 2: ${APPROVALS} approvals, ${ENDPOINTS} endpoints hear each`);
    const ids = await cloneRequests(databaseUrl, source.id, APPROVALS, {
      status: 'PENDING',
      returning: true,
    });
    const relaySteps = app.services.webhookRelay.steps;
    for (const key of Object.keys(relaySteps)) delete relaySteps[key];
    const cpuBefore = process.cpuUsage();
    const eluBefore = performance.eventLoopUtilization();
    const hooked = await approveAll(ids);
    const expected = ids.length * ENDPOINTS;
    const deadline = Date.now() + 120_000;
    while (arrivals.length < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const last = Math.max(...arrivals.map((a) => a.at));
    // This process (app, relay and receivers) during phase 2: its CPU and how busy its event loop was.
    const cpu = process.cpuUsage(cpuBefore);
    const elu = performance.eventLoopUtilization(eluBefore);
    const phaseSeconds = (last - hooked.started) / 1000;
    const latencies = arrivals
      .filter((a) => hooked.answered.has(a.requestId))
      .map((a) => a.at - hooked.answered.get(a.requestId)!)
      .sort((x, y) => x - y);
    const deliveryRate = arrivals.length / ((last - hooked.started) / 1000);
    // The backlog when the load stops: from the last approval's answer to the last message's arrival.
    const loadEnded = Math.max(...hooked.answered.values());
    const figures = {
      approvals: APPROVALS,
      connections: CONNECTIONS,
      endpoints: ENDPOINTS,
      decisionsPerSecondWithoutWebhooks: Number(bare.rate.toFixed(1)),
      decisionsPerSecondWithWebhooks: Number(hooked.rate.toFixed(1)),
      deliveries: arrivals.length,
      expectedDeliveries: expected,
      deliveriesPerSecond: Number(deliveryRate.toFixed(1)),
      deliveriesPerDecisionRate: Number((deliveryRate / hooked.rate).toFixed(2)),
      deliveriesPerBareDecisionRate: Number((deliveryRate / bare.rate).toFixed(2)),
      approvalSeconds: Number(((loadEnded - hooked.started) / 1000).toFixed(1)),
      backlogDrainedSecondsAfterLoad: Number((Math.max(0, last - loadEnded) / 1000).toFixed(1)),
      latencyMsP50: Number(percentile(latencies, 50).toFixed(1)),
      latencyMsP99: Number(percentile(latencies, 99).toFixed(1)),
      latencyMsMax: Number(latencies[latencies.length - 1].toFixed(1)),
      processCpuPercent: Number(((100 * (cpu.user + cpu.system)) / 1e6 / phaseSeconds).toFixed(0)),
      eventLoopUtilization: Number(elu.utilization.toFixed(2)),
      // Phase 2's relay steps in this process: how many, mean ms each, rows per step where it moves rows.
      relaySteps: Object.fromEntries(
        Object.entries(relaySteps).map(([name, s]) => [
          name,
          s.ms > 0
            ? { count: s.count, meanMs: Number((s.ms / s.count).toFixed(1)) }
            : { count: s.count, rowsEach: Number((s.rows / s.count).toFixed(1)) },
        ]),
      ),
    };

    // Phase 3: the latency when the sender is not behind: approvals one at a time, PACED_MS apart.
    const paced = Number(process.env.BENCH_PACED ?? 60);
    const pauseMs = Number(process.env.BENCH_PACED_MS ?? 100);
    say(`phase 3: ${paced} approvals one at a time, ${pauseMs} ms apart`);
    const before = arrivals.length;
    const pacedIds = await cloneRequests(databaseUrl, source.id, paced, {
      status: 'PENDING',
      returning: true,
    });
    const slow = await approveAll(pacedIds, 1, pauseMs);
    const until = Date.now() + 60_000;
    while (arrivals.length < before + paced * ENDPOINTS && Date.now() < until)
      await new Promise((r) => setTimeout(r, 50));
    const pacedLatencies = arrivals
      .slice(before)
      .filter((a) => slow.answered.has(a.requestId))
      .map((a) => a.at - slow.answered.get(a.requestId)!)
      .sort((x, y) => x - y);
    Object.assign(figures, {
      pacedDecisionsPerSecond: Number(slow.rate.toFixed(1)),
      pacedDeliveries: pacedLatencies.length,
      pacedLatencyMsP50: Number(percentile(pacedLatencies, 50).toFixed(1)),
      pacedLatencyMsP99: Number(percentile(pacedLatencies, 99).toFixed(1)),
    });
    process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`);
  } finally {
    for (const step of cleanup) await step().catch(() => undefined);
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((error) => {
  process.stderr.write(`${(error as Error).stack}\n`);
  process.exit(1);
});
