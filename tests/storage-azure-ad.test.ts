// Storage through Azure AD (SPEC section 15): AZURE_STORAGE_ACCOUNT_URL without a key. Azurite plays the
// account over HTTPS with OAuth on (a certificate made in the test), so every call carries a bearer token
// and download links are user delegation SAS links that Azurite verifies. What needs Azure itself (the
// default credential chain getting a real token) is not run here: the credential is the one seam.
import type { AccessToken, TokenCredential } from '@azure/core-auth';
import type { RequestPolicyFactory } from '@azure/storage-blob';
import { DefaultAzureCredential } from '@azure/identity';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { connect } from 'node:net';
import path from 'node:path';
import { SignJWT } from 'jose';
import { createApp } from '../src/app';
import { loadConfig } from '../src/config';
import { StartupError } from '../src/infra/startup-error';
import { defaultStorageCredential } from '../src/storage/credentials';
import { USER_DELEGATION_SAS_VERSION } from '../src/storage/evidence-store';
import { KEY_LIFETIME_MS, UserDelegationKeys } from '../src/storage/user-delegation-keys';
import { issueServerCertificate, makeCa } from './support/certificates';
import { PDF } from './support/files';
import { freePort } from '../src/infra/free-port';
import { createWorld, type World } from './support/world';

const ca = makeCa('Test storage CA');
const work = path.resolve('.cache', `azure-ad-${process.pid}-${randomBytes(3).toString('hex')}`);
const tenant = randomUUID();
const objectId = randomUUID();
let azurite: ChildProcess;
let accountUrl: string;

/** Bearer tokens shaped as Azure AD issues them for storage (Azurite checks issuer, audience, lifetime). */
function tokenCredential(audience = 'https://storage.azure.com'): TokenCredential & { issued: number } {
  const key = randomBytes(32);
  const credential = {
    issued: 0,
    async getToken(): Promise<AccessToken> {
      credential.issued++;
      const now = Math.floor(Date.now() / 1000);
      const token = await new SignJWT({ oid: objectId, tid: tenant })
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuer(`https://sts.windows.net/${tenant}/`)
        .setAudience(audience)
        .setIssuedAt(now)
        .setNotBefore(now - 60)
        .setExpirationTime(now + 3600)
        .sign(key);
      return { token, expiresOnTimestamp: (now + 3600) * 1000 };
    },
  };
  return credential;
}

/** A storage request policy trusting the test CA; counts user delegation key requests. */
function trustingPolicy(): RequestPolicyFactory & { delegationKeyRequests: number } {
  const agent = new Agent({ ca: ca.cert, keepAlive: true });
  const factory = {
    delegationKeyRequests: 0,
    create: (next: Parameters<RequestPolicyFactory['create']>[0]) => ({
      sendRequest(req: Parameters<ReturnType<RequestPolicyFactory['create']>['sendRequest']>[0]) {
        req.agent = agent;
        if (req.url.includes('comp=userdelegationkey')) factory.delegationKeyRequests++;
        return next.sendRequest(req);
      },
    }),
  };
  return factory;
}

/** GET over HTTPS trusting the test CA. */
function httpsGet(url: string): Promise<{ status: number; body: Buffer; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    request(url, { ca: ca.cert }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode!, body: Buffer.concat(chunks), headers: res.headers }),
      );
    })
      .on('error', reject)
      .end();
  });
}

const portOpen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });

