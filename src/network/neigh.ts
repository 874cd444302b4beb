/**
 * rtnetlink neighbour messages for proxy entries (what `ip neigh add|del
 * proxy ADDR dev DEV` sends): the host answers ARP (IPv4) or neighbour
 * solicitations (IPv6, with proxy_ndp on) for ADDR on DEV, so an address
 * routed to a container looks as if it sat on DEV's segment.
 * @module
 */
import { AF_INET, AF_INET6, ipToBytes, NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REQUEST, bytesToIp, nlmsg, parseAttrs, parseMessages, readI32, rtattr, u16, u32 } from "./rtnetlink.js";

export const RTM_NEWNEIGH = 28;
export const RTM_DELNEIGH = 29;
export const RTM_GETNEIGH = 30;
export const NDA_DST = 1;
export const NTF_PROXY = 0x08;
export const NUD_PERMANENT = 0x80;

/** struct ndmsg (12 bytes); the ifindex and state in host byte order. */
function ndmsg(family: number, index: number, state: number, flags: number): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt8(family, 0);
  u32(index).copy(b, 4);
  u16(state).copy(b, 8);
  b.writeUInt8(flags, 10);
  return b;
}

/** RTM_NEWNEIGH (create, exclusive) or RTM_DELNEIGH of a proxy entry for `address` on link `index`. */
export function proxyNeighRequest(type: typeof RTM_NEWNEIGH | typeof RTM_DELNEIGH, seq: number, index: number, address: string): Buffer {
  const dst = ipToBytes(address, "address");
  const flags = type === RTM_NEWNEIGH ? NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL : NLM_F_REQUEST | NLM_F_ACK;
  return nlmsg(type, flags, seq, [ndmsg(dst.length === 4 ? AF_INET : AF_INET6, index, NUD_PERMANENT, NTF_PROXY), rtattr(NDA_DST, dst)]);
}

/** A dump of the proxy entries (the kernel lists only them when the request's ndm_flags is exactly NTF_PROXY). */
export function dumpProxyNeighRequest(seq: number): Buffer {
  return nlmsg(RTM_GETNEIGH, NLM_F_REQUEST | NLM_F_DUMP, seq, [ndmsg(0, 0, 0, NTF_PROXY)]);
}

export interface ProxyNeigh {
  address: string;
  /** The link it answers on. */
  index: number;
}

/** The proxy entries in a dump's reply. */
export function parseProxyNeighs(buf: Buffer): ProxyNeigh[] {
  const out: ProxyNeigh[] = [];
  for (const m of parseMessages(buf)) {
    if (m.type !== RTM_NEWNEIGH || m.payload.length < 12 || (m.payload[10]! & NTF_PROXY) === 0) continue;
    const dst = parseAttrs(m.payload, 12).get(NDA_DST);
    if (!dst || (dst.length !== 4 && dst.length !== 16)) continue;
    out.push({ address: bytesToIp(dst), index: readI32(m.payload, 4) });
  }
  return out;
}
