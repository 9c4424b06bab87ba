// Tokens of one kind this process has already accepted with keys that cannot change while it runs (shared
// secrets or PEM public keys): the same token is then not verified again on every call. A JWKS can rotate
// a key away, so with one the verifier keeps nothing (token-verifier.ts).
import type { JWTPayload } from 'jose';

/** Distinct tokens kept for each kind; past it the oldest goes first. */
export const VERIFIED_TOKENS_MAX_ENTRIES = 1024;

export class VerifiedTokens {
  private readonly payloads = new Map<string, Readonly<JWTPayload>>();

  constructor(
    /** The verification's clock tolerance: a kept token expires exactly when verifying it again would fail. */
    private readonly toleranceSeconds: number,
    private readonly max = VERIFIED_TOKENS_MAX_ENTRIES,
  ) {}

  /**
   * The payload of a token verified before. Its signature, algorithm, issuer, audience and claims cannot
   * verify differently with the same key; of the checks that depend on the time, `nbf` and the lifetime
   * only pass more easily as time goes on, so `exp` is the one checked again here, as jose checks it.
   */
  get(token: string): Readonly<JWTPayload> | undefined {
    const payload = this.payloads.get(token);
    if (payload === undefined) return undefined;
    if ((payload.exp as number) <= Math.floor(Date.now() / 1000) - this.toleranceSeconds) {
      this.payloads.delete(token);
      return undefined;
    }
    return payload;
  }

  /** Keeps a payload that has just passed every check of the verification (`exp` among them). */
  set(token: string, payload: JWTPayload): Readonly<JWTPayload> {
    // Maps keep insertion order: the first key is the oldest token.
    if (this.payloads.size >= this.max) this.payloads.delete(this.payloads.keys().next().value as string);
    const kept = Object.freeze(payload);
    this.payloads.set(token, kept);
    return kept;
  }
}
