import { Migration20261129000000_initial } from './Migration20261129000000_initial';
import { Migration20261129010000_otp_idempotency } from './Migration20261129010000_otp_idempotency';
import { Migration20261129191046_align_with_entities } from './Migration20261129191046_align_with_entities';
import { Migration20261129194339_upload_intents } from './Migration20261129194339_upload_intents';
import { Migration20261129195707_policies_lifecycle_subjects } from './Migration20261129195707_policies_lifecycle_subjects';
import { Migration20261129211915_event_actor_nullable } from './Migration20261129211915_event_actor_nullable';
import { Migration20261206010000_stream_tickets } from './Migration20261206010000_stream_tickets';

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
];