beforeAll(async () => {
  mkdirSync(work, { recursive: true });
  const server = issueServerCertificate(ca, { dns: ['localhost'], ips: ['127.0.0.1'] });
  writeFileSync(path.join(work, 'cert.pem'), server.cert);
  writeFileSync(path.join(work, 'key.pem'), server.key);
  const port = await freePort();
  azurite = spawn(
    process.execPath,
    [
      require.resolve('azurite/dist/src/blob/main.js'),
      ...['--blobHost', '127.0.0.1', '--blobPort', String(port), '--inMemoryPersistence'],
      ...['--oauth', 'basic', '--cert', 'cert.pem', '--key', 'key.pem'],
      ...['--silent', '--skipApiVersionCheck', '--disableTelemetry', '--loose'],
    ],
    { cwd: work, stdio: 'ignore' },
  );
  const deadline = Date.now() + 20_000;
  while (!(await portOpen(port))) {
    if (azurite.exitCode !== null || Date.now() > deadline)
      throw new Error('Azurite (HTTPS, OAuth) did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  accountUrl = `https://127.0.0.1:${port}/devstoreaccount1`;
});

afterAll(async () => {
  if (azurite && azurite.exitCode === null) {
    await new Promise((resolve) => {
      azurite.once('exit', resolve);
      azurite.kill('SIGTERM');
    });
  }
  rmSync(work, { recursive: true, force: true });
});

describe('with an account URL and an Azure AD identity', () => {
  let world: World;
  let http: ReturnType<typeof trustingPolicy>;
  let credential: ReturnType<typeof tokenCredential>;
  beforeAll(async () => {
    http = trustingPolicy();
    credential = tokenCredential();
    world = await createWorld(
      { AZURE_STORAGE_CONNECTION_STRING: '', AZURE_STORAGE_ACCOUNT_URL: accountUrl },
      { storageCredential: credential, storagePolicies: [http] },
    );
  });
  afterAll(() => world?.close());

  test('evidence is stored with bearer tokens and served through user delegation SAS links', async () => {
    expect(world.app.config.storageConnectionString).toBeUndefined();
    // Start-up proved the identity can sign links: one delegation key was fetched already.
    expect(http.delegationKeyRequests).toBe(1);
    expect(credential.issued).toBeGreaterThan(0);

    const team = await world.team();
    const id = await world.createRequest(team.partner.id, team.maker, '12.50', PDF, 'receipt.pdf');
    expect(await world.blobsOf(team.partner.id)).toEqual([`${team.partner.id}/${id}/evidence.pdf`]);

    const links: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await world.http
        .get(`${world.rest(team.partner.id)}/process-request/${id}/evidence/download`)
        .set(await world.headers(team.viewer));
      expect(res.status).toBe(200);
      links.push(res.body.url);
    }
    const sas = new URL(links[0]);
    expect(sas.protocol).toBe('https:');
    // A user delegation SAS names the identity and tenant that signed it; no account key was involved.
    expect(sas.searchParams.get('skoid')).toBe(objectId);
    expect(sas.searchParams.get('sktid')).toBe(tenant);
    expect(sas.searchParams.get('sp')).toBe('r');
    expect(sas.searchParams.get('spr')).toBe('https');
    expect(sas.searchParams.get('sv')).toBe(USER_DELEGATION_SAS_VERSION);

    const download = await httpsGet(links[2]);
    expect(download.status).toBe(200);
    expect(download.body).toEqual(PDF);
    expect(String(download.headers['content-disposition'])).toMatch(/^attachment;/);

    // A forged signature is refused by the storage account.
    sas.searchParams.set('sig', randomBytes(32).toString('base64'));
    expect((await httpsGet(sas.toString())).status).toBe(403);

    // The key is cached: three links, still the one key fetched at start-up.
    expect(http.delegationKeyRequests).toBe(1);
    expect(world.app.services.store.delegationKeys?.fetched).toBe(1);
  });
});

test('an identity the account refuses stops start-up with one line naming AZURE_STORAGE_ACCOUNT_URL', async () => {
  const config = loadConfig({
    DATABASE_URL: process.env.DATABASE_URL,
    AZURE_STORAGE_ACCOUNT_URL: accountUrl,
    LOG_LEVEL: 'silent',
  });
  const error = await createApp(config, {
    storageCredential: tokenCredential('https://example.com/not-storage'),
    storagePolicies: [trustingPolicy()],
  }).then(
    (app) => app.close().then(() => undefined),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(StartupError);
  expect((error as Error).message).toMatch(
    /^AZURE_STORAGE_ACCOUNT_URL: the Azure AD identity cannot use https:\/\/127\.0\.0\.1:\d+\/devstoreaccount1 \(.+\); see/,
  );
  expect((error as Error).message).not.toContain('\n');
});

test('without an injected credential the service uses the default Azure credential chain', async () => {
  // Only constructed, never asked for a token: asking would reach for Azure's endpoints.
  expect(await defaultStorageCredential()).toBeInstanceOf(DefaultAzureCredential);
});

describe('the delegation key cache', () => {
  const key = (expiresOn: number) => ({
    signedObjectId: objectId,
    signedTenantId: tenant,
    signedStartsOn: new Date(0),
    signedExpiresOn: new Date(expiresOn),
    signedService: 'b',
    signedVersion: '2025-01-05',
    value: 'k',
  });

  test('one key serves links until shortly before it ends; concurrent callers share one fetch', async () => {
    let now = Date.UTC(2026, 0, 1);
    const asked: Array<[Date, Date]> = [];
    const keys = new UserDelegationKeys(
      async (startsOn, expiresOn) => {
        asked.push([startsOn, expiresOn]);
        return key(expiresOn.getTime());
      },
      () => now,
    );
    const link = (ttlMs = 300_000) => keys.keyFor(new Date(now + ttlMs));
    await Promise.all([link(), link(), link()]);
    expect(asked).toHaveLength(1);
    expect(asked[0][1].getTime()).toBe(now + KEY_LIFETIME_MS);
    expect(asked[0][0].getTime()).toBeLessThan(now); // starts a little earlier, for clock skew

    now += KEY_LIFETIME_MS - 11 * 60_000; // 11 minutes left: a 5-minute link still fits with the margin
    await link();
    expect(asked).toHaveLength(1);
    now += 2 * 60_000; // 9 minutes left: a 5-minute link plus the 5-minute margin does not
    await link();
    expect(asked).toHaveLength(2);

    // A long link gets a key that outlives it.
    const long = await link(3 * 24 * 3600_000);
    expect(long.signedExpiresOn.getTime()).toBeGreaterThan(now + 3 * 24 * 3600_000);
  });

  test('a failed fetch is not cached', async () => {
    let fail = true;
    const keys = new UserDelegationKeys(async (_s, e) => {
      if (fail) throw new Error('AuthorizationPermissionMismatch');
      return key(e.getTime());
    });
    await expect(keys.keyFor(new Date(Date.now() + 60_000))).rejects.toThrow(
      'AuthorizationPermissionMismatch',
    );
    fail = false;
    await expect(keys.keyFor(new Date(Date.now() + 60_000))).resolves.toBeDefined();
  });
});
