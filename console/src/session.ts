// Who is signed in: the operator's user token (from the link's fragment, pasted, or OpenID Connect), and the
// console's own short-lived application token from POST /console/session, renewed while the page is open.

const USER_TOKEN_KEY = 'console.userToken';
const PKCE_KEY = 'console.pkce';

export interface Tokens {
  userToken: string;
  appToken: string;
  expiresAt: number;
}

export interface Settings {
  oidcIssuer?: string;
  oidcClientId?: string;
}

/** The settings the service wrote into the page (a meta tag: no inline script runs under the CSP). */
export function settings(): Settings {
  const meta = document.querySelector('meta[name="console-settings"]');
  try {
    return meta ? (JSON.parse(meta.getAttribute('content') ?? '{}') as Settings) : {};
  } catch {
    return {};
  }
}

export class SessionError extends Error {}

let current: Tokens | null = null;
let renewTimer: ReturnType<typeof setTimeout> | undefined;
const listeners = new Set<(tokens: Tokens | null) => void>();

export const tokens = () => current;

export function onTokens(listener: (tokens: Tokens | null) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function authHeaders(): Record<string, string> {
  if (!current) return {};
  return { authorization: `Bearer ${current.appToken}`, 'x-user-token': `Bearer ${current.userToken}` };
}

/** Takes `#userToken=…` off the address (it never reaches the server, and should not stay in history). */
export function takeFragmentToken(): string | null {
  const params = new URLSearchParams(window.location.hash.slice(1));
  const token = params.get('userToken');
  if (token === null) return null;
  window.history.replaceState(null, '', window.location.pathname);
  return token.trim();
}

export const storedUserToken = () => sessionStorage.getItem(USER_TOKEN_KEY);

async function openSession(userToken: string): Promise<Tokens> {
  const res = await fetch('/console/session', {
    method: 'POST',
    headers: { 'x-user-token': `Bearer ${userToken}` },
  });
  const body = (await res.json().catch(() => ({}))) as {
    token?: string;
    expiresAt?: string;
    message?: string;
  };
  if (!res.ok || !body.token || !body.expiresAt)
    throw new SessionError(body.message ?? `Sign-in failed (${res.status})`);
  return { userToken, appToken: body.token, expiresAt: Date.parse(body.expiresAt) };
}

function schedule(): void {
  clearTimeout(renewTimer);
  if (!current) return;
  // Renewed at two thirds of its life, so a slow answer never leaves the page without a valid token.
  const wait = Math.max(1000, ((current.expiresAt - Date.now()) * 2) / 3);
  renewTimer = setTimeout(() => void renew(), wait);
}

async function renew(): Promise<void> {
  if (!current) return;
  try {
    current = await openSession(current.userToken);
    schedule();
    listeners.forEach((l) => l(current));
  } catch {
    signOut();
  }
}

export async function signIn(userToken: string): Promise<Tokens> {
  current = await openSession(userToken);
  sessionStorage.setItem(USER_TOKEN_KEY, userToken);
  schedule();
  listeners.forEach((l) => l(current));
  return current;
}

export function signOut(): void {
  clearTimeout(renewTimer);
  current = null;
  sessionStorage.removeItem(USER_TOKEN_KEY);
  listeners.forEach((l) => l(null));
}

// OpenID Connect: authorization code with PKCE (RFC 7636, S256), public client, no secret in the page.

const base64url = (bytes: Uint8Array) =>
  btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');

function randomString(): string {
  return base64url(crypto.getRandomValues(new Uint8Array(32)));
}

export async function challengeOf(verifier: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

interface Discovery {
  authorization_endpoint: string;
  token_endpoint: string;
}

async function discover(issuer: string): Promise<Discovery> {
  const res = await fetch(`${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`);
  if (!res.ok) throw new SessionError(`The identity provider's configuration is unavailable (${res.status})`);
  return (await res.json()) as Discovery;
}

const redirectUri = () => `${window.location.origin}${window.location.pathname}`;

/** Sends the browser to the identity provider; it comes back to this page with ?code=…&state=…. */
export async function startOidc(s: Settings): Promise<void> {
  if (!s.oidcIssuer || !s.oidcClientId) throw new SessionError('OpenID Connect is not configured');
  const { authorization_endpoint } = await discover(s.oidcIssuer);
  const verifier = randomString();
  const state = randomString();
  sessionStorage.setItem(PKCE_KEY, JSON.stringify({ verifier, state }));
  const url = new URL(authorization_endpoint);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: s.oidcClientId,
    redirect_uri: redirectUri(),
    scope: 'openid profile email',
    state,
    code_challenge: await challengeOf(verifier),
    code_challenge_method: 'S256',
  }).toString();
  window.location.assign(url.toString());
}

/** On the way back from the provider: the code traded for tokens; returns the user token, or null. */
export async function finishOidc(s: Settings): Promise<string | null> {
  const params = new URLSearchParams(window.location.search);
  const code = params.get('code');
  const error = params.get('error');
  if (!code && !error) return null;
  window.history.replaceState(null, '', window.location.pathname);
  if (error) throw new SessionError(`The identity provider refused the sign-in: ${error}`);
  const saved = JSON.parse(sessionStorage.getItem(PKCE_KEY) ?? 'null') as {
    verifier: string;
    state: string;
  } | null;
  sessionStorage.removeItem(PKCE_KEY);
  if (!saved || saved.state !== params.get('state'))
    throw new SessionError('The sign-in answer does not match');
  if (!s.oidcIssuer || !s.oidcClientId) throw new SessionError('OpenID Connect is not configured');
  const { token_endpoint } = await discover(s.oidcIssuer);
  const res = await fetch(token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code: code as string,
      redirect_uri: redirectUri(),
      client_id: s.oidcClientId,
      code_verifier: saved.verifier,
    }),
  });
  const body = (await res.json().catch(() => ({}))) as { access_token?: string; id_token?: string };
  // The service verifies the operator's token as a resource server: the access token, else the ID token.
  const token = body.access_token ?? body.id_token;
  if (!res.ok || !token) throw new SessionError(`The code exchange failed (${res.status})`);
  return token;
}
