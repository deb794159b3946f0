import { afterAll, afterEach } from 'vitest';
import { takeContractViolations } from './contract.js';

/**
 * Vitest setup (vitest.config.ts): a test during which a watched daemon answered something
 * on /v1 that the OpenAPI document does not describe fails, with what broke it.
 */
function failOnViolations(): void {
  const found = takeContractViolations();
  if (found.length > 0) throw new Error(`/v1 answered outside its OpenAPI document (src/terminals/operations.ts):\n  ${[...new Set(found)].join('\n  ')}`);
}

afterEach(failOnViolations);
afterAll(failOnViolations);
