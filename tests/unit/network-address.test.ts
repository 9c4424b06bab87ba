// The address rule of SPEC section 16, on strings only: no test ever sends to these addresses.
import { nonPublicReason, normaliseIp } from '../../src/domain/network-address';
import { refusalBeforeConnect, parseRetryAfter } from '../../src/runtime/webhook-sender';
import { nextRetrySeconds, retryDelaySeconds } from '../../src/runtime/webhook-relay';
import { signMessage } from '../../src/domain/webhook-signature';
import { Webhook } from 'standardwebhooks';

const refused: Array<[string, RegExp]> = [
  ['0.0.0.0', /unspecified/],
  ['0.1.2.3', /unspecified/],
  ['10.0.0.1', /private/],
  ['10.255.255.255', /private/],
  ['100.64.0.1', /carrier-grade/],
  ['100.127.255.254', /carrier-grade/],
  ['127.0.0.1', /loopback/],
  ['127.255.255.254', /loopback/],
  ['169.254.0.1', /link-local/],
  ['169.254.169.254', /metadata/],
  ['172.16.0.1', /private/],
  ['172.31.255.255', /private/],
  ['192.0.0.170', /IETF/],
  ['192.0.2.1', /documentation/],
  ['192.168.1.1', /private/],
  ['198.18.0.1', /benchmarking/],
  ['198.51.100.7', /documentation/],
  ['203.0.113.9', /documentation/],
  ['224.0.0.1', /multicast/],
  ['239.255.255.250', /multicast/],
  ['240.0.0.1', /reserved/],
  ['255.255.255.255', /reserved/],
  ['::', /unspecified/],
  ['::1', /loopback/],
  ['0:0:0:0:0:0:0:1', /loopback/],
  ['[::1]', /loopback/],
  ['fe80::1', /link-local/],
  ['fe80::1%eth0', /link-local/],
  ['febf::1', /link-local/],
  ['fec0::1', /site-local/],
  ['fc00::1', /unique-local/],
  ['fd00:ec2::254', /unique-local/],
  ['fdff:ffff::1', /unique-local/],
  ['ff02::1', /multicast/],
  ['ff05::1:3', /multicast/],
  ['::ffff:127.0.0.1', /IPv4-mapped loopback/],
  ['::ffff:7f00:1', /IPv4-mapped loopback/],
  ['::ffff:10.1.2.3', /IPv4-mapped private/],
  ['::ffff:169.254.169.254', /IPv4-mapped link-local/],
  ['::ffff:a9fe:a9fe', /IPv4-mapped link-local/],
  ['::ffff:100.64.0.1', /IPv4-mapped carrier-grade/],
  ['::ffff:192.168.0.1', /IPv4-mapped private/],
  ['::ffff:0.0.0.0', /IPv4-mapped unspecified/],
  ['0:0:0:0:0:ffff:127.0.0.1', /IPv4-mapped loopback/],
  ['::127.0.0.1', /IPv4-compatible/],
  ['64:ff9b::127.0.0.1', /NAT64 loopback/],
  ['64:ff9b::a9fe:a9fe', /NAT64 link-local/],
  ['2002:7f00:1::', /6to4 loopback/],
  ['2002:a9fe:a9fe::1', /6to4 link-local/],
  ['2001:db8::1', /documentation/],
  ['100::1', /discard/],
  ['localhost', /not an IP/],
  ['', /not an IP/],
];

test.each(refused)('%s is refused (%s)', (address, why) => {
  expect(nonPublicReason(address)).toMatch(why);
});

test.each([
  '8.8.8.8',
  '1.1.1.1',
  '93.184.216.34',
  '100.63.255.255',
  '100.128.0.0',
  '172.15.255.255',
  '172.32.0.0',
  '192.167.255.255',
  '2606:4700:4700::1111',
  '2a00:1450:4001:80b::200e',
  '::ffff:8.8.8.8',
  '64:ff9b::808:808',
])('%s is public', (address) => expect(nonPublicReason(address)).toBeUndefined());

