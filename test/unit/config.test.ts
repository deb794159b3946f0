import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { redactDatabaseUrl } from '../../src/shared/config/database-schema.js';
import { ConfigError, configPathFrom, hashApiKey, loadConfigFile, maskedConfig, parseConfig } from '../../src/shared/config/load.js';

const APP_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DEFAULT_CONFIG = join(APP_ROOT, 'config/default.json');

type Section = Record<string, unknown>;
/** A config as JSON, loosely typed so that tests can break it in every way. */
interface TestConfig {
  [key: string]: unknown;
  partpay: Section;
  merchants: [Section, ...Section[]];
  stores: [Section, ...Section[]];
  terminals: [Section, ...Section[]];
}

/** A small valid config; each test changes one thing. */
function validConfig(): TestConfig {
  return {
    partpay: { tokenUrl: 'http://127.0.0.1:1/oauth/token', audience: 'aud', apiBaseUrl: 'http://127.0.0.1:1/api' },
    merchants: [{ id: 'm1', name: 'M', partpayMerchantId: 'PP-1', clientId: 'client', clientSecret: 'inline-secret', callbackKeys: ['cb-key'], currency: 'NZD' }],
    stores: [{ id: 'S1', name: 'Store', merchant: 'm1' }],
    terminals: [{ id: 'T1', store: 'S1', apiKey: 'terminal-key' }],
  };
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tenderbridge-config-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function parse(value: unknown, env: Record<string, string | undefined> = {}) {
  return parseConfig(value, { source: 'test.json', env, configDir: dir });
}

/** The ConfigError a config provokes (fails the test if it loads). */
function configError(value: unknown, env: Record<string, string | undefined> = {}): ConfigError {
  try {
    parse(value, env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError, but the config loaded');
}

describe('the shipped config/default.json', () => {
  it('loads, with the demo terminal key hashed and the published PartPay callback key', () => {
    const config = loadConfigFile(DEFAULT_CONFIG, {});
    expect(config.source).toBe(DEFAULT_CONFIG);
    expect(config.terminals.find((t) => t.id === 'TERM0001')?.apiKeyHash).toBe(hashApiKey('demo-terminal-key'));
    expect(config.merchants[0]?.callbackKeys).toEqual(['iDt3PoeoSHu3r/mTbzkaHg']);
    expect(config.terminals.find((t) => t.id === 'TERM0002')?.displayProfile).toMatchObject({ colour: 'mono', size: 256 });
  });
});

describe('a bad config is refused with the file, the key path and what is wrong', () => {
  it.each<[string, (c: TestConfig) => void, RegExp]>([
    ['a missing merchant secret', (c) => delete c.merchants[0].clientSecret, /^merchants\[0\]\.clientSecret: /],
    ['a token URL that is not http(s)', (c) => (c.partpay.tokenUrl = 'ftp://example.com/token'), /^partpay\.tokenUrl: must be an http\(s\) URL$/],
    ['a token URL that is not a URL', (c) => (c.partpay.tokenUrl = 'not a url'), /^partpay\.tokenUrl: must be an http\(s\) URL$/],
    ['an unknown top-level key', (c) => (c.sever = {}), /^\(root\): unknown key\(s\) "sever"$/],
    ['an unknown nested key', (c) => (c.merchants[0].secret = 'x'), /^merchants\[0\]: unknown key\(s\) "secret"$/],
    ['a port given as a string', (c) => (c.server = { port: '8480' }), /^server\.port: .*expected number, received string/],
    ['a port out of range', (c) => (c.server = { port: 70000 }), /^server\.port: /],
    ['an unknown log level', (c) => (c.log = { level: 'loud' }), /^log\.level: /],
    ['a terminal pointing at a missing store', (c) => (c.terminals[0].store = 'S9'), /^terminals\[0\]\.store: no store "S9"$/],
    ['a store pointing at a missing merchant', (c) => (c.stores[0].merchant = 'm9'), /^stores\[0\]\.merchant: no merchant "m9"$/],
    ['duplicate terminal ids', (c) => c.terminals.push({ id: 'T1', store: 'S1', apiKey: 'other' }), /^terminals\[1\]\.id: duplicate id "T1"$/],
    ['a terminal with both apiKey and apiKeyHash', (c) => (c.terminals[0].apiKeyHash = `sha256:${'a'.repeat(64)}`), /^terminals\[0\]: give exactly one of apiKey or apiKeyHash$/],
    ['a terminal with neither apiKey nor apiKeyHash', (c) => delete c.terminals[0].apiKey, /^terminals\[0\]: give exactly one of apiKey or apiKeyHash$/],
    ['a malformed apiKeyHash', (c) => (c.terminals[0] = { id: 'T1', store: 'S1', apiKeyHash: 'sha256:xyz' }), /^terminals\[0\]\.apiKeyHash: must be "sha256:" and 64 hex digits$/],
    ['three callback keys', (c) => (c.merchants[0].callbackKeys = ['a', 'b', 'c']), /^merchants\[0\]\.callbackKeys: accepts at most two keys/],
    ['no callback key', (c) => (c.merchants[0].callbackKeys = []), /^merchants\[0\]\.callbackKeys: needs at least one key$/],
    ['an unknown display profile name', (c) => (c.terminals[0].displayProfile = 'tiny'), /^terminals\[0\]\.displayProfile: no display profile "tiny"$/],
    // "toString" in {} is true: the name must be checked as an own key of displayProfiles.
    ['a display profile name inherited from Object.prototype', (c) => (c.terminals[0].displayProfile = 'toString'), /^terminals\[0\]\.displayProfile: no display profile "toString"$/],
    ['a display profile whose margin leaves no room for the code', (c) => (c.displayProfiles = { small: { size: 64, margin: 20 } }), /^displayProfiles\.small\.margin: /],
    ['a lower-case currency', (c) => (c.merchants[0].currency = 'nzd'), /^merchants\[0\]\.currency: must be an ISO 4217 code/],
    ['a currency that ISO 4217 does not define', (c) => (c.merchants[0].currency = 'QQQ'), /^merchants\[0\]\.currency: .*not an ISO 4217 currency/],
    ['an ISO code that is not money (SDR)', (c) => (c.merchants[0].currency = 'XDR'), /^merchants\[0\]\.currency: .*not an ISO 4217 currency/],
    [
      'a currency ISO 4217 and common use (CLDR) give different minor-unit digits',
      (c) => (c.merchants[0].currency = 'HUF'),
      /^merchants\[0\]\.currency: HUF has 2 minor-unit digits in ISO 4217 but 0 in common use \(CLDR\); amounts could be read 100x apart by PartPay, Electrum partners and terminals; not supported$/,
    ],
    ['a currency whose digits differ by three', (c) => (c.merchants[0].currency = 'IQD'), /^merchants\[0\]\.currency: IQD has 3 minor-unit digits in ISO 4217 but 0 in common use \(CLDR\); amounts could be read 1000x apart/],
    ['no merchant', (c) => Object.assign(c, { merchants: [], stores: [], terminals: [] }), /^merchants: needs at least one merchant$/],
    ['a bad terminal id', (c) => (c.terminals[0].id = 'lane 1'), /^terminals\[0\]\.id: must be 1-64 letters/],
    ['a TLS cipher list OpenSSL does not know', (c) => (c.server = { tls: { certFile: 'c.pem', keyFile: 'k.pem', ciphers: 'ECDHE-RSA-AES128-GMC-SHA256' } }), /^server\.tls\.ciphers: must be an OpenSSL cipher list/],
    ['a TLS version below 1.2', (c) => (c.server = { tls: { certFile: 'c.pem', keyFile: 'k.pem', minVersion: 'TLSv1.1' } }), /^server\.tls\.minVersion: /],
    ['an outbox lease shorter than a second', (c) => (c.outbox = { leaseMs: 500 }), /^outbox\.leaseMs: .*>=1000/],
  ])('refuses %s', (_name, mutate, expected) => {
    const config = validConfig();
    mutate(config);
    const error = configError(config);
    expect(error.message).toMatch(/^invalid config test\.json:\n {2}- /);
    expect(error.problems).toEqual([expect.stringMatching(expected)]);
  });

  it('accepts merchant currencies ISO 4217 and common use agree on, whatever their digits', () => {
    for (const currency of ['NZD', 'AUD', 'JPY', 'BHD']) {
      const config = validConfig();
      config.merchants[0].currency = currency;
      expect(parse(config).merchants[0]?.currency).toBe(currency);
    }
  });

  it('says what a secret may be when one has the wrong type', () => {
    const config = validConfig();
    config.merchants[0].clientSecret = 42;
    const [problem] = configError(config).problems;
    expect(problem).toMatch(/^merchants\[0\]\.clientSecret: /);
    // "Invalid input" alone does not tell an operator what to write instead.
    expect(problem).toMatch(/string|env|file/);
  });

  it('reports every problem at once, one line each', () => {
    const config = validConfig();
    config.partpay.tokenUrl = 'ftp://x';
    config.bogus = true;
    config.server = { port: -1 };
    config.terminals.push({ id: 'T2', store: 'nowhere', apiKey: 'k2' });
    const error = configError(config);
    expect(error.problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^partpay\.tokenUrl: /),
        expect.stringMatching(/^\(root\): unknown key\(s\) "bogus"/),
        expect.stringMatching(/^server\.port: /),
        expect.stringMatching(/^terminals\[1\]\.store: no store "nowhere"/),
      ]),
    );
    expect(error.message.split('\n')).toHaveLength(1 + error.problems.length);
  });

  it('reports every unresolvable secret at once', () => {
    const config = validConfig();
    config.merchants[0].clientSecret = { env: 'TB_MISSING_SECRET' };
    config.merchants[0].callbackKeys = [{ file: 'missing-key' }];
    config.terminals[0].apiKey = { env: 'TB_MISSING_TERMINAL_KEY' };
    expect(configError(config).problems).toEqual([
      expect.stringMatching(/^merchants\[0\]\.clientSecret: environment variable TB_MISSING_SECRET is not set$/),
      expect.stringMatching(/^merchants\[0\]\.callbackKeys\[0\]: secret file not found .*missing-key/),
      expect.stringMatching(/^terminals\[0\]\.apiKey: environment variable TB_MISSING_TERMINAL_KEY is not set$/),
    ]);
  });
});

