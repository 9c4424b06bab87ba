// The service layer as one object, built once per app from its dependencies.
import type { MikroORM } from '@mikro-orm/postgresql';
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
import type { TransitionListener } from '../sql/progress';
import { UploadIntents } from '../runtime/upload-intents';
import { WebhookRelay, type WebhookOutcome } from '../runtime/webhook-relay';
import { WebhookService } from './integration/webhook.service';
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
}

/** What the services tell the rest of the app about (metrics); every hook is optional. */
export interface ServiceHooks {
  onTransition?: TransitionListener;
  onWebhookAttempt?: (outcome: WebhookOutcome, seconds: number) => void;
}

export function createServices(
  config: Config,
  log: Logger,
  orm: MikroORM,
  store: EvidenceStore,
  liveness: ProcessLiveness,
  hooks: ServiceHooks = {},
): Services {
  // A listener that throws must not turn a committed change into a failed call.
  const onTransition: TransitionListener = (type) => {
    try {
      hooks.onTransition?.(type);
    } catch (error) {
      log.warn({ err: error, type }, 'transition listener failed');
    }
  };
  const intents = new UploadIntents(orm, store, liveness);
  const queries = new ProcessRequestQueryService(store, config.sasTtlSeconds);
  const webhookRelay = new WebhookRelay({
    orm,
    config: config.webhooks,
    log: log.child({ component: 'webhooks' }),
    openSecret: (sealed) => webhooks.openSecret(sealed),
    onAttempt: hooks.onWebhookAttempt,
  });
  const webhooks = new WebhookService(config.webhooks, config.otpEncryptionKey, () => webhookRelay.wake());
  const idempotency = new IdempotencyService(liveness);
  const otp = new OtpService(config.otpEncryptionKey);
  return {
    config,
    log,
    orm,
    store,
    partners: new PartnerCache(),
    processRequests: new ProcessRequestService(store, otp, idempotency, intents, onTransition),
    queries,
    statements: new StatementService(queries),
    policies: new ApprovalPolicyService(otp, config.policyChangesNeedApproval),
    consoleSessions: new ConsoleSessionService(config.console.sessionSecret, config.console.enabled),
    expiry: new ExpirySweeper(orm, log.child({ component: 'expiry' }), (events) =>
      events.forEach((e) => onTransition(e.type)),
    ),
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
