// The checker console's settings (SPEC section 17), read by config.ts from CONSOLE, CONSOLE_SESSION_SECRET,
// CONSOLE_OIDC_ISSUER and CONSOLE_OIDC_CLIENT_ID.

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