describe('server.cors', () => {
  it('is off by default', () => {
    expect(parse(validConfig()).server.cors).toEqual({ origins: [], maxAgeSeconds: 600 });
  });

  it('takes origins as browsers send them', () => {
    const config = { ...validConfig(), server: { cors: { origins: ['https://pos.example.com', 'http://10.0.0.5:3000'] } } };
    expect(parse(config).server.cors.origins).toEqual(['https://pos.example.com', 'http://10.0.0.5:3000']);
  });

  it.each([['https://pos.example.com/'], ['*'], ['pos.example.com'], ['https://POS.example.com'], ['ftp://pos.example.com'], ['https://pos.example.com/till']])('refuses %s, saying what an origin is', (origin) => {
    const problems = configError({ ...validConfig(), server: { cors: { origins: [origin] } } }).problems;
    expect(problems).toEqual([expect.stringMatching(/^server\.cors\.origins\[0\]: must be an origin as browsers send it, e\.g\. "https:\/\/pos\.example\.com"/)]);
  });
});

describe('where tenderbridge may connect', () => {
  const partner = (baseUrl: string) => ({ id: 'wallet-a', name: 'Wallet A', password: 'in', baseUrl, username: 'tenderbridge', outboundPassword: 'out' });
  const withPartner = (baseUrl: string, partnerNetwork?: Section): TestConfig => ({ ...validConfig(), electrum: { partners: [partner(baseUrl)], ...(partnerNetwork ? { partnerNetwork } : {}) } });

  it('defaults the QR image hosts to PartPay\'s published domains, https only, public addresses only', () => {
    expect(parse(validConfig()).partpay.imageFetch).toEqual({
      timeoutMs: 5_000,
      maxBytes: 1_048_576,
      allowedHosts: ['partpay.co.nz', '*.partpay.co.nz', 'zip.co', '*.zip.co'],
      allowLoopbackHttp: false,
      allowedAddresses: [],
    });
    expect(parse(validConfig()).electrum.partnerNetwork).toEqual({ allowLoopbackHttp: false, allowedAddresses: [] });
  });

  it('lets the shipped demo config reach its simulators on http://127.0.0.1, by saying so explicitly', () => {
    const config = loadConfigFile(DEFAULT_CONFIG, {});
    expect(config.partpay.imageFetch.allowLoopbackHttp).toBe(true);
    expect(config.electrum.partnerNetwork.allowLoopbackHttp).toBe(true);
  });

  it.each<[string, string, Section | undefined, RegExp]>([
    ['on http', 'http://wallet.example/qr/v1', undefined, /^electrum\.partners\[0\]\.baseUrl: http:\/\/ is refused: https only \(electrum\.partnerNetwork\.allowLoopbackHttp allows http to a loopback host, for simulators\)$/],
    ['on http to a loopback simulator without the allowance', 'http://127.0.0.1:8491/qr/v1', undefined, /^electrum\.partners\[0\]\.baseUrl: http:\/\/ is refused/],
    ['on http to a public host with the loopback allowance', 'http://wallet.example/qr/v1', { allowLoopbackHttp: true }, /^electrum\.partners\[0\]\.baseUrl: http:\/\/ is allowed only to a loopback host/],
    ['at a private address', 'https://10.20.30.40/qr/v1', undefined, /^electrum\.partners\[0\]\.baseUrl: 10\.20\.30\.40 is a private address, not allowed by electrum\.partnerNetwork\.allowedAddresses$/],
    ['at the cloud metadata address', 'https://169.254.169.254/qr/v1', undefined, /^electrum\.partners\[0\]\.baseUrl: 169\.254\.169\.254 is a link-local address/],
    ['at an IPv4-mapped loopback address', 'https://[::ffff:127.0.0.1]/qr/v1', undefined, /^electrum\.partners\[0\]\.baseUrl: ::ffff:7f00:1 is a loopback address/],
    ['at localhost (which resolves to loopback)', 'https://localhost:8491/qr/v1', undefined, /^electrum\.partners\[0\]\.baseUrl: localhost resolves to 127\.0\.0\.1, a loopback address/],
    ['at a private address outside the allowed ranges', 'https://10.20.30.40/qr/v1', { allowedAddresses: ['10.99.0.0/16'] }, /^electrum\.partners\[0\]\.baseUrl: 10\.20\.30\.40 is a private address/],
  ])('refuses a partner baseUrl %s, naming the key', (_name, baseUrl, partnerNetwork, expected) => {
    expect(configError(withPartner(baseUrl, partnerNetwork)).problems).toEqual([expect.stringMatching(expected)]);
  });

  it.each<[string, string, Section | undefined]>([
    ['on https at a public host', 'https://wallet.example/qr/v1', undefined],
    ['on http to a loopback simulator with the allowance', 'http://127.0.0.1:8491/qr/v1', { allowLoopbackHttp: true }],
    ['at a private address in allowedAddresses (a partner over a VPN)', 'https://10.20.30.40/qr/v1', { allowedAddresses: ['10.20.0.0/16'] }],
  ])('accepts a partner baseUrl %s', (_name, baseUrl, partnerNetwork) => {
    expect(parse(withPartner(baseUrl, partnerNetwork)).electrum.partners[0]?.baseUrl).toBe(baseUrl);
  });

  it.each([['https://zip.co'], ['*.'], ['*'], ['zip.co/path'], ['**.zip.co'], ['zip.co:99999']])('refuses the QR image host pattern %j, naming the key', (pattern) => {
    const config = validConfig();
    config.partpay.imageFetch = { allowedHosts: [pattern] };
    expect(configError(config).problems).toEqual([expect.stringMatching(/^partpay\.imageFetch\.allowedHosts\[0\]: must be a host name or "\*\.domain", optionally with ":port"$/)]);
  });

  it('refuses an address range that is not one, naming the key', () => {
    expect(configError(withPartner('https://wallet.example/qr/v1', { allowedAddresses: ['10.0.0.0/33'] })).problems).toEqual([expect.stringMatching(/^electrum\.partnerNetwork\.allowedAddresses\[0\]: must be an IP address or CIDR range/)]);
  });
});

