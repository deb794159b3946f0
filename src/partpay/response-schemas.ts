import { z } from 'zod';
import type { PartPayProtocol } from './protocol.js';

/** PartPay may send the order number as a string or a number; we keep a string. */
const orderNumber = z
  .union([z.string(), z.number()])
  .nullish()
  .transform((v) => (v === null || v === undefined || v === '' ? null : String(v)));
const status = z.string().min(1).transform((s) => s.toLowerCase());
const optionalText = z
  .string()
  .nullish()
  .transform((v) => (v === null || v === undefined || v === '' ? null : v));

/**
 * Copies the configured field names of a PartPay response onto our canonical names, so one
 * typed zod schema checks whatever names a deployment configures.
 */
function renamed(fieldsByCanonical: Record<string, string>) {
  return (raw: unknown): unknown => {
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return raw;
    const source = raw as Record<string, unknown>;
    return Object.fromEntries(Object.entries(fieldsByCanonical).map(([canonical, configured]) => [canonical, source[configured]]));
  };
}

/**
 * Builds the zod schemas for PartPay's order responses from the configured field names.
 * @example const schemas = createResponseSchemas(protocol); schemas.orderStatus.parse(json)
 */
export function createResponseSchemas(protocol: PartPayProtocol) {
  const f = protocol.fields;
  const createdOrder = z.preprocess(
    renamed({ orderId: f.orderId, orderNumber: f.orderNumber, status: f.orderStatus, qrBase64: f.qrImageBase64, qrUrl: f.qrImageUrl }),
    z.object({ orderId: z.string().min(1), orderNumber, status: status.nullish().transform((s) => s ?? null), qrBase64: optionalText, qrUrl: optionalText }),
  );
  const orderStatus = z.preprocess(
    renamed({ orderId: f.orderId, orderNumber: f.orderNumber, status: f.orderStatus }),
    z.object({ orderId: z.string().min(1), orderNumber, status }),
  );
  const refund = z.preprocess(
    renamed({ refundId: 'refundId', status: 'status' }),
    z.object({
      refundId: z
        .union([z.string(), z.number()])
        .nullish()
        .transform((v) => (v === null || v === undefined ? null : String(v))),
      status: status.nullish().transform((s) => s ?? null),
    }),
  );
  return { createdOrder, orderStatus, refund };
}

export type ResponseSchemas = ReturnType<typeof createResponseSchemas>;
