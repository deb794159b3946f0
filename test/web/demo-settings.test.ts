import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/shared/config/load.js';
import { terminalPageSettings } from '../../src/web/demo-settings.js';
import { terminalPage } from '../../src/web/pages/terminal-page.js';

const root = resolve(import.meta.dirname, '../..');
const demo = JSON.parse(readFileSync(resolve(root, 'config/default.json'), 'utf8')) as Record<string, unknown>;
const parse = (raw: Record<string, unknown>) => parseConfig(raw, { source: 'test', env: { DEMO_KEY: 'from-env-key' }, configDir: root });

describe('virtual terminal settings', () => {
  it('offers the demo terminals, POS clients and simulator pages with the shipped demo config', () => {
    const s = terminalPageSettings(parse(demo));
    expect(s.demoTerminals).toEqual([
      { id: 'TERM0001', key: 'demo-terminal-key' },
      { id: 'TERM0002', key: 'demo-terminal-key-2' },
    ]);
    expect(s.demoPosClients[0]).toMatchObject({ id: 'demo-pos', password: 'demo-pos-secret', provider: 'electrum' });
    expect(s.customerPageUrl).toBe('http://127.0.0.1:8490/phone');
    expect(s.walletUrl).toBe('http://127.0.0.1:8491/');
    expect(s).toMatchObject({ currency: 'NZD', currencyNumeric: '554' });
  });

  it('prefills nothing when the PartPay simulator is off, and never a key that is not written inline', () => {
    const off = terminalPageSettings(parse({ ...demo, simulators: { partpay: { enabled: false }, electrumPartner: { enabled: false } } }));
    expect(off).toMatchObject({ demoTerminals: [], demoPosClients: [], customerPageUrl: null, walletUrl: null });
    const terminals = [
      { id: 'TERM0001', store: 'STORE001', apiKey: { env: 'DEMO_KEY' } },
      { id: 'TERM0002', store: 'STORE001', apiKeyHash: `sha256:${'0'.repeat(64)}` },
    ];
    const fromEnv = terminalPageSettings(parse({ ...demo, terminals }));
    expect(fromEnv.demoTerminals).toEqual([]);
    expect(terminalPage(fromEnv)).not.toContain('from-env-key');
  });

  // Issue 17 item 9: the prefill depended only on simulators.partpay.enabled, so a config that kept
  // the simulator on with real keys and passwords written inline showed them to anyone on /terminal.
  it('prefills only secrets that are the shipped demo values', () => {
    const terminals = (demo['terminals'] as Array<Record<string, unknown>>).map((t) => (t['id'] === 'TERM0001' ? { ...t, apiKey: 'store-real-key-0001' } : t));
    const electrum = demo['electrum'] as { clients: Array<Record<string, unknown>> };
    const clients = electrum.clients.map((c) => (c['id'] === 'demo-pos' ? { ...c, password: 'store-real-pos-password' } : c));
    const s = terminalPageSettings(parse({ ...demo, terminals, electrum: { ...electrum, clients } }));
    expect(s.demoTerminals).toEqual([{ id: 'TERM0002', key: 'demo-terminal-key-2' }]);
    expect(s.demoPosClients.map((c) => c.id)).toEqual(['demo-pos-partpay']);
    const html = terminalPage(s);
    expect(html).not.toContain('store-real-key-0001');
    expect(html).not.toContain('store-real-pos-password');
  });

  it('lets wallet links go only to the configured partner simulator', () => {
    expect(terminalPageSettings(parse(demo)).walletOrigins).toEqual(['http://127.0.0.1:8491']);
    const off = terminalPageSettings(parse({ ...demo, simulators: { ...(demo['simulators'] as object), electrumPartner: { enabled: false } } }));
    expect(off.walletOrigins).toEqual([]);
  });

  it('tells the page the ISO 4217 minor-unit digits of the merchant currency, so it reads and shows amounts as the server does', () => {
    expect(terminalPageSettings(parse(demo)).currencyDigits).toBe(2);
    const merchants = (demo['merchants'] as Array<Record<string, unknown>>).map((m) => ({ ...m, currency: 'JPY' }));
    expect(terminalPageSettings(parse({ ...demo, merchants }))).toMatchObject({ currency: 'JPY', currencyNumeric: '392', currencyDigits: 0 });
  });

  it('escapes settings embedded in the page so they cannot close the script element', () => {
    const html = terminalPage({ ...terminalPageSettings(parse(demo)), walletUrl: 'http://x/</script><script>alert(1)</script>' });
    expect(html).not.toContain('</script><script>alert(1)');
  });
});