describe('reading the config file', () => {
  it('names the file and the key when the file is invalid', () => {
    const path = join(dir, 'bad.json');
    const config = validConfig();
    delete config.merchants[0].clientSecret;
    writeFileSync(path, JSON.stringify(config));
    expect(() => loadConfigFile(path, {})).toThrow(new RegExp(`^invalid config ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\n {2}- merchants\\[0\\]\\.clientSecret: `));
  });

  it('refuses a file that is not valid JSON, naming the file', () => {
    const path = join(dir, 'broken.json');
    writeFileSync(path, '{\n  "server": { "port": 8480 ]\n}');
    expect(() => loadConfigFile(path, {})).toThrow(ConfigError);
    expect(() => loadConfigFile(path, {})).toThrow(/broken\.json:\n {2}- not valid JSON at line 2, column \d+: /);
  });

  it('accepts comments and trailing commas, so the shipped example can explain its keys', () => {
    const path = join(dir, 'commented.json');
    writeFileSync(path, `// tenderbridge config\n${JSON.stringify(validConfig(), null, 2).replace(/}\s*$/, ', /* trailing */ }')}`);
    expect(loadConfigFile(path, {}).merchants).toHaveLength(1);
  });

  it('refuses a file that does not exist, naming the file', () => {
    expect(() => loadConfigFile(join(dir, 'absent.json'), {})).toThrow(/absent\.json:\n {2}- cannot read the file: /);
  });
});

