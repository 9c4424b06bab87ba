// Which IP addresses a webhook may be sent to when private networks are not allowed (SPEC section 16):
// only public unicast ones. Pure functions on strings; the sender applies them to the address it connects to.
import { isIPv4, isIPv6 } from 'node:net';

/** [first address as a number, prefix length, what it is] */
type Range4 = [string, number, string];

const V4_RANGES: Range4[] = [
  ['0.0.0.0', 8, 'unspecified ("this network")'],
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'carrier-grade NAT'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local (cloud metadata)'],
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'IETF protocol assignments'],
  ['192.0.2.0', 24, 'documentation'],
  ['192.88.99.0', 24, '6to4 relay anycast'],
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'benchmarking'],
  ['198.51.100.0', 24, 'documentation'],
  ['203.0.113.0', 24, 'documentation'],
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved'],
];

function v4ToNumber(ip: string): number {
  return ip.split('.').reduce((n, part) => n * 256 + Number(part), 0);
}

function v4Refusal(ip: string): string | undefined {
  const n = v4ToNumber(ip);
  for (const [base, bits, what] of V4_RANGES) {
    const size = 2 ** (32 - bits);
    const start = v4ToNumber(base);
    if (n >= start && n < start + size) return what;
  }
  return undefined;
}

/** The 16 bytes of an IPv6 literal (zone and brackets removed, an embedded dotted quad allowed). */
function v6Bytes(ip: string): number[] {
  let text = ip;
  let tail: number[] = [];
  const lastColon = text.lastIndexOf(':');
  if (text.slice(lastColon + 1).includes('.')) {
    tail = text
      .slice(lastColon + 1)
      .split('.')
      .map(Number);
    text = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const [head, rest] = text.includes('::') ? text.split('::') : [text, undefined];
  const groups = (s: string) => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
  const left = groups(head);
  const right = rest === undefined ? [] : groups(rest);
  const words = [...left, ...Array(8 - left.length - right.length).fill(0), ...right];
  const bytes = words.flatMap((w) => [w >> 8, w & 0xff]);
  if (tail.length === 4) bytes.splice(12, 4, ...tail);
  return bytes;
}

const startsWith = (bytes: number[], prefix: number[]) => prefix.every((b, i) => bytes[i] === b);

function v6Refusal(ip: string): string | undefined {
  const b = v6Bytes(ip);
  const v4 = b.slice(12).join('.');
  const zero = (from: number, to: number) => b.slice(from, to).every((x) => x === 0);
  if (zero(0, 16)) return 'unspecified';
  if (zero(0, 15) && b[15] === 1) return 'loopback';
  // ::ffff:a.b.c.d (IPv4-mapped) and ::a.b.c.d (IPv4-compatible): the IPv4 address decides.
  if (zero(0, 10) && b[10] === 0xff && b[11] === 0xff) return v4Refusal(v4) && `IPv4-mapped ${v4Refusal(v4)}`;
  if (zero(0, 12)) return 'IPv4-compatible (deprecated)';
  // 64:ff9b::/96 (NAT64) carries an IPv4 address too.
  if (startsWith(b, [0, 0x64, 0xff, 0x9b]) && zero(4, 12)) return v4Refusal(v4) && `NAT64 ${v4Refusal(v4)}`;
  if (startsWith(b, [0x20, 0x02])) {
    const embedded = b.slice(2, 6).join('.');
    return v4Refusal(embedded) && `6to4 ${v4Refusal(embedded)}`;
  }
  if (b[0] === 0xff) return 'multicast';
  if (b[0] === 0xfe && (b[1] & 0xc0) === 0x80) return 'link-local';
  if (b[0] === 0xfe && (b[1] & 0xc0) === 0xc0) return 'site-local (deprecated)';
  if ((b[0] & 0xfe) === 0xfc) return 'unique-local';
  if (startsWith(b, [0x20, 0x01, 0x0d, 0xb8])) return 'documentation';
  if (startsWith(b, [0x01, 0x00]) && zero(2, 8)) return 'discard-only';
  if (startsWith(b, [0x20, 0x01]) && b[2] === 0 && (b[3] & 0xfe) === 0)
    return 'Teredo or IETF protocol assignments';
  return undefined;
}

/** An IP literal as it may be written in a URL or returned by a resolver: brackets and a zone are dropped. */
export function normaliseIp(value: string): string {
  let ip = value.trim();
  if (ip.startsWith('[') && ip.endsWith(']')) ip = ip.slice(1, -1);
  const zone = ip.indexOf('%');
  return zone >= 0 ? ip.slice(0, zone) : ip;
}

/**
 * Why an address is not a public unicast one (loopback, private, link-local, CGNAT, multicast,
 * unspecified, unique-local, metadata, and their IPv4-mapped spellings), or undefined when it is public.
 * Anything that is not an IP literal is refused as such.
 */
export function nonPublicReason(value: string): string | undefined {
  const ip = normaliseIp(value);
  if (isIPv4(ip)) return v4Refusal(ip);
  if (isIPv6(ip)) return v6Refusal(ip);
  return 'not an IP address';
}

export const isPublicAddress = (value: string): boolean => nonPublicReason(value) === undefined;
