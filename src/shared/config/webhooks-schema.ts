import { z } from 'zod';
import { configUrlProblem } from '../net/egress-policy.js';
import { egressNetwork, httpUrl, id } from './fields.js';
import { secretRefSchema } from './secret.js';

/** Shortest signing secret accepted (resolved): a guessable secret lets anyone forge deliveries. */
export const WEBHOOK_SECRET_MIN_LENGTH = 16;

/** One receiver of signed payment events. */
const webhookEndpointSchema = z
  .object({
    /** Names the endpoint in logs, the console and the `Tenderbridge-Webhook-Id` header. */
    id,
    /** Where each event is POSTed (https; http only to loopback with webhooks.network.allowLoopbackHttp). */
    url: httpUrl.refine((u) => !new URL(u).username && !new URL(u).password, 'must not carry credentials (user:password@); the signature authenticates deliveries'),
    /** HMAC-SHA256 key the receiver verifies `Tenderbridge-Signature` with (at least 16 characters; `{"env": ...}` or `{"file": ...}` in production). */
    secret: secretRefSchema,
    /** Only payments of these terminals (with `stores`: of these terminals or stores); both absent = every payment. */
    terminals: z.array(id).min(1, 'must name at least one terminal, or be left out for every terminal').optional(),
    /** Only payments of these stores (with `terminals`: of these stores or terminals); both absent = every payment. */
    stores: z.array(id).min(1, 'must name at least one store, or be left out for every store').optional(),
  })
  .strict();

/** Signed webhooks: each committed payment state change POSTed to the matching endpoints, from the outbox. */
export const webhooksSchema = z
  .object({
    /** The receivers; none by default (webhooks off). */
    endpoints: z.array(webhookEndpointSchema).default([]),
    /** Whole-exchange timeout of one delivery in ms; a timeout is retried like a 5xx. */
    timeoutMs: z.number().int().min(100).max(60_000).default(10_000),
    /** Where endpoint URLs may point: https to public addresses unless allowed here. */
    network: egressNetwork('receivers', "a receiver may be at (e.g. the store's own back office)"),
  })
  .strict()
  .prefault({})
  .superRefine((w, ctx) => {
    const seen = new Set<string>();
    const network = { key: 'webhooks.network', ...w.network };
    w.endpoints.forEach((e, i) => {
      if (seen.has(e.id)) ctx.addIssue({ code: 'custom', path: ['endpoints', i, 'id'], message: `duplicate id "${e.id}"` });
      seen.add(e.id);
      // Literal addresses and localhost only: names are checked against their addresses when connecting.
      const problem = configUrlProblem(new URL(e.url), network);
      if (problem !== null) ctx.addIssue({ code: 'custom', path: ['endpoints', i, 'url'], message: problem });
    });
  });

export type RawWebhooks = z.infer<typeof webhooksSchema>;