describe('secrets', () => {
  it('reads a secret from an environment variable', () => {
    const config = validConfig();
    config.merchants[0].clientSecret = { env: 'TB_CLIENT_SECRET' };
    expect(parse(config, { TB_CLIENT_SECRET: 's3cret' }).merchants[0]?.clientSecret).toBe('s3cret');
  });

  it('treats an empty environment variable as missing, naming the variable and the key', () => {
    const config = validConfig();
    config.terminals[0].apiKey = { env: 'TB_KEY' };
    expect(configError(config, { TB_KEY: '' }).problems).toEqual(['terminals[0].apiKey: environment variable TB_KEY is not set']);
  });

  it('reads a file secret relative to the config folder, without its trailing newline', () => {
    writeFileSync(join(dir, 'client-secret'), 'from-config-dir\n');
    writeFileSync(join(dir, 'callback-key'), 'crlf-key\r\n');
    const config = validConfig();
    config.merchants[0].clientSecret = { file: 'client-secret' };
    config.merchants[0].callbackKeys = [{ file: 'callback-key' }];
    const merchant = parse(config).merchants[0];
    expect(merchant?.clientSecret).toBe('from-config-dir');
    expect(merchant?.callbackKeys).toEqual(['crlf-key']);
  });

  it('prefers $CREDENTIALS_DIRECTORY over the config folder', () => {
    const credentials = join(dir, 'credentials');
    mkdirSync(credentials);
    writeFileSync(join(credentials, 'client-secret'), 'from-systemd\n');
    writeFileSync(join(dir, 'client-secret'), 'from-config-dir\n');
    const config = validConfig();
    config.merchants[0].clientSecret = { file: 'client-secret' };
    expect(parse(config, { CREDENTIALS_DIRECTORY: credentials }).merchants[0]?.clientSecret).toBe('from-systemd');
  });

  it('falls back to the config folder when $CREDENTIALS_DIRECTORY lacks the file', () => {
    const credentials = join(dir, 'credentials');
    mkdirSync(credentials);
    writeFileSync(join(dir, 'client-secret'), 'from-config-dir');
    const config = validConfig();
    config.merchants[0].clientSecret = { file: 'client-secret' };
    expect(parse(config, { CREDENTIALS_DIRECTORY: credentials }).merchants[0]?.clientSecret).toBe('from-config-dir');
  });

  it('says where it looked for a missing secret file', () => {
    const config = validConfig();
    config.merchants[0].clientSecret = { file: 'nope' };
    const [problem] = configError(config, { CREDENTIALS_DIRECTORY: '/run/credentials/tb' }).problems;
    expect(problem).toBe(`merchants[0].clientSecret: secret file not found (looked in ${join('/run/credentials/tb', 'nope')}, ${join(dir, 'nope')})`);
  });

  it('refuses an empty secret file', () => {
    writeFileSync(join(dir, 'empty'), '\n');
    const config = validConfig();
    config.merchants[0].clientSecret = { file: 'empty' };
    expect(configError(config).problems).toEqual([expect.stringMatching(/^merchants\[0\]\.clientSecret: secret file .*empty is empty$/)]);
  });
});

