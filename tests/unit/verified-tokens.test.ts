// A token verified once is not verified again while it may still verify: the same answers, expiry included.
import { SignJWT } from 'jose';
import { createTokenVerifier, CLOCK_TOLERANCE_SECONDS } from '../../src/auth/token-verifier';
import { VerifiedTokens } from '../../src/auth/verified-tokens';

const APP = 'an application secret of some length';
const USER = 'an operator secret of some other length';
const config = {
  appToken: { kind: 'secret' as const, secret: APP, isDevelopment: false },
  userToken: { kind: 'secret' as const, secret: USER, isDevelopment: false },
  tokenIssuer: undefined,
  tokenAudience: undefined,
  userTokenSubjectClaim: 'sub',
  maxTokenLifetimeSeconds: 3600,
};
const seconds = () => Math.floor(Date.now() / 1000);

function sign(secret: string, claims: Record<string, unknown>, exp: number): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuedAt()
    .setExpirationTime(exp)
    .sign(new TextEncoder().encode(secret));
}

afterEach(() => jest.useRealTimers());

test('a verified token is answered again until its exp passes, then refused as expired', async () => {
  const verifier = await createTokenVerifier(config);
  const exp = seconds() + 60;
  const token = await sign(USER, { kind: 'user', sub: 'operator-1' }, exp);
  expect(await verifier.verifyUser(token)).toEqual({ subject: 'operator-1', exp, claim: 'sub' });
  expect(await verifier.verifyUser(token)).toEqual({ subject: 'operator-1', exp, claim: 'sub' });
  // The last second it verifies (jose's clock tolerance), and the first it does not.
  jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
  const at = (s: number) => jest.setSystemTime(s * 1000);
  at(exp + CLOCK_TOLERANCE_SECONDS - 1);
  expect((await verifier.verifyUser(token)).subject).toBe('operator-1');
  at(exp + CLOCK_TOLERANCE_SECONDS);
  await expect(verifier.verifyUser(token)).rejects.toMatchObject({
    code: 'UNAUTHENTICATED',
    details: { token: 'user', reason: 'expired' },
  });
});

test("a token kept for one key says nothing about the other: a user token is refused as the app's", async () => {
  const verifier = await createTokenVerifier(config);
  const token = await sign(USER, { kind: 'user', sub: 'operator-1' }, seconds() + 60);
  await verifier.verifyUser(token);
  await expect(verifier.verifyApp(token)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
  const app = await sign(APP, { kind: 'app' }, seconds() + 60);
  expect((await verifier.verifyApp(app)).kind).toBe('app');
  await expect(verifier.verifyUser(app)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
});

test('kept payloads are frozen, and past the limit the oldest token goes first', () => {
  const kept = new VerifiedTokens(0, 2);
  const exp = seconds() + 60;
  const first = kept.set('a', { exp });
  expect(Object.isFrozen(first)).toBe(true);
  kept.set('b', { exp });
  kept.set('c', { exp });
  expect(kept.get('a')).toBeUndefined();
  expect(kept.get('b')).toEqual({ exp });
  expect(kept.get('c')).toEqual({ exp });
});

test('a token that names no kind and verifies with both keys is refused every time, not kept', async () => {
  const shared = { kind: 'secret' as const, secret: APP, isDevelopment: false };
  const verifier = await createTokenVerifier({ ...config, appToken: shared, userToken: shared });
  const token = await sign(APP, { sub: 'operator-1' }, seconds() + 60);
  for (let i = 0; i < 2; i++) {
    await expect(verifier.verifyApp(token)).rejects.toMatchObject({ details: { reason: 'wrong_audience' } });
    await expect(verifier.verifyUser(token)).rejects.toMatchObject({ details: { reason: 'wrong_audience' } });
  }
});
