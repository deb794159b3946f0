import { startHarness, type Harness, type HarnessOptions } from '../support/harness.js';

/** The console operator the web tests sign in as. */
export const OPERATOR = { name: 'olive', password: 'olive-console-secret-never-logged' } as const;

/** Basic auth header value for the console. */
export const operatorAuth = (name: string = OPERATOR.name, password: string = OPERATOR.password): string => `Basic ${Buffer.from(`${name}:${password}`).toString('base64')}`;

/** The shared harness with one console operator configured (its password checked against the logs too). */
export function startWebHarness(options: HarnessOptions = {}): Promise<Harness> {
  return startHarness({
    ...options,
    config: { ...options.config, ops: { ...(options.config?.['ops'] as object | undefined), operators: [{ name: OPERATOR.name, password: OPERATOR.password }] } },
    extraSecrets: [OPERATOR.password, ...(options.extraSecrets ?? [])],
  });
}

/** Signs in through the console's sign-in endpoint; resolves with the session cookie (`name=value`) and the CSRF token. */
export async function signIn(url: string, name: string = OPERATOR.name, password: string = OPERATOR.password): Promise<{ cookie: string; csrfToken: string; setCookie: string }> {
  const res = await fetch(`${url}/console/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name, password }) });
  const body = (await res.json()) as { csrfToken?: string; error?: { message: string } };
  if (res.status !== 200 || !body.csrfToken) throw new Error(`sign-in answered ${res.status}: ${body.error?.message ?? ''}`);
  const setCookie = res.headers.get('set-cookie') ?? '';
  return { cookie: setCookie.split(';')[0] ?? '', csrfToken: body.csrfToken, setCookie };
}
