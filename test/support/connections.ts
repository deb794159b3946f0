import { subscribe, unsubscribe } from 'node:diagnostics_channel';

/**
 * Host names undici was asked to connect to while `body` ran (its diagnostics channel sees every
 * connection attempt: the daemon's fetches and the test's own).
 */
export async function connectionsDuring(body: () => Promise<unknown>): Promise<string[]> {
  const hosts: string[] = [];
  const listener = (message: unknown) => hosts.push(String((message as { connectParams: { hostname: string } }).connectParams.hostname));
  subscribe('undici:client:beforeConnect', listener);
  try {
    await body();
  } finally {
    unsubscribe('undici:client:beforeConnect', listener);
  }
  return hosts;
}