describe('maskedConfig', () => {
  it('shows where each secret comes from and none of the values', () => {
    writeFileSync(join(dir, 'cb'), 'file-callback-key-value\n');
    const config = validConfig();
    config.merchants[0].clientSecret = { env: 'TB_CLIENT_SECRET' };
    config.merchants[0].callbackKeys = ['inline-callback-key-value', { file: 'cb' }];
    config.terminals.push({ id: 'T2', store: 'S1', apiKeyHash: hashApiKey('k') });
    const parsed = parse(config, { TB_CLIENT_SECRET: 'env-client-secret-value' });
    const text = JSON.stringify(maskedConfig(parsed.raw));
    for (const secret of ['env-client-secret-value', 'inline-callback-key-value', 'file-callback-key-value', 'terminal-key']) {
      expect(text).not.toContain(secret);
    }
    expect(text).toContain('[env TB_CLIENT_SECRET]');
    expect(text).toContain('[inline secret]');
    expect(text).toContain('[file cb]');
  });

  it('masks every secret of the shipped config', () => {
    const text = JSON.stringify(maskedConfig(loadConfigFile(DEFAULT_CONFIG, {}).raw));
    for (const secret of ['demo-client-secret', 'iDt3PoeoSHu3r/mTbzkaHg', 'demo-terminal-key']) expect(text).not.toContain(secret);
  });
});

