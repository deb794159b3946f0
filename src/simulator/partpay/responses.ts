import type { Response } from 'express';

/** A problem-details answer (RFC 7807), one of PartPay's two error styles. */
export function problem(res: Response, status: number, title: string, detail: string): void {
  res.status(status).type('application/problem+json').json({ type: 'about:blank', title, status, detail });
}

export interface PropertyError {
  propertyName: string;
  errorMessages: string[];
}

/** PartPay's property-validation answer, its other error style. */
export function validationFailed(res: Response, errors: PropertyError[]): void {
  res.status(400).json({
    message: 'The request is invalid.',
    isValid: false,
    errors,
    type: 'https://partpay.net/errors/property-validation',
  });
}

/** Collects property errors while checking a body. */
export function createErrorCollector() {
  const errors: PropertyError[] = [];
  return {
    errors,
    add(propertyName: string, message: string): void {
      const existing = errors.find((e) => e.propertyName === propertyName);
      if (existing) existing.errorMessages.push(message);
      else errors.push({ propertyName, errorMessages: [message] });
    },
  };
}

/** A positive amount with at most 2 decimals, as integer cents; adds an error otherwise. */
export function checkAmount(value: unknown, propertyName: string, collector: ReturnType<typeof createErrorCollector>): number | null {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    collector.add(propertyName, `'${propertyName}' must be a number.`);
    return null;
  }
  const cents = Math.round(value * 100);
  if (Math.abs(value * 100 - cents) > 1e-6) {
    collector.add(propertyName, `'${propertyName}' must not have more than 2 decimals.`);
    return null;
  }
  if (cents <= 0) {
    collector.add(propertyName, `'${propertyName}' must be greater than '0'.`);
    return null;
  }
  return cents;
}

/** A non-empty string of at most `max` characters; adds an error otherwise. */
export function checkReference(value: unknown, propertyName: string, collector: ReturnType<typeof createErrorCollector>, max = 64): string | null {
  if (typeof value !== 'string' || value.trim().length === 0) {
    collector.add(propertyName, `'${propertyName}' must not be empty.`);
    return null;
  }
  if (value.length > max) {
    collector.add(propertyName, `The length of '${propertyName}' must be ${max} characters or fewer.`);
    return null;
  }
  return value;
}
