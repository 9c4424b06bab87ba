import { Migration20261129000000_initial } from './Migration20261129000000_initial';
import { Migration20261129010000_otp_idempotency } from './Migration20261129010000_otp_idempotency';
import { Migration20261129191046_align_with_entities } from './Migration20261129191046_align_with_entities';
import { Migration20261129194339_upload_intents } from './Migration20261129194339_upload_intents';
import { Migration20261129195707_policies_lifecycle_subjects } from './Migration20261129195707_policies_lifecycle_subjects';
import { Migration20261129211915_event_actor_nullable } from './Migration20261129211915_event_actor_nullable';
import { Migration20261206010000_stream_tickets } from './Migration20261206010000_stream_tickets';
import { Migration20261206013000_subject_releases } from './Migration20261206013000_subject_releases';
import { Migration20261206020000_webhooks } from './Migration20261206020000_webhooks';
import { Migration20261206030000_controls } from './Migration20261206030000_controls';
import { Migration20261206040000_operator_change_notify } from './Migration20261206040000_operator_change_notify';
import { Migration20261206050000_request_counts } from './Migration20261206050000_request_counts';
import { Migration20261206060000_daily_total_unbounded } from './Migration20261206060000_daily_total_unbounded';
import { Migration20261206070000_credited_unbounded } from './Migration20261206070000_credited_unbounded';
import { Migration20261206080000_pending_amounts } from './Migration20261206080000_pending_amounts';

/** Every migration in order, listed explicitly so they run the same from dist/ and under jest. */
export const MIGRATIONS = [
  { name: 'Migration20261129000000_initial', class: Migration20261129000000_initial },
  { name: 'Migration20261129010000_otp_idempotency', class: Migration20261129010000_otp_idempotency },
  { name: 'Migration20261129191046_align_with_entities', class: Migration20261129191046_align_with_entities },
  { name: 'Migration20261129194339_upload_intents', class: Migration20261129194339_upload_intents },
  {
    name: 'Migration20261129195707_policies_lifecycle_subjects',
    class: Migration20261129195707_policies_lifecycle_subjects,
  },
  {
    name: 'Migration20261129211915_event_actor_nullable',
    class: Migration20261129211915_event_actor_nullable,
  },
  { name: 'Migration20261206010000_stream_tickets', class: Migration20261206010000_stream_tickets },
  { name: 'Migration20261206013000_subject_releases', class: Migration20261206013000_subject_releases },
  { name: 'Migration20261206020000_webhooks', class: Migration20261206020000_webhooks },
  { name: 'Migration20261206030000_controls', class: Migration20261206030000_controls },
  {
    name: 'Migration20261206040000_operator_change_notify',
    class: Migration20261206040000_operator_change_notify,
  },
  { name: 'Migration20261206050000_request_counts', class: Migration20261206050000_request_counts },
  {
    name: 'Migration20261206060000_daily_total_unbounded',
    class: Migration20261206060000_daily_total_unbounded,
  },
  { name: 'Migration20261206070000_credited_unbounded', class: Migration20261206070000_credited_unbounded },
  { name: 'Migration20261206080000_pending_amounts', class: Migration20261206080000_pending_amounts },
];
