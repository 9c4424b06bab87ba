// The service layer as one object, built once per app from its dependencies.
import type { MikroORM } from '@mikro-orm/postgresql';
import type { ClientConfig } from 'pg';
import type { Config } from '../config';
import type { Logger } from '../logger';
import type { EvidenceStore } from '../storage/evidence-store';
import { PartnerCache } from '../domain/access';
import { ApprovalPolicyService } from './approval-policy.service';
import { ExpirySweeper } from '../runtime/expiry';
import { EvidenceReconciler } from '../runtime/evidence-reconciler';
import { IdempotencyService } from './idempotency.service';
import type { ProcessLiveness } from '../runtime/liveness';
import { ProcessRequestQueryService } from './process-request-query.service';
import { OtpService } from './identity/otp.service';
import { ProcessRequestService } from './process-request.service';
import { StatementService } from './integration/statement.service';
import type { RecordedListener, TransitionListener } from '../sql/progress';
import { UploadIntents } from '../runtime/upload-intents';
import { WebhookRelay, type WebhookOutcome } from '../runtime/webhook-relay';
import { WebhookService } from './integration/webhook.service';
import { OperatorCache } from '../runtime/operator-cache';
import { ConsoleSessionService } from './identity/console-session.service';

export interface Services {
  config: Config;
  log: Logger;
  orm: MikroORM;
  store: EvidenceStore;
  /** Partners found by this process (what never changes of them), shared by every call. */
  partners: PartnerCache;
  processRequests: ProcessRequestService;
  queries: ProcessRequestQueryService;
  policies: ApprovalPolicyService;
  /** Statements, point-in-time balances and CSV exports (SPEC section 19). */
  statements: StatementService;
  /** This process's expiry sweep (started and stopped by the app). */
  expiry: ExpirySweeper;
  /** Deletes the blobs of creates that never committed; the app starts it once it serves. */
  reconciler: EvidenceReconciler;
  /** Partner webhook endpoints, deliveries and the events feed. */
  webhooks: WebhookService;
  /** This process's webhook sender (started and stopped by the app). */
  webhookRelay: WebhookRelay;
  /** The checker console's short-lived, operator-bound application tokens. */
  consoleSessions: ConsoleSessionService;
  /** Operator rows this process keeps for the reads (kept fresh by the progress bus's LISTEN connection). */
  operators: OperatorCache;
}

/** What the services tell the rest of the app about (metrics); every hook is optional. */
export interface ServiceHooks {
  onTransition?: TransitionListener;
  /** The events a transaction stored, once it committed (the progress bus serves and announces them). */
  onRecorded?: RecordedListener;
  onWebhookAttempt?: (outcome: WebhookOutcome, seconds: number) => void;
  /** The app's operator cache; without one, a cache that never listens (every call reads the row). */
  operators?: OperatorCache;
}

export function createServices(
  config: Config,
  log: Logger,
  orm: MikroORM,
  store: EvidenceStore,
  liveness: ProcessLiveness,
  hooks: ServiceHooks = {},
  /** Session settings for background work with sessions of its own (the webhook relay); none: the app's pool. */
  connection?: ClientConfig,
): Services {
  // A listener that throws must not turn a committed change into a failed call.
  const onTransition: TransitionListener = (type) => {
    try {
      hooks.onTransition?.(type);
    } catch (error) {
      log.warn({ err: error, type }, 'transition listener failed');
    }
  };
  // Metrics count each event; the progress bus serves this process's watchers and tells the others.
  const recorded: RecordedListener = (events) => {
    events.forEach((e) => onTransition(e.type));
    try {
      hooks.onRecorded?.(events);
    } catch (error) {
      log.warn({ err: error }, 'recorded-events listener failed');
    }
  };
  const intents = new UploadIntents(orm, store, liveness);
  const queries = new ProcessRequestQueryService(store, config.sasTtlSeconds, recorded);
  const webhookRelay = new WebhookRelay({
    orm,
    config: config.webhooks,
    log: log.child({ component: 'webhooks' }),
    openSecret: (sealed) => webhooks.openSecret(sealed),
    onAttempt: hooks.onWebhookAttempt,
    connection,
  });
  const webhooks = new WebhookService(config.webhooks, config.otpEncryptionKey, (endpointId) =>
    webhookRelay.wake(endpointId),
  );
  const idempotency = new IdempotencyService(liveness);
  const otp = new OtpService(config.otpEncryptionKey);
  return {
    config,
    log,
    orm,
    store,
    partners: new PartnerCache(),
    operators: hooks.operators ?? new OperatorCache(),
    processRequests: new ProcessRequestService(store, otp, idempotency, intents, recorded),
    queries,
    statements: new StatementService(queries),
    policies: new ApprovalPolicyService(otp, config.policyChangesNeedApproval),
    consoleSessions: new ConsoleSessionService(config.console.sessionSecret, config.console.enabled),
    expiry: new ExpirySweeper(orm, log.child({ component: 'expiry' }), recorded),
    reconciler: new EvidenceReconciler(orm, store, intents, liveness, log, {
      intervalSeconds: config.evidenceReconcileSeconds,
      sweepIntervalSeconds: config.evidenceSweepSeconds,
      orphanAgeSeconds: config.evidenceOrphanAgeSeconds,
      releaseAbandonedClaims: (em) => idempotency.releaseAbandoned(em),
    }),
    webhooks,
    webhookRelay,
  };
}
