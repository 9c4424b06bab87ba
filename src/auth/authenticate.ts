// Builds the acting operator from the two credentials, for HTTP headers and graphql-ws connection params alike.
import type { EntityManager } from '@mikro-orm/postgresql';
import { Operator } from '../entities/operator.entity';
import { DomainError } from '../domain/errors';
import { BOUND_TO, type TokenVerifier, validUntil } from './token-verifier';

export interface Credentials {
  authorization?: unknown;
  'x-user-token'?: unknown;
}

/** The two credentials out of HTTP headers or graphql-ws connection params (same names in both). */
export function credentialsOf(source: Record<string, unknown> | undefined): Credentials {
  return { authorization: source?.authorization, 'x-user-token': source?.['x-user-token'] };
}

const MAX_TOKEN_LENGTH = 8192;

function bearer(value: unknown): string {
  if (typeof value !== 'string' || value.length > MAX_TOKEN_LENGTH) throw new DomainError('UNAUTHENTICATED');
  const match = /^Bearer ([A-Za-z0-9_\-.]+)$/.exec(value.trim());
  if (!match) throw new DomainError('UNAUTHENTICATED');
  return match[1];
}

export interface Authenticated {
  operator: Operator;
  /** When the earlier of the two tokens stops verifying: a progress stream opened with them ends then. */
  validUntil: Date;
}

/**
 * Verifies both tokens, then reads the operator whose `subject` the user token names from the database:
 * roles, scope and the active flag are always the stored ones. 401 for any token problem,
 * 403 OPERATOR_INACTIVE for a deactivated operator.
 */
export async function authenticate(
  verifier: TokenVerifier,
  em: EntityManager,
  credentials: Credentials,
): Promise<Authenticated> {
  const appToken = bearer(credentials.authorization);
  const userToken = bearer(credentials['x-user-token']);
  const app = await verifier.verifyApp(appToken);
  const { subject, exp } = await verifier.verifyUser(userToken);
  // A console session token is good only with the user token of the operator it was opened for.
  if (app[BOUND_TO] !== undefined && app[BOUND_TO] !== subject)
    throw new DomainError('UNAUTHENTICATED', 'The console session belongs to another operator');
  // A plain statement mapped onto the entity (merged into this request's identity map, as findOne would):
  // every call reads it, and the query builder and find pipeline were its cost.
  const [row] = await em.execute<Array<Record<string, unknown>>>('select * from operator where subject = ?', [
    subject,
  ]);
  const operator = row ? em.map(Operator, row) : null;
  if (!operator) throw new DomainError('UNAUTHENTICATED', 'The user token names no known operator');
  if (!operator.active) throw new DomainError('OPERATOR_INACTIVE');
  return { operator, validUntil: validUntil(Math.min(app.exp as number, exp)) };
}
