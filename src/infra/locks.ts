// Every PostgreSQL advisory lock the service takes, by name, in one place. Two uses that share a number
// wait for each other for no reason (an operator's OTP check once shared its class with the processes'
// liveness locks), so each class here is its own, and a test keeps them distinct.
//
// Keys: pg_advisory_*lock(bigint) (one key) and pg_advisory_*lock(int, int) (class, key) are separate
// spaces in pg_locks (objsubid 1 and 2); the classes below are all of the two-key kind except MIGRATIONS.

export const ADVISORY_LOCKS = {
  /** One migrator at a time per database (pg_advisory_xact_lock(bigint)). */
  MIGRATIONS: 727274001,
  /** (class, owner id): a server process is alive while its session holds this (src/runtime/liveness.ts). */
  LIVENESS: 727274002,
  /**
   * (class, hashtext(partner id)): a partner's events commit in id order (src/sql/progress.ts); also taken
   * by the triggers keeping process_request_count (Migration20261206050000_request_counts) before a count row.
   */
  EVENT_ORDER: 727274003,
  /** (class, hashtext(operator id)): one OTP check at a time per operator (src/services/identity/otp.service.ts). */
  OTP: 727274004,
  /**
   * (class, hashtext(partner id || ':' || evidence SHA-256)): one create of a given receipt per partner at a
   * time, from its transaction's first round trip to its commit, so each reads the duplicates the one before
   * it committed (src/sql/create-sql.ts, RECEIPT). Taken before EVENT_ORDER, and by nothing else.
   */
  RECEIPT: 727274005,
} as const;

export type AdvisoryLock = keyof typeof ADVISORY_LOCKS;

/** Second key under LIVENESS that no owner id uses: held by the one process sweeping the evidence container. */
export const EVIDENCE_SWEEP_KEY = 0;
