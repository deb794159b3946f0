import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { UpstreamError } from '../../src/shared/errors.js';
import { createLogger } from '../../src/shared/logger.js';
import { MERCHANTS, credentials, startServer, startSimulator, tokenManagerFor } from './support.js';

describe('PartPay token manager against the simulator', () => {
  let env: Awaited<ReturnType<typeof startSimulator>>;
  beforeAll(async () => {
    env = await startSimulator({ tokenTtlSeconds: 600 });
  });
  afterAll(() => env.sim.close());

  it('obtains one token and reuses it across sequential and concurrent calls', async () => {
    const before = env.sim.stats().tokensIssued;
    const tokens = tokenManagerFor(env.url);
    const cred = credentials(MERCHANTS.base64);
    const concurrent = await Promise.all(Array.from({ length: 20 }, () => tokens.getToken(cred)));
    const later = await tokens.getToken(cred);
    expect(new Set([...concurrent, later]).size).toBe(1);
    expect(env.sim.stats().tokensIssued - before).toBe(1);
    const [row] = tokens.status();
    expect(row).toMatchObject({ merchantId: 'reg-mer-base64', clientId: 'client-base64', refreshes: 1, failures: 0, lastError: null });
    expect(row?.expiresAt).toBe((row?.obtainedAt ?? 0) + 600_000);
  });

  it('keeps a separate token per client id', async () => {
    const tokens = tokenManagerFor(env.url);
    const a = await tokens.getToken(credentials(MERCHANTS.base64));
    const b = await tokens.getToken(credentials(MERCHANTS.url));
    expect(a).not.toBe(b);
    expect(tokens.status().map((s) => s.clientId).sort()).toEqual(['client-base64', 'client-url']);
  });

  it('refreshes the margin before expiry, with one request for concurrent callers', async () => {
    let clock = 1_000_000;
    const tokens = tokenManagerFor(env.url, { refreshMarginSeconds: 60, now: () => clock });
    const cred = credentials(MERCHANTS.base64);
    const before = env.sim.stats().tokensIssued;
    const first = await tokens.getToken(cred);
    clock += 539_000; // 61 s before expiry: still fresh
    expect(await tokens.getToken(cred)).toBe(first);
    clock += 2_000; // inside the 60 s margin
    const refreshed = await Promise.all([tokens.getToken(cred), tokens.getToken(cred), tokens.getToken(cred)]);
    expect(new Set(refreshed).size).toBe(1);
    expect(refreshed[0]).not.toBe(first);
    expect(env.sim.stats().tokensIssued - before).toBe(2);
  });

  it('refreshes at half-life when the token lives shorter than twice the margin', async () => {
    let clock = 5_000_000;
    const tokens = tokenManagerFor(env.url, { refreshMarginSeconds: 400, now: () => clock });
    const cred = credentials(MERCHANTS.dataUri);
    const first = await tokens.getToken(cred);
    clock += 299_000;
    expect(await tokens.getToken(cred)).toBe(first);
    clock += 2_000;
    expect(await tokens.getToken(cred)).not.toBe(first);
  });

  it('fetches a new token after invalidate', async () => {
    const tokens = tokenManagerFor(env.url);
    const cred = credentials(MERCHANTS.url);
    const first = await tokens.getToken(cred);
    tokens.invalidate(cred.clientId);
    expect(await tokens.getToken(cred)).not.toBe(first);
  });

  it('rejects a wrong secret as upstream_rejected, not retryable, keeping the description', async () => {
    const tokens = tokenManagerFor(env.url);
    const err = await tokens.getToken(credentials(MERCHANTS.base64, { clientSecret: 'wrong' })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamError);
    expect(err).toMatchObject({ code: 'upstream_rejected', retryable: false, upstreamStatus: 401 });
    expect((err as Error).message).toContain('invalid_client');
    expect((err as Error).message).not.toContain('wrong');
    expect((err as Error).cause).toBeDefined();
    expect(tokens.status()[0]).toMatchObject({ failures: 1, obtainedAt: null });
  });

  it('rejects a wrong audience', async () => {
    const tokens = tokenManagerFor(env.url, { audience: 'https://elsewhere.example' });
    await expect(tokens.getToken(credentials(MERCHANTS.base64))).rejects.toMatchObject({ code: 'upstream_rejected', upstreamStatus: 403 });
  });

  it('reports an unreachable token endpoint as upstream_unavailable and retryable', async () => {
    const dead = await startServer(() => undefined);
    await dead.close();
    const tokens = tokenManagerFor(dead.url);
    await expect(tokens.getToken(credentials(MERCHANTS.base64))).rejects.toMatchObject({ code: 'upstream_unavailable', retryable: true });
  });

  it('reports a 5xx from the token endpoint as upstream_unavailable', async () => {
    const broken = await startServer((app) => app.post('/oauth/token', (_req, res) => void res.status(503).json({ error: 'temporarily_unavailable', error_description: 'maintenance' })));
    try {
      const tokens = tokenManagerFor(broken.url);
      const err = await tokens.getToken(credentials(MERCHANTS.base64)).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'upstream_unavailable', retryable: true, upstreamStatus: 503 });
      expect((err as Error).message).toContain('maintenance');
    } finally {
      await broken.close();
    }
  });

  it('keeps serving an unexpired token when a refresh fails, and reports the failure', async () => {
    let calls = 0;
    const flaky = await startServer((app) =>
      app.post('/oauth/token', (_req, res) => {
        calls += 1;
        if (calls === 1) return void res.json({ access_token: 'tok-1', expires_in: 600, token_type: 'Bearer', scope: 's' });
        res.status(503).json({ error: 'temporarily_unavailable' });
      }),
    );
    try {
      let clock = 0;
      const tokens = tokenManagerFor(flaky.url, { refreshMarginSeconds: 60, now: () => clock });
      const cred = credentials(MERCHANTS.base64);
      expect(await tokens.getToken(cred)).toBe('tok-1');
      clock = 550_000; // inside the margin, before expiry
      expect(await tokens.getToken(cred)).toBe('tok-1');
      expect(tokens.status()[0]).toMatchObject({ failures: 1, lastError: expect.stringContaining('503') });
      clock = 601_000; // expired: nothing left to serve
      await expect(tokens.getToken(cred)).rejects.toMatchObject({ code: 'upstream_unavailable' });
    } finally {
      await flaky.close();
    }
  });

  it('times out a token endpoint that does not answer', async () => {
    const slow = await startServer((app) => app.post('/oauth/token', () => undefined));
    try {
      const tokens = tokenManagerFor(slow.url, { timeoutMs: 150 });
      await expect(tokens.getToken(credentials(MERCHANTS.base64))).rejects.toMatchObject({ code: 'upstream_timeout', retryable: true });
    } finally {
      await slow.close();
    }
  });

  it('never writes the token or the secret to the log', async () => {
    const lines: string[] = [];
    const stream = new Writable({ write: (chunk: Buffer, _enc, cb) => { lines.push(chunk.toString()); cb(); } });
    const tokens = tokenManagerFor(env.url, { logger: createLogger({ level: 'debug', stream }) });
    const token = await tokens.getToken(credentials(MERCHANTS.base64));
    await tokens.getToken(credentials(MERCHANTS.base64, { clientSecret: 'bad-secret-xyz' })).catch(() => undefined);
    const all = lines.join('');
    expect(all).toContain('partpay token obtained');
    expect(all).not.toContain(token);
    expect(all).not.toContain(MERCHANTS.base64.clientSecret);
    expect(all).not.toContain('bad-secret-xyz');
  });
});
