import type { z } from 'zod';
import { ValidationError } from '../errors.js';

/**
 * Parses `value` with a zod schema or throws a {@link ValidationError} whose message names
 * the first bad field and whose details list them all.
 * @example const body = parseOr400(createPaymentSchema, req.body, 'body');
 */
export function parseOr400<S extends z.ZodType>(schema: S, value: unknown, where: 'body' | 'query' | 'path' | 'header'): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const field = issue.path.map(String).join('.') || where;
    const message = issue.code === 'unrecognized_keys' ? `unknown field(s) ${issue.keys.join(', ')}` : issue.message;
    return { field, message };
  });
  const first = problems[0] ?? { field: where, message: 'invalid' };
  throw new ValidationError(`${where === 'body' ? '' : `${where} `}${first.field}: ${first.message}`, { details: { problems } });
}
