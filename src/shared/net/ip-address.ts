import { isIPv4, isIPv6 } from 'node:net';

/**
 * Why an address is not a public internet address. `reserved` covers 240.0.0.0/4 (with the
 * broadcast address) and the deprecated IPv4-compatible IPv6 form `::a.b.c.d`.
 */
export type AddressKind = 'loopback' | 'private' | 'link-local' | 'unspecified' | 'multicast' | 'reserved';

/** IPv4 ranges that are not public: [first address, prefix length, kind]. */
const V4_RANGES: ReadonlyArray<readonly [string, number, AddressKind]> = [
  ['0.0.0.0', 8, 'unspecified'], // "this network"; 0.0.0.0 itself reaches the local host on Linux
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'private'], // shared address space (carrier-grade NAT): someone's internal network
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local'], // with cloud metadata endpoints such as 169.254.169.254
  ['172.16.0.0', 12, 'private'],
  ['192.168.0.0', 16, 'private'],
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved'],
];

function v4Number(address: string): number {
  return address.split('.').reduce((n, part) => n * 256 + Number(part), 0);
}

const V4_NUMERIC = V4_RANGES.map(([first, prefix, kind]) => ({ shift: 32 - prefix, network: v4Number(first) >>> (32 - prefix), kind }));

function v4Kind(n: number): AddressKind | null {
  return V4_NUMERIC.find((r) => n >>> r.shift === r.network)?.kind ?? null;
}

/** The eight 16-bit groups of a valid IPv6 address (zone id dropped, a trailing dotted quad folded in). */
function v6Groups(address: string): number[] {
  let text = address.split('%')[0] ?? '';
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text)?.[1];
  if (dotted !== undefined) {
    const n = v4Number(dotted);
    text = `${text.slice(0, -dotted.length)}${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const groups = (part: string): number[] => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const [head = '', tail] = text.split('::');
  if (tail === undefined) return groups(head);
  const before = groups(head);
  const after = groups(tail);
  return [...before, ...new Array<number>(8 - before.length - after.length).fill(0), ...after];
}

/** The IPv4 address carried in two IPv6 groups. */
const embedded = (high: number, low: number): number => high * 0x10000 + low;

function v6Kind(g: number[]): AddressKind | null {
  const [g0 = 0, g1 = 0, g2 = 0, g3 = 0, g4 = 0, g5 = 0, g6 = 0, g7 = 0] = g;
  const zeros = (...parts: number[]) => parts.every((p) => p === 0);
  if (zeros(g0, g1, g2, g3, g4)) {
    if (g5 === 0xffff) return v4Kind(embedded(g6, g7)); // IPv4-mapped ::ffff:a.b.c.d
    if (g5 === 0 && zeros(g6) && g7 <= 1) return g7 === 0 ? 'unspecified' : 'loopback'; // :: and ::1
    if (g5 === 0) return 'reserved'; // IPv4-compatible ::a.b.c.d, deprecated
  }
  if (zeros(g0, g1, g2, g3) && g4 === 0xffff && g5 === 0) return v4Kind(embedded(g6, g7)); // IPv4-translated
  if (g0 === 0x64 && g1 === 0xff9b && zeros(g2, g3, g4, g5)) return v4Kind(embedded(g6, g7)); // NAT64
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 1) return 'private'; // local-use NAT64
  if (g0 === 0x2002) return v4Kind(embedded(g1, g2)); // 6to4
  if ((g0 & 0xffc0) === 0xfe80) return 'link-local';
  if ((g0 & 0xffc0) === 0xfec0) return 'private'; // site-local, deprecated
  if ((g0 & 0xfe00) === 0xfc00) return 'private'; // unique local
  if ((g0 & 0xff00) === 0xff00) return 'multicast';
  return null;
}

/**
 * What kind of non-public address `address` is, or null for a public one (and for text that is
 * not an IP address). IPv6 forms that carry an IPv4 address (mapped, translated, NAT64, 6to4)
 * are judged by the IPv4 address they carry.
 * @example addressKind('::ffff:169.254.169.254') // 'link-local'
 */
export function addressKind(address: string): AddressKind | null {
  if (isIPv4(address)) return v4Kind(v4Number(address));
  if (isIPv6(address)) return v6Kind(v6Groups(address));
  return null;
}

/**
 * The IPv4 address an IPv4-mapped or -translated IPv6 address stands for, else the address
 * itself: an allowance for 10.0.0.0/8 also covers `::ffff:10.1.2.3`.
 * @example unmapped('::ffff:7f00:1') // '127.0.0.1'
 */
export function unmapped(address: string): string {
  if (!isIPv6(address)) return address;
  const [g0 = 0, g1 = 0, g2 = 0, g3 = 0, g4 = 0, g5 = 0, g6 = 0, g7 = 0] = v6Groups(address);
  const mapped = g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && ((g4 === 0 && g5 === 0xffff) || (g4 === 0xffff && g5 === 0));
  return mapped ? [g6 >>> 8, g6 & 0xff, g7 >>> 8, g7 & 0xff].join('.') : address;
}

/**
 * The IP address a URL host names, or null for a name: `[::1]` → `::1`.
 * @example ipLiteral(new URL('https://[::1]/').hostname) // '::1'
 */
export function ipLiteral(hostname: string): string | null {
  const bare = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  return isIPv4(bare) || isIPv6(bare) ? bare : null;
}

/**
 * True for a host that can only be this machine: a loopback address, `localhost`, or a name
 * under `.localhost` (which RFC 6761 reserves for loopback).
 * @example isLoopbackHost('127.0.0.1') // true
 */
export function isLoopbackHost(hostname: string): boolean {
  const literal = ipLiteral(hostname);
  if (literal !== null) return addressKind(literal) === 'loopback';
  const name = hostname.toLowerCase().replace(/\.$/, '');
  return name === 'localhost' || name.endsWith('.localhost');
}