test('URL spellings of loopback and metadata are normalised by the URL parser, then refused', () => {
  for (const url of [
    'https://2130706433/',
    'https://0x7f.1/',
    'https://0177.0.0.1/',
    'https://127.1/',
    'https://[::ffff:127.0.0.1]/',
    'https://[::1]:8443/x',
    'https://169.254.169.254/latest/meta-data/',
    'https://0xa9fea9fe/',
    'https://[fd00:ec2::254]/',
    'https://0/',
  ]) {
    expect({ url, refused: refusalBeforeConnect(new URL(url), false) }).toEqual({
      url,
      refused: expect.stringMatching(/refused/),
    });
  }
  expect(refusalBeforeConnect(new URL('http://8.8.8.8/'), false)).toBe('only https is allowed');
  expect(refusalBeforeConnect(new URL('https://8.8.8.8/'), false)).toBeUndefined();
  expect(refusalBeforeConnect(new URL('http://127.0.0.1:9/'), true)).toBeUndefined();
  expect(normaliseIp('[fe80::1%25eth0]')).toBe('fe80::1');
});

test('Retry-After is read as seconds or a date, capped at an hour', () => {
  expect(parseRetryAfter('30')).toBe(30);
  expect(parseRetryAfter('999999')).toBe(3600);
  expect(parseRetryAfter(new Date(Date.now() + 120_000).toUTCString())).toBeGreaterThanOrEqual(118);
  expect(parseRetryAfter('soon')).toBeNull();
  expect(parseRetryAfter(undefined)).toBeNull();
});

test('a Retry-After not in the future is no Retry-After', () => {
  expect(parseRetryAfter('0')).toBeNull();
  expect(parseRetryAfter('-5')).toBeNull();
  expect(parseRetryAfter(new Date('2015-10-21T07:28:00Z').toUTCString())).toBeNull();
  expect(parseRetryAfter(new Date(Date.now() - 1000).toUTCString())).toBeNull();
});

test('a Retry-After lengthens the next delay, never shortens it', () => {
  const schedule = [5, 300, 1800, 7200];
  expect(nextRetrySeconds(schedule, 1, null, () => 0.5)).toBeCloseTo(5);
  expect(nextRetrySeconds(schedule, 1, 60, () => 0.5)).toBe(60);
  expect(nextRetrySeconds(schedule, 2, 60, () => 0.5)).toBeCloseTo(300);
  expect(nextRetrySeconds(schedule, 4, 3600, () => 0.5)).toBeCloseTo(7200);
  expect(nextRetrySeconds(schedule, 5, 60)).toBeNull();
});

test('the retry schedule: each delay ±20 %, none after the last', () => {
  const schedule = [5, 300, 1800, 7200, 18000, 36000, 36000];
  expect(retryDelaySeconds(schedule, 1, () => 0)).toBeCloseTo(4);
  expect(retryDelaySeconds(schedule, 1, () => 1)).toBeCloseTo(6);
  expect(retryDelaySeconds(schedule, 2, () => 0.5)).toBeCloseTo(300);
  expect(retryDelaySeconds(schedule, 7, () => 0.5)).toBeCloseTo(36000);
  expect(retryDelaySeconds(schedule, 8)).toBeNull();
});

test('a signature verifies with the reference library, and only for that id, timestamp and body', () => {
  const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
  const timestamp = Math.floor(Date.now() / 1000);
  const body = '{"type":"process_request.created"}';
  const headers = {
    'webhook-id': 'msg_1',
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signMessage(secret, 'msg_1', timestamp, body),
  };
  expect(new Webhook(secret).verify(body, headers)).toEqual({ type: 'process_request.created' });
  expect(headers['webhook-signature']).toBe(
    new Webhook(secret).sign('msg_1', new Date(timestamp * 1000), body),
  );
  expect(() => new Webhook(secret).verify(body.replace('created', 'approved'), headers)).toThrow();
});
