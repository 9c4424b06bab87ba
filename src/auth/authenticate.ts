// Builds the acting operator from the two credentials, for HTTP headers and graphql-ws connection params alike.
import type { EntityManager } from '@mikro-orm/postgresql';
import { Operator } from '../entities/operator.entity';
import { DomainError } from '../domain/errors';
import { BOUND_TO, type TokenVerifier, validUntil } from './token-verifier';
import { type TokenName, tokenRefused } from './refusals';
import type { OperatorCache } from '../runtime/operator-cache';
import type { KeptOperator } from '../domain/context';

export interface Credentials {
  authorization?: unknown;
  'x-user-token'?: unknown;
}

/** The two credentials out of HTTP headers or graphql-ws connection params (same names in both). */
export function credentialsOf(source: Record<string, unknown> | undefined): Credentials {
  return { authorization: source?.authorization, 'x-user-token': source?.['x-user-token'] };
}

const MAX_TOKEN_LENGTH = 8192;

/** The JWT of a `Bearer <jwt>` credential; 401 naming the token and the reason (missing, malformed) otherwise. */
function bearer(value: unknown, token: TokenName): string {
  if (value === undefined || value === null || (typeof value === 'string' && value.trim() === ''))
    return missing(token);
  if (typeof value !== 'string') throw tokenRefused(token, 'malformed', 'is not a string');
  if (value.length > MAX_TOKEN_LENGTH)
    throw tokenRefused(token, 'malformed', `is longer than ${MAX_TOKEN_LENGTH} characters`);
  const match = /^Bearer ([A-Za-z0-9_\-.]+)$/.exec(value.trim());
  if (/^Bearer\s*$/i.test(value.trim())) return missing(token);
  if (!match)
    throw tokenRefused(
      token,
      'malformed',
      /^Bearer /i.test(value.trim())
        ? 'is not a JWT (three base64url parts joined by dots)'
        : "must be written 'Bearer ' followed by the JWT",
    );
  return match[1];
}

function missing(token: TokenName): never {
  throw tokenRefused(token, 'missing', "is missing: send 'Bearer ' followed by the JWT");
}

export interface Authenticated {
  operator: Operator;
  /** When the earlier of the two tokens stops verifying: a progress stream opened with them ends then. */
  validUntil: Date;
  /** Set when the operator is the row this process kept (a read must then check its version: storedRead). */
  kept?: KeptOperator;
}

/**
 * Verifies both tokens, then reads the operator whose `subject` the user token names from the database:
 * roles, scope and the active flag are always the stored ones. 401 for any token problem,
 * 403 OPERATOR_INACTIVE for a deactivated operator. Given `operators` (a read whose statement checks the
 * operator row's version, see storedRead), the row this process kept may serve instead.
 */
export async function authenticate(
  verifier: TokenVerifier,
  em: EntityManager,
  credentials: Credentials,
  operators?: OperatorCache,
): Promise<Authenticated> {
  const appToken = bearer(credentials.authorization, 'app');
  const userToken = bearer(credentials['x-user-token'], 'user');
  const app = await verifier.verifyApp(appToken);
  const { subject, exp, claim } = await verifier.verifyUser(userToken);
  // A console session token is good only with the user token of the operator it was opened for.
  if (app[BOUND_TO] !== undefined && app[BOUND_TO] !== subject)
    throw tokenRefused(
      'app',
      'wrong_audience',
      'is a console session of another operator: send it with the user token it was opened with',
    );
  const lookup = lookupOf(subject, claim);
  const found = operators?.get(lookup.key);
  const row = found ?? (await operatorRow(em, lookup, operators));
  const authenticated: Authenticated = {
    operator: found ? keptOperatorOf(em, found) : operatorOf(em, row),
    validUntil: validUntil(Math.min(app.exp as number, exp)),
  };
  if (found && operators) {
    // Read once however many reads of the call ask (a GraphQL operation's root fields run side by side).
    let reloaded: Promise<Operator> | undefined;
    authenticated.kept = {
      version: String(found[ROW_VERSION]),
      reload: () =>
        (reloaded ??= (async () => {
          operators.forget(String(found.id));
          em.clear();
          return operatorOf(em, await operatorRow(em, lookup, operators));
        })()),
    };
  }
  return authenticated;
}