describe('database', () => {
  const POOL_DEFAULTS = { max: 10, idleTimeoutMs: 30_000, connectionTimeoutMs: 5_000, statementTimeoutMs: 30_000 };
  const URL_ENV = { TENDERBRIDGE_DATABASE_URL: 'postgres://tb:s3cret-pw@db.internal:5432/tenderbridge?sslmode=require' };

  it('is SQLite by default; a database written before PostgreSQL (a path, no kind) is SQLite, unchanged', () => {
    expect(parse(validConfig()).database).toEqual({ kind: 'sqlite', path: 'data/tenderbridge.db' });
    expect(parse({ ...validConfig(), database: { path: '/var/lib/tenderbridge/tb.db' } }).database).toEqual({ kind: 'sqlite', path: '/var/lib/tenderbridge/tb.db' });
    expect(parse({ ...validConfig(), database: { kind: 'sqlite' } }).database).toEqual({ kind: 'sqlite', path: 'data/tenderbridge.db' });
  });

  it('takes PostgreSQL with its URL from the environment, the pool defaulted or configured', () => {
    const database = { kind: 'postgres', url: { env: 'TENDERBRIDGE_DATABASE_URL' } };
    expect(parse({ ...validConfig(), database }, URL_ENV).database).toEqual({ kind: 'postgres', url: URL_ENV.TENDERBRIDGE_DATABASE_URL, pool: POOL_DEFAULTS });
    expect(parse({ ...validConfig(), database: { ...database, pool: { max: 40, statementTimeoutMs: 5_000 } } }, URL_ENV).database).toMatchObject({ pool: { ...POOL_DEFAULTS, max: 40, statementTimeoutMs: 5_000 } });
  });

  it('refuses what cannot work, naming the key, and never quotes the URL (it carries the password)', () => {
    const problems = (database: unknown, env: Record<string, string> = {}) => configError({ ...validConfig(), database }, env).problems;
    expect(problems({ kind: 'mysql' })).toEqual(['database.kind: must be "sqlite" (the default) or "postgres"']);
    expect(problems('data/tb.db')).toEqual(['database: must be {"kind": "sqlite", "path": ...} or {"kind": "postgres", "url": {"env": ...}}']);
    expect(problems({ kind: 'postgres' })).toEqual(['database.url: must be a string, {"env": "NAME"} or {"file": "PATH"}']);
    expect(problems({ kind: 'postgres', url: { env: 'TENDERBRIDGE_DATABASE_URL' } })).toEqual(['database.url: environment variable TENDERBRIDGE_DATABASE_URL is not set']);
    expect(problems({ kind: 'sqlite', url: { env: 'X' } })).toEqual(['database: unknown key(s) "url"']);
    expect(problems({ kind: 'postgres', path: 'x.db', url: { env: 'X' } }, { X: 'postgres://h/db' })).toEqual(['database: unknown key(s) "path"']);
    expect(problems({ kind: 'postgres', url: { env: 'X' }, pool: { max: 0 } }, { X: 'postgres://h/db' })).toEqual(['database.pool.max: Too small: expected number to be >=1']);
    expect(problems({ kind: 'postgres', url: { env: 'X' } }, { X: 'mysql://root:s3cret-pw@h/db' })).toEqual(['database.url: must be a postgres:// or postgresql:// URL (it is mysql://...)']);
    expect(problems({ kind: 'postgres', url: { env: 'X' } }, { X: 's3cret-pw' })).toEqual([expect.stringMatching(/^database\.url: must be a postgres:\/\/ or postgresql:\/\/ URL such as .* \(it is not a URL\)$/)]);
    expect(problems({ kind: 'postgres', url: { env: 'X' } }, { X: 'postgres://tb:s3cret-pw@db.internal:5432' })).toEqual(['database.url: names no database: postgres://user:password@host:5432/DATABASE']);
    for (const p of [problems({ kind: 'postgres', url: { env: 'X' } }, { X: 'mysql://root:s3cret-pw@h/db' }), problems({ kind: 'postgres', url: { env: 'X' } }, { X: 's3cret-pw' })]) expect(p.join()).not.toContain('s3cret-pw');
  });

  it('is printed with the URL\'s source, never its value', () => {
    const parsed = parse({ ...validConfig(), database: { kind: 'postgres', url: 'postgres://tb:s3cret-pw@db.internal/tenderbridge' } });
    expect(parsed.database).toMatchObject({ url: 'postgres://tb:s3cret-pw@db.internal/tenderbridge' });
    expect(JSON.stringify(maskedConfig(parsed.raw))).not.toContain('s3cret-pw');
    expect((maskedConfig(parse({ ...validConfig(), database: { kind: 'postgres', url: { env: 'TENDERBRIDGE_DATABASE_URL' } } }, URL_ENV).raw) as { database: unknown }).database).toEqual({
      kind: 'postgres',
      url: '[env TENDERBRIDGE_DATABASE_URL]',
      pool: POOL_DEFAULTS,
    });
    expect(redactDatabaseUrl('postgres://tb:s3cret-pw@db.internal:5432/tenderbridge?sslmode=require')).toBe('postgres://tb:***@db.internal:5432/tenderbridge?sslmode=require');
    expect(redactDatabaseUrl('postgresql://db.internal/tenderbridge?user=tb&password=s3cret-pw')).toBe('postgresql://db.internal/tenderbridge?user=tb&password=***');
  });
});

describe('configPathFrom', () => {
  const env = { TENDERBRIDGE_CONFIG: '/etc/tenderbridge/from-env.json' };
  it.each<[string, string[], Record<string, string>, string]>([
    ['--config FILE wins over the environment', ['--config', '/etc/a.json'], env, '/etc/a.json'],
    ['--config=FILE wins over the environment', ['--config=/etc/b.json'], env, '/etc/b.json'],
    ['a relative --config is resolved against the working directory', ['--config', 'rel.json'], {}, resolve('rel.json')],
    ['TENDERBRIDGE_CONFIG comes next', ['--verbose'], env, '/etc/tenderbridge/from-env.json'],
    ['config/default.json under the app folder is the default', [], {}, resolve('/opt/tb', 'config/default.json')],
  ])('%s', (_name, argv, environment, expected) => {
    expect(configPathFrom(argv, environment, '/opt/tb')).toBe(expected);
  });

  it.each([[['--config']], [['--config=']]])('refuses %j without a path', (argv) => {
    expect(() => configPathFrom(argv, {}, '/opt/tb')).toThrow(/--config needs a file path/);
  });
});
