import dns from 'node:dns';
import net from 'node:net';

/**
 * Addresses a webhook must not reach unless the operator allows it: loopback, private ranges,
 * link-local (the cloud metadata service lives at 169.254.169.254), carrier-grade NAT,
 * unspecified, multicast and reserved ranges, in IPv4 and IPv6 (and IPv4 mapped into IPv6).
 */
const blocked = new net.BlockList();
for (const [net4, bits] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) blocked.addSubnet(net4, bits, 'ipv4');
for (const [net6, bits] of [['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8]] as const) blocked.addSubnet(net6, bits, 'ipv6');

export function isPrivateAddress(address: string): boolean {
  const family = net.isIP(address);
  if (family === 4) return blocked.check(address, 'ipv4');
  if (family === 6) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
    if (mapped) return blocked.check(mapped, 'ipv4');
    return blocked.check(address, 'ipv6');
  }
  return false;
}

export class PrivateTargetError extends Error {
  override name = 'PrivateTargetError';
  constructor(host: string, address: string) {
    super(`refused: ${host} resolves to ${address}, a private or local address (set GENJOBS_WEBHOOK_ALLOW_PRIVATE=true to allow such targets)`);
  }
}

/** Refuses a URL whose host is a literal private address; names are checked when connecting. */
export function assertPublicLiteral(url: URL): void {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (net.isIP(host) && isPrivateAddress(host)) throw new PrivateTargetError(host, host);
  if (host === 'localhost' || host.endsWith('.localhost')) throw new PrivateTargetError(host, 'loopback');
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void;

/**
 * A `lookup` for outgoing connections that refuses private addresses. It checks the addresses
 * the connection will actually use, so a name that resolves differently at delivery time (DNS
 * rebinding) is caught too.
 */
export function guardedLookup(hostname: string, options: dns.LookupOptions, callback: LookupCallback): void {
  dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, []);
    const bad = addresses.find((a) => isPrivateAddress(a.address));
    if (bad) return callback(new PrivateTargetError(hostname, bad.address), []);
    if (options.all) return callback(null, addresses);
    const first = addresses[0]!;
    callback(null, first.address, first.family);
  });
}