/**
 * The operator the user token alone names (x-user-token), for POST /console/session: the same refusals as
 * authenticate (401 naming the user token and the reason, 403 OPERATOR_INACTIVE), and the token's `exp`.
 */
export async function authenticateUser(
  verifier: TokenVerifier,
  em: EntityManager,
  userCredential: unknown,
): Promise<{ operator: Operator; exp: number }> {
  const { subject, exp, claim } = await verifier.verifyUser(bearer(userCredential, 'user'));
  return { operator: operatorOf(em, await operatorRow(em, lookupOf(subject, claim))), exp };
}

/** How the operator row of a verified subject is looked up (and kept): see operatorRow. */
const lookupOf = (subject: string, claim: string) => ({
  key: `${claim === 'sub' ? 'sub' : 'other'}:${subject}`,
  subject,
  bySub: claim === 'sub',
});

/** The column carrying the row's version (xmin) beside the operator's own. */
const ROW_VERSION = 'row_version';

/** The row as this request's entity (merged into its identity map, as findOne would; a copy of the row). */
function operatorOf(em: EntityManager, row: Record<string, unknown> | undefined): Operator {
  if (!row)
    throw tokenRefused(
      'user',
      'unknown_subject',
      "names no known operator (its subject claim matches no operator's subject)",
    );
  const { [ROW_VERSION]: _version, ...columns } = row;
  const operator = em.map(Operator, structuredClone(columns));
  if (!operator.active) throw new DomainError('OPERATOR_INACTIVE');
  return operator;
}

/** Each kept row's fields as the entity has them, mapped once (the ORM's map and merge were most of a hot call's own work). */
const keptFields = new WeakMap<Record<string, unknown>, Record<string, unknown>>();

/**
 * A kept row as this call's own Operator: the fields of the entity mapped once per kept row, copied, not
 * merged into the call's EntityManager (the reads that may use a kept row take the operator's fields, never
 * the identity map; a reload puts the stored row there). Each call gets its own copy, arrays and limits
 * included, so nothing one call does to its operator reaches another. The fields are defined as the copy's
 * own: assigned, each would run the change-tracking setter the ORM puts on the prototype, and the first
 * would make the entity's helper, for an object no EntityManager manages.
 */
function keptOperatorOf(em: EntityManager, row: Record<string, unknown>): Operator {
  let fields = keptFields.get(row);
  if (!fields) keptFields.set(row, (fields = { ...operatorOf(em.fork(), row) }));
  const copy = Object.create(Operator.prototype) as Operator;
  for (const key of Object.keys(fields))
    Object.defineProperty(copy, key, {
      value: copyOf(fields[key]),
      writable: true,
      enumerable: true,
      configurable: true,
    });
  return copy;
}

/**
 * A deep copy of a kept field: a column's value is a string, number, boolean, null, a Date, an array or a
 * JSON object, nothing else. A fifth of structuredClone's cost, which was a hot read's largest own item.
 */
function copyOf(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(copyOf);
  if (value instanceof Date) return new Date(value.getTime());
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(value)) copy[key] = copyOf((value as Record<string, unknown>)[key]);
  return copy;
}

/**
 * The operator row a subject names, with its version. A plain statement: every call without a kept row
 * reads it, and the query builder and find pipeline were its cost. An operator never given a subject has
 * its id as one, which only `sub` tokens of this service's own minting carry: any other claim (an outside
 * provider's `email`, `oid`) could be made to hold an id every reader of a partner sees.
 */
async function operatorRow(
  em: EntityManager,
  { key, subject, bySub }: { key: string; subject: string; bySub: boolean },
  operators?: OperatorCache,
): Promise<Record<string, unknown> | undefined> {
  const since = operators?.mark();
  const [row] = await em.execute<Array<Record<string, unknown>>>(
    `select *, xmin::text as ${ROW_VERSION} from operator where subject = ?${bySub ? '' : ' and subject <> id::text'}`,
    [subject],
  );
  if (row && operators && since !== undefined) operators.remember(key, row, since);
  return row;
}
