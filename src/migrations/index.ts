import { Migration20261129000000_initial } from './Migration20261129000000_initial';
import { Migration20261129010000_otp_idempotency } from './Migration20261129010000_otp_idempotency';

/** Every migration in order, listed explicitly so they run the same from dist/ and under jest. */
export const MIGRATIONS = [
  { name: 'Migration20261129000000_initial', class: Migration20261129000000_initial },
  { name: 'Migration20261129010000_otp_idempotency', class: Migration20261129010000_otp_idempotency },
];
