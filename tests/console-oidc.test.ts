// The console's OpenID Connect sign-in (authorization code + PKCE) in chromium, against a small identity
// provider on loopback that checks what a real one checks: the client, the redirect URI, the state round
// trip and the S256 code challenge against the verifier sent to its token endpoint.
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { mintToken } from '../src/auth/dev-tokens';
import { buildConsoleIfStale, chromiumPath, launch, watchedPage } from './support/browser';
import { createWorld, type World } from './support/world';

const executablePath = chromiumPath();
const suite = executablePath ? describe : describe.skip;
if (!executablePath)
  process.stderr.write(
    'console OIDC browser test SKIPPED: chromium is not installed (apt-get install -y chromium)\n',
  );

jest.setTimeout(120_000);

const CLIENT_ID = 'console-test';
const b64url = (bytes: Buffer) => bytes.toString('base64url');

interface Seen {
  authorize?: URLSearchParams;
  token?: URLSearchParams;
  verifierMatched?: boolean;
}

/** The provider: discovery, an authorize endpoint that consents at once, and a token endpoint. */
function identityProvider(userToken: () => Promise<string>, seen: Seen): Server {
  const codes = new Map<string, { challenge: string; redirectUri: string }>();
  return createServer((req, res) => {
    const base = `http://127.0.0.1:${(req.socket.address() as AddressInfo).port}`;
    const url = new URL(req.url ?? '/', base);
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json', 'access-control-allow-origin': '*' });
      res.end(JSON.stringify(body));
    };
    if (url.pathname === '/.well-known/openid-configuration')
      return json(200, {
        issuer: base,
        authorization_endpoint: `${base}/authorize`,
        token_endpoint: `${base}/token`,
        code_challenge_methods_supported: ['S256'],
      });
    if (url.pathname === '/authorize') {
      seen.authorize = url.searchParams;
      const code = b64url(randomBytes(16));
      codes.set(code, {
        challenge: url.searchParams.get('code_challenge') ?? '',
        redirectUri: url.searchParams.get('redirect_uri') ?? '',
      });
      const back = new URL(url.searchParams.get('redirect_uri') ?? '');
      back.search = new URLSearchParams({ code, state: url.searchParams.get('state') ?? '' }).toString();
      res.writeHead(302, { location: back.toString() });
      return res.end();
    }
    if (url.pathname === '/token' && req.method === 'POST') {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        const form = new URLSearchParams(body);
        seen.token = form;
        const grant = codes.get(form.get('code') ?? '');
        const verifier = form.get('code_verifier') ?? '';
        seen.verifierMatched =
          grant !== undefined && b64url(createHash('sha256').update(verifier).digest()) === grant.challenge;
        if (!seen.verifierMatched || grant?.redirectUri !== form.get('redirect_uri'))
          return json(400, { error: 'invalid_grant' });
        void userToken().then((token) =>
          json(200, { access_token: token, token_type: 'Bearer', expires_in: 300 }),
        );
      });
      return;
    }
    json(404, { error: 'not_found' });
  });
}

suite('console sign-in with OpenID Connect', () => {
  let world: World;
  let browser: Browser;
  let provider: Server;
  let issuer: string;
  const seen: Seen = {};

  beforeAll(async () => {
    buildConsoleIfStale();
    let subject = '';
    provider = identityProvider(() => mintToken(world.app.config, 'user', subject, 600), seen);
    await new Promise<void>((resolve) => provider.listen(0, '127.0.0.1', resolve));
    issuer = `http://127.0.0.1:${(provider.address() as AddressInfo).port}`;
    world = await createWorld({ CONSOLE_OIDC_ISSUER: issuer, CONSOLE_OIDC_CLIENT_ID: CLIENT_ID });
    const partner = await world.partner('OIDC Partner', 'USD');
    subject = (await world.operator(['CHECKER'], [partner.id], { name: 'Ola Oidc' })).subject;
    browser = await launch(executablePath as string);
  });
  afterAll(async () => {
    await browser?.close();
    await world?.close();
    await new Promise((resolve) => provider?.close(resolve));
  });

  test('"Sign in" runs the authorization-code flow with PKCE and opens the console', async () => {
    const w = await watchedPage(browser);
    await w.page.goto(`${world.baseUrl}/console`);
    await w.page.getByRole('button', { name: 'Sign in with your identity provider' }).click();
    await w.page.getByRole('heading', { name: 'Pending my decision' }).waitFor();
    await w.page.getByText('Ola Oidc').waitFor();
    expect(w.page.url()).toBe(`${world.baseUrl}/console`);

    const authorize = Object.fromEntries(seen.authorize ?? []);
    expect(authorize).toMatchObject({
      response_type: 'code',
      client_id: CLIENT_ID,
      redirect_uri: `${world.baseUrl}/console`,
      code_challenge_method: 'S256',
    });
    expect(authorize.code_challenge).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(authorize.state).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(seen.token?.get('grant_type')).toBe('authorization_code');
    expect(seen.token?.get('client_id')).toBe(CLIENT_ID);
    expect(seen.verifierMatched).toBe(true);
    expect({ errors: w.errors, outside: w.outside }).toEqual({ errors: [], outside: [] });
    await w.context.close();
  });
});
