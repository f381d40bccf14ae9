import dns from 'node:dns';
import net from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * Which addresses genjobs may connect to when a user chose the URL (webhook targets, provider
 * output files and the redirects they lead to). Only global unicast is public: ipaddr.js's
 * range table decides, so loopback, private, link-local (the cloud metadata service lives at
 * 169.254.169.254), carrier-grade NAT, unspecified, broadcast, multicast, documentation and
 * reserved ranges are all refused, in IPv4 and IPv6.
 *
 * IPv6 forms that carry an IPv4 address are judged by that address: IPv4-mapped
 * (`::ffff:127.0.0.1`), IPv4-translated (`::ffff:0:127.0.0.1`), the deprecated IPv4-compatible
 * (`::127.0.0.1`) and NAT64's well-known prefix (`64:ff9b::7f00:1`). Tunnelling and local-use
 * translation prefixes (6to4, Teredo, `64:ff9b:1::/48`) are refused outright: where they lead is
 * up to a relay.
 */
export function isPrivateAddress(address: string): boolean {
  if (net.isIP(address) === 0) return false;
  const parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv4') return parsed.range() !== 'unicast';
  const v6 = parsed as ipaddr.IPv6;
  const embedded = embeddedIPv4(v6);
  if (embedded) return embedded.range() !== 'unicast';
  return v6.range() !== 'unicast';
}

/** The IPv4 address an IPv6 form of it carries in its last 32 bits, if it is such a form. */
function embeddedIPv4(address: ipaddr.IPv6): ipaddr.IPv4 | null {
  const p = address.parts;
  const last32 = () => new ipaddr.IPv4([p[6]! >> 8, p[6]! & 0xff, p[7]! >> 8, p[7]! & 0xff]);
  const zeros = (n: number) => p.slice(0, n).every((x) => x === 0);
  const range = address.range();
  if (range === 'ipv4Mapped' || range === 'rfc6145') return last32();
  if (range === 'rfc6052' && p[1] === 0xff9b && p.slice(2, 6).every((x) => x === 0)) return last32(); // 64:ff9b::/96 only
  // IPv4-compatible (::a.b.c.d, RFC 4291 2.5.5.1): ipaddr.js files it under unicast. :: and ::1 are their own ranges.
  if (zeros(6) && range !== 'unspecified' && range !== 'loopback') return last32();
  return null;
}

export class PrivateTargetError extends Error {
  override name = 'PrivateTargetError';
  constructor(host: string, address: string, setting: string) {
    super(`refused: ${host} resolves to ${address}, a private or local address (set ${setting} to allow such targets)`);
  }
}

/** Refuses a URL whose host is a literal private address, or `localhost`; names are checked when connecting. */
export function assertPublicLiteral(url: URL, setting: string): void {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (net.isIP(host) && isPrivateAddress(host)) throw new PrivateTargetError(host, host, setting);
  if (host === 'localhost' || host.endsWith('.localhost')) throw new PrivateTargetError(host, 'loopback', setting);
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void;

/**
 * A `lookup` for outgoing connections that refuses private addresses. It checks the addresses
 * the connection will actually use, so a name that resolves differently at connection time
 * (DNS rebinding) is caught too. `setting` names what allows such targets, for the message.
 */
export function guardedLookup(setting: string) {
  return (hostname: string, options: dns.LookupOptions, callback: LookupCallback): void => {
    dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, []);
      const bad = addresses.find((a) => isPrivateAddress(a.address));
      if (bad) return callback(new PrivateTargetError(hostname, bad.address, setting), []);
      if (options.all) return callback(null, addresses);
      const first = addresses[0]!;
      callback(null, first.address, first.family);
    });
  };
}
