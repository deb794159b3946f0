import { z } from 'zod';

/** PartPay's property-validation error style, seen in its neighbouring APIs. */
const validationBodySchema = z.object({
  message: z.string().optional(),
  errors: z
    .array(z.object({ propertyName: z.string().optional(), errorMessages: z.array(z.string()).optional() }))
    .optional(),
});

/** RFC 7807 problem details, PartPay's other error style. */
const problemBodySchema = z.object({ title: z.string().optional(), detail: z.string().optional() });

/**
 * Extracts what PartPay said from an error body in either of its styles,
 * `{message, errors:[{propertyName, errorMessages}]}` or `{title, detail}`; null when the
 * body says nothing readable (empty, HTML, unknown shape).
 * @example describeErrorBody('{"title":"Conflict","detail":"order is approved"}') // 'Conflict: order is approved'
 */
export function describeErrorBody(text: string): string | null {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return null;
  }
  const parts: string[] = [];
  const validation = validationBodySchema.safeParse(json);
  if (validation.success) {
    if (validation.data.message) parts.push(validation.data.message);
    for (const e of validation.data.errors ?? []) {
      const messages = (e.errorMessages ?? []).join(', ');
      parts.push(e.propertyName ? `${e.propertyName}: ${messages}` : messages);
    }
  }
  const problem = problemBodySchema.safeParse(json);
  if (problem.success) {
    const { title, detail } = problem.data;
    if (title && detail) parts.push(`${title}: ${detail}`);
    else if (title ?? detail) parts.push((title ?? detail) as string);
  }
  const described = parts.filter((p) => p.length > 0).join('; ');
  return described.length > 0 ? described : null;
}
