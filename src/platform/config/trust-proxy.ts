/**
 * `MODELWATCH_TRUST_PROXY`: which peers may tell the service the client's address through
 * `X-Forwarded-For` (Fastify's `trustProxy`). The per-address rate limits count by that address,
 * so trusting a peer that is not a proxy lets any client pick the address it is counted under.
 */
import { isIP } from 'node:net';
import { z } from 'zod';

/**
 * `false`: the socket's address (every client behind a proxy shares the proxy's). `true`: the
 * left-most forwarded address, from any peer (only when nothing but the proxy can reach the
 * service). A number: that many proxy hops. A list: the proxies' addresses or CIDR ranges; the
 * client is the right-most forwarded address not among them.
 */
export type TrustProxy = boolean | number | string[];

/** Hops beyond which a count is surely a mistake. @default 32 */
export const MAX_PROXY_HOPS = 32;

function isAddressOrCidr(entry: string): boolean {
  const [address = '', prefix, extra] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || extra !== undefined) return false;
  if (prefix === undefined) return true;
  if (!/^\d{1,3}$/.test(prefix)) return false;
  return Number(prefix) <= (family === 4 ? 32 : 128);
}

export const trustProxySchema = z
  .string()
  .trim()
  .max(4096, 'expected at most 4096 characters')
  .optional()
  .transform((value, ctx): TrustProxy => {
    if (value === undefined || value === '' || value === 'false') return false;
    if (value === 'true') return true;
    if (/^\d+$/.test(value)) {
      const hops = Number(value);
      if (hops >= 1 && hops <= MAX_PROXY_HOPS) return hops;
      ctx.addIssue({ code: 'custom', message: `expected a hop count from 1 to ${MAX_PROXY_HOPS}` });
      return z.NEVER;
    }
    const entries = value.split(',').map((e) => e.trim());
    const bad = entries.find((e) => !isAddressOrCidr(e));
    if (bad === undefined) return entries;
    ctx.addIssue({
      code: 'custom',
      message: `expected false, true, a hop count, or proxy addresses or CIDR ranges separated by commas; '${bad.slice(0, 64)}' is none`,
    });
    return z.NEVER;
  });
