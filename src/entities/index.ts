import { ApprovalPolicyChange } from './approval-policy-change.entity';
import { ApprovalPolicy } from './approval-policy.entity';
import { Approval } from './approval.entity';
import { ClientBalance } from './client-balance.entity';
import { IdempotencyKey } from './idempotency-key.entity';
import { LedgerEntry } from './ledger-entry.entity';
import { OperatorDailyTotal } from './operator-daily-total.entity';
import { Operator } from './operator.entity';
import { OperatorSubjectRelease } from './operator-subject-release.entity';
import { OtpAttempt } from './otp-attempt.entity';
import { Partner } from './partner.entity';
import { ProcessRequestCount } from './process-request-count.entity';
import { ProcessRequestEvent } from './process-request-event.entity';
import { Evidence, ProcessRequest } from './process-request.entity';
import { ProcessType } from './process-type.entity';
import { StreamTicket } from './stream-ticket.entity';
import { UploadIntent } from './upload-intent.entity';
import { WebhookAttempt } from './webhook-attempt.entity';
import { WebhookDelivery } from './webhook-delivery.entity';
import { WebhookEndpoint } from './webhook-endpoint.entity';

/**
 * Every entity class, handed to MikroORM explicitly (folder discovery breaks under jest). Together they
 * are the whole database schema: `npm run db:check` fails when the migrated database differs from them.
 */
export const ENTITIES = [
  Partner,
  ClientBalance,
  ProcessType,
  ProcessRequest,
  ProcessRequestCount,
  Evidence,
  LedgerEntry,
  ProcessRequestEvent,
  Operator,
  OperatorSubjectRelease,
  OperatorDailyTotal,
  OtpAttempt,
  IdempotencyKey,
  UploadIntent,
  Approval,
  ApprovalPolicy,
  ApprovalPolicyChange,
  StreamTicket,
  WebhookEndpoint,
  WebhookDelivery,
  WebhookAttempt,
];
