import { z } from 'zod';
import { DEFAULT_TLS_CIPHERS, DEFAULT_TLS_MIN_VERSION, isCipherList } from '../http/tls-profile.js';
import { hostName, httpUrl, ipOrCidr, port, webOrigin } from './fields.js';

/** TLS for a listener: PEM files (relative paths are relative to the working directory) and the protocol policy. */
const tlsSchema = z
  .object({
    /** PEM certificate (chain) file. */
    certFile: z.string().min(1),
    /** PEM private key file. */
    keyFile: z.string().min(1),
    /** Lowest TLS version accepted: "TLSv1.2" (default) or "TLSv1.3". */
    minVersion: z.enum(['TLSv1.2', 'TLSv1.3']).default(DEFAULT_TLS_MIN_VERSION),
    /** OpenSSL cipher list, TLS 1.3 suites (TLS_*) included; default ECDHE with AEAD only (Mozilla "intermediate" without DHE). */
    ciphers: z.string().min(1).refine(isCipherList, 'must be an OpenSSL cipher list such as ECDHE-RSA-AES128-GCM-SHA256:TLS_AES_128_GCM_SHA256').default(DEFAULT_TLS_CIPHERS),
  })
  .strict();

/** Where tenderbridge listens, and whom it believes about where a request comes from. */
export const serverSchema = z
  .object({
    /** Bind address; loopback unless the terminals are on the LAN. */
    host: z.string().min(1).default('127.0.0.1'),
    /** TCP port; 0 picks a free one (tests). */
    port: port.default(8480),
    /** Base URL others use to reach us (links in responses, log lines). Defaults to http://host:port. */
    publicUrl: httpUrl.optional(),
    /** Largest request body accepted, e.g. "64kb". */
    bodyLimit: z.string().regex(/^\d+(b|kb|mb)$/i, 'must look like 64kb').default('64kb'),
    /** Seconds to wait for in-flight requests on shutdown. */
    shutdownGraceSeconds: z.number().positive().max(120).default(10),
    /** Serve HTTPS on this listener with these PEM files. */
    tls: tlsSchema.optional(),
    /** Serve PartPay's callback on its own listener (e.g. public) instead of this one (store LAN). */
    callbackListener: z.object({ host: z.string().min(1), port, tls: tlsSchema.optional() }).strict().optional(),
    /** Failed authentications tolerated per minute before further failing ones get 429: per source address, and per presented credential. */
    authFailures: z
      .object({ perSourcePerMinute: z.number().int().min(1).default(60), perCredentialPerMinute: z.number().int().min(1).default(20) })
      .strict()
      .prefault({}),
    /** Reverse proxies (addresses or CIDR ranges) whose X-Forwarded-For names the client; empty: the TCP peer is the client. */
    trustProxy: z.array(ipOrCidr).default([]),
    /** Browser-based tills on other origins allowed to call the terminal API (/v1); off (no cross-origin access) unless origins are listed. */
    cors: z
      .object({
        /** Origins (scheme://host[:port]) whose pages may call /v1 with a terminal key, e.g. "https://pos.example.com"; empty: none. */
        origins: z.array(webOrigin).default([]),
        /** Seconds a browser may keep a preflight answer before asking again. */
        maxAgeSeconds: z.number().int().min(0).max(86_400).default(600),
      })
      .strict()
      .prefault({}),
    /** Host names (or "*.domain") the main listener answers to, any port; default: on a loopback bind 127.0.0.1, localhost, [::1] and publicUrl's host, elsewhere any. */
    allowedHosts: z.array(hostName).min(1, 'needs at least one host name (leave the key out to allow any)').optional(),
  })
  .strict()
  .prefault({});
