import { startHarness, type Harness, type HarnessOptions } from '../support/harness.js';

/** The console operator the web tests sign in as. */
export const OPERATOR = { name: 'olive', password: 'olive-console-secret-never-logged' } as const;

/** Basic auth header value for the console. */
export const operatorAuth = (name: string = OPERATOR.name, password: string = OPERATOR.password): string => `Basic ${Buffer.from(`${name}:${password}`).toString('base64')}`;

/** The shared harness with one console operator configured (its password checked against the logs too). */
export function startWebHarness(options: HarnessOptions = {}): Promise<Harness> {
  return startHarness({
    ...options,
    config: { ...options.config, ops: { operators: [{ name: OPERATOR.name, password: OPERATOR.password }] } },
    extraSecrets: [OPERATOR.password, ...(options.extraSecrets ?? [])],
  });
}
