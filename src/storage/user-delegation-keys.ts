// User delegation keys for signing download links on the Azure AD path: one key serves every link until
// shortly before it expires (a link must never outlive the key that signed it), then the next is fetched.
import type { UserDelegationKey } from '@azure/storage-blob';

export type FetchKey = (startsOn: Date, expiresOn: Date) => Promise<UserDelegationKey>;

/** How long a fetched key is asked to live (Azure allows at most 7 days). */
export const KEY_LIFETIME_MS = 24 * 3600_000;
const MAX_KEY_LIFETIME_MS = 7 * 24 * 3600_000 - 3600_000;
/** A key is replaced when it would end less than this after a link it signs. */
export const KEY_RENEW_MARGIN_MS = 5 * 60_000;
/** Clock skew allowance at the start of a key. */
const START_SKEW_MS = 5 * 60_000;

export class UserDelegationKeys {
  private current?: UserDelegationKey;
  private pending?: Promise<UserDelegationKey>;
  /** How many keys were fetched (operators' logs and tests). */
  fetched = 0;

  constructor(
    private readonly fetchKey: FetchKey,
    private readonly now: () => number = Date.now,
  ) {}

  /** A key valid until at least `linkExpiresOn` plus the margin; concurrent callers share one fetch. */
  async keyFor(linkExpiresOn: Date): Promise<UserDelegationKey> {
    const needed = linkExpiresOn.getTime() + KEY_RENEW_MARGIN_MS;
    if (this.current && this.current.signedExpiresOn.getTime() >= needed) return this.current;
    if (!this.pending) {
      const now = this.now();
      const expiresOn = Math.min(
        now + MAX_KEY_LIFETIME_MS,
        Math.max(now + KEY_LIFETIME_MS, needed + 3600_000),
      );
      this.pending = this.fetchKey(new Date(now - START_SKEW_MS), new Date(expiresOn)).then(
        (key) => {
          this.fetched++;
          this.current = key;
          this.pending = undefined;
          return key;
        },
        (error: unknown) => {
          this.pending = undefined;
          throw error;
        },
      );
    }
    const key = await this.pending;
    if (key.signedExpiresOn.getTime() < needed)
      throw new Error('the user delegation key ends before the download link would');
    return key;
  }
}
