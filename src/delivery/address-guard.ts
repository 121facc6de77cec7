import dns, { type LookupAddress } from "node:dns";
import net from "node:net";
import ipaddr from "ipaddr.js";
import { buildConnector } from "undici";
import { TransportError } from "../errors.js";

/** Which addresses deliveries may connect to. By default only public unicast addresses. */
export interface NetworkOptions {
  /**
   * Also allow loopback, private (RFC 1918), unique-local and CGNAT addresses: for tests, demos and
   * webhooks on your own network. Link-local addresses (cloud metadata at 169.254.169.254) stay
   * refused unless listed in `allow`.
   * @default false
   */
  allowPrivate?: boolean | undefined;
  /** CIDRs (`10.1.0.0/16`, `fd00::/8`), addresses or host names (`hooks.internal.example`, `*.corp.example`) to allow. */
  allow?: readonly string[] | undefined;
  /**
   * Required with a proxy: the proxy connects to the target, so runhooks cannot check the address;
   * egress rules must live in the proxy. IP-literal URLs are still checked.
   * @default false
   */
  trustProxy?: boolean | undefined;
}

const PRIVATE_RANGES = new Set(["loopback", "private", "uniqueLocal", "carrierGradeNat"]);

/** @internal The address policy. */
export interface AddressPolicy {
  /** Why `ip` is refused (the range name), or undefined when it is allowed. */
  refusal(ip: string): string | undefined;
  /** Whether a host name is allowed by name (then its addresses are not checked). */
  hostAllowed(host: string): boolean;
}

/** @internal */
export function addressPolicy(options: NetworkOptions = {}): AddressPolicy {
  const cidrs: Array<[ipaddr.IPv4 | ipaddr.IPv6, number]> = [];
  const hosts: string[] = [];
  for (const entry of options.allow ?? []) {
    if (ipaddr.isValidCIDR(entry)) cidrs.push(ipaddr.parseCIDR(entry));
    else if (ipaddr.isValid(entry)) {
      const address = ipaddr.parse(entry);
      cidrs.push([address, address.kind() === "ipv4" ? 32 : 128]);
    } else if (/^(\*\.)?[a-z0-9.-]+$/i.test(entry)) hosts.push(entry.toLowerCase());
    else throw new RangeError(`network.allow: "${entry}" is not a CIDR, an IP address or a host name`);
  }
  return {
    refusal(ip) {
      let address: ipaddr.IPv4 | ipaddr.IPv6;
      try {
        address = ipaddr.parse(ip);
      } catch {
        return "unparseable";
      }
      if (address.kind() === "ipv6" && (address as ipaddr.IPv6).isIPv4MappedAddress()) {
        address = (address as ipaddr.IPv6).toIPv4Address();
      }
      const range = address.range();
      if (range === "unicast") return undefined;
      for (const [network, bits] of cidrs) {
        if (network.kind() === address.kind() && address.match([network, bits] as never)) return undefined;
      }
      if (options.allowPrivate === true && PRIVATE_RANGES.has(range)) return undefined;
      return range;
    },
    hostAllowed(host) {
      const name = host.toLowerCase();
      return hosts.some((allowed) =>
        allowed.startsWith("*.") ? name.endsWith(allowed.slice(1)) : name === allowed,
      );
    },
  };
}

/** @internal */
export function blockedError(host: string, ip: string, range: string): TransportError {
  const shown = host === ip ? ip : `${host} (${ip})`;
  return new TransportError(
    shown,
    `refused to connect to a ${range} address; allow it with createNotifier({ network: { allowPrivate: true } }) or network.allow`,
    "ERR_ADDRESS_BLOCKED",
  );
}

/**
 * @internal An undici connector that refuses non-public addresses at connect time: IP-literal hosts
 * before connecting, every address a host name resolves to, and the socket's actual peer after
 * connecting (no window for DNS rebinding between check and use).
 */
export function guardedConnector(policy: AddressPolicy, timeoutMs: number): buildConnector.connector {
  const lookup = ((hostname: string, options: dns.LookupOptions, callback: (...args: unknown[]) => void) => {
    dns.lookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
      if (error) {
        callback(error, "", 0);
        return;
      }
      for (const { address } of addresses) {
        const range = policy.refusal(address);
        if (range !== undefined) {
          callback(blockedError(hostname, address, range), "", 0);
          return;
        }
      }
      if (options.all === true) callback(null, addresses);
      else callback(null, addresses[0]?.address ?? "", addresses[0]?.family ?? 4);
    });
  }) as unknown as typeof dns.lookup;
  const open = buildConnector({ timeout: timeoutMs, lookup });
  const openAllowed = buildConnector({ timeout: timeoutMs });
  return (options, callback) => {
    const host = options.hostname.replace(/^\[|\]$/g, "");
    const byName = !net.isIP(host) && policy.hostAllowed(host);
    if (net.isIP(host)) {
      const range = policy.refusal(host);
      if (range !== undefined) {
        callback(blockedError(host, host, range), null);
        return;
      }
    }
    const connect = byName ? openAllowed : open;
    connect(options, (error, socket) => {
      if (error) {
        callback(error, null);
        return;
      }
      const refused = byName ? undefined : checkPeer(socket, host, policy);
      if (refused) callback(refused, null);
      else callback(null, socket);
    });
  };
}

/** @internal Checks where a socket actually connected; destroys it and returns the error when refused. */
export function checkPeer(
  socket: { remoteAddress?: string | undefined; destroy(): unknown },
  host: string,
  policy: AddressPolicy,
): TransportError | undefined {
  const peer = socket.remoteAddress;
  if (peer === undefined) return undefined;
  const range = policy.refusal(peer);
  if (range === undefined) return undefined;
  socket.destroy();
  return blockedError(host, peer, range);
}
