// The checker console's settings (SPEC section 17): whether /console is served, the key of its session
// tokens, and the identity provider its sign-in page may use.

export const DEV_CONSOLE_SESSION_SECRET = 'dev-console-session-secret-change-me-0123';

export interface ConsoleConfig {
  /** /console and POST /console/session are served (outside production, or CONSOLE=true). */
  enabled: boolean;
  /** HS256 key of the console's own application tokens (audience `console`). */
  sessionSecret: string;
  sessionSecretIsDevelopment: boolean;
  /** OpenID Connect issuer for "Sign in" (authorization code + PKCE), with its client id. */
  oidcIssuer?: string;
  oidcClientId?: string;
}

/**
 * Reads CONSOLE, CONSOLE_SESSION_SECRET, CONSOLE_OIDC_ISSUER and CONSOLE_OIDC_CLIENT_ID; each problem is
 * pushed as one line naming its variable.
 */
export function readConsoleConfig(
  get: (name: string) => string | undefined,
  production: boolean,
  problems: string[],
): ConsoleConfig {
  const raw = get('CONSOLE');
  if (raw !== undefined && raw !== 'true' && raw !== 'false') problems.push('CONSOLE: must be true or false');
  const enabled = raw === undefined ? !production : raw === 'true';
  const secret = get('CONSOLE_SESSION_SECRET');
  if (secret !== undefined && Buffer.byteLength(secret) < 32)
    problems.push('CONSOLE_SESSION_SECRET: must be at least 32 bytes');
  const sessionSecret = secret ?? DEV_CONSOLE_SESSION_SECRET;
  const sessionSecretIsDevelopment = sessionSecret === DEV_CONSOLE_SESSION_SECRET;
  if (production && enabled && sessionSecretIsDevelopment)
    problems.push('CONSOLE_SESSION_SECRET: the development secret is refused in production; set a secret');
  const oidcIssuer = get('CONSOLE_OIDC_ISSUER');
  const oidcClientId = get('CONSOLE_OIDC_CLIENT_ID');
  if (oidcIssuer !== undefined && !/^https?:\/\/[^\s?#]+$/.test(oidcIssuer))
    problems.push('CONSOLE_OIDC_ISSUER: must be the issuer URL (http(s)://…, no query)');
  if ((oidcIssuer === undefined) !== (oidcClientId === undefined))
    problems.push(
      'CONSOLE_OIDC_CLIENT_ID: set both CONSOLE_OIDC_ISSUER and CONSOLE_OIDC_CLIENT_ID, or neither',
    );
  return { enabled, sessionSecret, sessionSecretIsDevelopment, oidcIssuer, oidcClientId };
}
