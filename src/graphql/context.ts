// The GraphQL context: the same ServiceContext a REST call builds, plus what resolvers need around it.
import { randomUUID } from 'node:crypto';
import { authenticate, type Credentials } from '../auth/authenticate';
import type { TokenVerifier } from '../auth/token-verifier';
import { contextWithLog, type ServiceContext } from '../domain/context';
import { toDomainError } from '../domain/errors';
import type { Services } from '../services';
import { lazyChild, logOf, type LogSource } from '../logger';
import { toGraphQLError } from './errors';
import { createLoaders, type Loaders } from './loaders';

export interface GraphQLContext extends ServiceContext {
  services: Services;
  requestId: string;
  loaders: Loaders;
  /** Content-Length of the HTTP request, for upload progress. */
  expectedBytes?: number;
  /**
   * Over HTTP: takes the further places a bulk decision of `ids` ids needs among its operator's calls in
   * flight (429 TOO_MANY_OPERATIONS when they are taken), given back with the operation's own.
   */
  holdBulk?: (ids: number) => void;
}

export interface ContextInput {
  credentials: Credentials;
  requestId?: string;
  log?: LogSource;
  expectedBytes?: number;
  /**
   * The operation is a query of storedReads only (HotOperations): it may be served the operator row this
   * process keeps, whose version each of those reads checks in its own statement.
   */
  hot?: boolean;
  /** An HTTP HEAD: the answer's body is never delivered (ServiceContext.headOnly). */
  headOnly?: boolean;
}

/** Authenticates (401/403 before any resolver runs) and forks the EntityManager for this operation. */
export async function buildGraphQLContext(
  services: Services,
  verifier: TokenVerifier,
  input: ContextInput,
): Promise<GraphQLContext> {
  const requestId = input.requestId ?? randomUUID();
  // A log handed in with its request's id already carries it (the HTTP door's); otherwise it is bound here.
  const given = input.log;
  const log = given && input.requestId ? () => logOf(given) : lazyChild(given ?? services.log, { requestId });
  const em = services.orm.em.fork();
  try {
    const { operator, validUntil, kept } = await authenticate(
      verifier,
      em,
      input.credentials,
      input.hot ? services.operators : undefined,
    );
    // `log` is the operator's child logger, made on first use. It comes from the prototype: Apollo runs each
    // operation on a copy of the context's own fields over the same prototype (Object.assign), which would
    // call an own getter and make the child for every operation.
    const context = contextWithLog<GraphQLContext>({
      em,
      operator,
      makeLog: lazyChild(log, { operatorId: operator.id }),
      partners: services.partners,
      validUntil,
      kept,
      services,
      requestId,
      expectedBytes: input.expectedBytes,
      headOnly: input.headOnly,
    });
    // Loaders judge with the object the resolvers receive: when a read replaces a kept operator row with
    // the stored one (storedRead), the fields resolved after it are judged with the stored row too. This is
    // that object for graphql-ws; Apollo runs each operation on a copy and binds them to it (loaders.plugin).
    context.loaders = createLoaders(services, context);
    return context;
  } catch (error) {
    const domain = toDomainError(error);
    if (domain.status >= 500) log().error({ err: error }, 'GraphQL context failed');
    else
      log().info({ code: domain.code, reason: domain.message, details: domain.details }, 'GraphQL refused');
    throw toGraphQLError(domain, requestId, true);
  }
}
