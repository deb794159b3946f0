import type { z } from 'zod';
import { ValidationError } from '../errors.js';

const WHERE = { body: 'body', query: 'query parameter', path: 'path parameter', header: 'header' } as const;

/**
 * Parses `value` with a zod schema or throws a {@link ValidationError} whose message names
 * the first bad field (and where it was) and whose details list every problem.
 * @example const body = parseOr400(createPaymentBody, req.body, 'body');
 */
export function parseOr400<S extends z.ZodType>(schema: S, value: unknown, where: keyof typeof WHERE, name?: string): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const field = [name, ...issue.path.map(String)].filter(Boolean).join('.');
    const message = issue.code === 'unrecognized_keys' ? `unknown field(s) ${issue.keys.join(', ')}` : issue.message;
    return { field: field || where, message };
  });
  const first = problems[0] ?? { field: where, message: 'invalid' };
  const prefix = where === 'body' ? (first.field === 'body' ? 'body' : first.field) : `${WHERE[where]} ${first.field === where ? '' : first.field}`.trim();
  throw new ValidationError(`${prefix}: ${first.message}`, { details: { problems } });
}
