import { z } from 'zod';
import { OPERATOR_ACTIONS } from '../payments/operator.js';
import { PAYMENT_STATES } from '../payments/state-machine.js';

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const ident = z.string().trim().min(1).max(64).regex(/^[A-Za-z0-9._:-]+$/, 'letters, digits, dot, dash, colon or underscore');
/** A time bound: `YYYY-MM-DD` (local day) or an ISO 8601 timestamp. */
const timeBound = z
  .string()
  .trim()
  .refine((v) => DAY.test(v) || (/^\d{4}-\d{2}-\d{2}T/.test(v) && !Number.isNaN(Date.parse(v))), 'use YYYY-MM-DD or an ISO 8601 timestamp');
/** Empty query values (a form's "any") count as absent. */
const optional = <S extends z.ZodType>(schema: S) => z.preprocess((v) => (v === '' ? undefined : v), schema.optional());

/** Filters of the console's payment list. */
export const paymentListQuery = z
  .object({
    state: optional(z.enum([...PAYMENT_STATES, 'open', 'final'])),
    store: optional(ident),
    terminal: optional(ident),
    provider: optional(z.enum(['partpay', 'electrum'])),
    attention: optional(z.enum(['true', 'false']).transform((v) => v === 'true')),
    from: optional(timeBound),
    to: optional(timeBound),
    limit: optional(z.coerce.number().int().min(1).max(500)),
  })
  .strict();

export const paymentIdParam = z.object({ id: z.uuid('must be a payment id (UUID)') }).strict();

/** An operator's resolution of a payment in doubt; who decided comes from the sign-in. */
export const resolveBody = z
  .object({
    action: z.enum(OPERATOR_ACTIONS),
    reason: z.string().trim().min(1, 'say why (it is journaled)').max(500),
  })
  .strict();

export const outboxQuery = z.object({ state: optional(z.enum(['pending', 'dead', 'done'])), limit: optional(z.coerce.number().int().min(1).max(500)) }).strict();
export const outboxIdParam = z.object({ id: z.coerce.number().int().positive() }).strict();

/** One local calendar day for the end-of-day report (default today). */
export const reportQuery = z.object({ date: optional(z.string().regex(DAY, 'use YYYY-MM-DD')) }).strict();

export type PaymentListQuery = z.infer<typeof paymentListQuery>;
