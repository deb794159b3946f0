import { describe, expect, it } from 'vitest';
import { addressProblem, hostAllowed, urlProblem, type EgressPolicy } from '../../src/shared/net/egress-policy.js';
import { addressKind } from '../../src/shared/net/ip-address.js';

const PARTPAY_HOSTS = ['partpay.co.nz', '*.partpay.co.nz', 'zip.co', '*.zip.co'];

describe('addressKind', () => {
  it.each([
    ['8.8.8.8'],
    ['1.1.1.1'],
    ['172.15.255.255'],
    ['172.32.0.0'],
    ['169.253.255.255'],
    ['100.63.255.255'],
    ['223.255.255.255'],
    ['2606:4700::1111'],
    ['64:ff9b::808:808'], // NAT64 of 8.8.8.8
    ['::ffff:8.8.8.8'],
  ])('counts %s as public', (address) => {
    expect(addressKind(address)).toBeNull();
  });

  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['::1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['10.0.0.1', 'private'],
    ['172.16.0.0', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'private'],
    ['fc00::1', 'private'],
    ['fdff:ffff::1', 'private'],
    ['fec0::1', 'private'],
    ['64:ff9b::a00:1', 'private'], // NAT64 of 10.0.0.1
    ['2002:a00:1::1', 'private'], // 6to4 of 10.0.0.1
    ['::ffff:0:a00:1', 'private'], // IPv4-translated 10.0.0.1
    ['169.254.169.254', 'link-local'],
    ['fe80::1', 'link-local'],
    ['febf::1', 'link-local'],
    ['::ffff:169.254.169.254', 'link-local'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['::', 'unspecified'],
    ['::ffff:0.0.0.0', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.255', 'multicast'],
    ['ff02::1', 'multicast'],
    ['240.0.0.1', 'reserved'],
    ['255.255.255.255', 'reserved'],
    ['::7f00:1', 'reserved'], // deprecated IPv4-compatible form
  ])('counts %s as %s', (address, kind) => {
    expect(addressKind(address)).toBe(kind);
  });
});

describe('hostAllowed', () => {
  it.each([
    ['https://partpay.co.nz/qr.jpg'],
    ['https://api.partpay.co.nz/qr.jpg'],
    ['https://images.sandbox.zip.co/qr.jpg'],
    ['https://ZIP.co/qr.jpg'],
    ['https://zip.co:443/qr.jpg'],
  ])('lets %s through the published PartPay hosts', (url) => {
    expect(hostAllowed(new URL(url), PARTPAY_HOSTS)).toBe(true);
  });

  it.each([
    ['https://evilpartpay.co.nz/qr.jpg'],
    ['https://partpay.co.nz.evil.example/qr.jpg'],
    ['https://zip.co.evil.example/qr.jpg'],
    ['https://zip.com/qr.jpg'],
    ['https://partpay.co.nz:8443/qr.jpg'],
    ['http://partpay.co.nz:443/qr.jpg'],
  ])('keeps %s out', (url) => {
    expect(hostAllowed(new URL(url), PARTPAY_HOSTS)).toBe(false);
  });

  it('matches "*.domain" on subdomains only, and a listed port only on that port', () => {
    expect(hostAllowed(new URL('https://zip.co/'), ['*.zip.co'])).toBe(false);
    expect(hostAllowed(new URL('https://a.zip.co/'), ['*.zip.co'])).toBe(true);
    expect(hostAllowed(new URL('https://img.zip.co:8443/'), ['img.zip.co:8443'])).toBe(true);
    expect(hostAllowed(new URL('https://img.zip.co/'), ['img.zip.co:8443'])).toBe(false);
    expect(hostAllowed(new URL('http://[::1]:8490/'), ['[::1]:8490'])).toBe(true);
    expect(hostAllowed(new URL('http://127.0.0.1:8490/'), ['127.0.0.1:8491'])).toBe(false);
  });
});

describe('urlProblem', () => {
  const strict: EgressPolicy = { key: 'partpay.imageFetch', allowedHosts: PARTPAY_HOSTS };
  const demo: EgressPolicy = { ...strict, allowLoopbackHttp: true, allowedOrigins: ['http://127.0.0.1:8490'] };

  it('passes a listed https URL', () => {
    expect(urlProblem(new URL('https://api.partpay.co.nz/qr/1.jpg'), strict)).toBeNull();
  });

  it('refuses schemes other than https, and http unless allowed for a loopback host', () => {
    expect(urlProblem(new URL('ftp://zip.co/qr.jpg'), strict)).toMatch(/scheme ftp: is not https/);
    expect(urlProblem(new URL('http://zip.co/qr.jpg'), strict)).toMatch(/http:\/\/ is refused.*partpay\.imageFetch\.allowLoopbackHttp/);
    expect(urlProblem(new URL('http://zip.co/qr.jpg'), demo)).toMatch(/http:\/\/ is allowed only to a loopback host/);
    expect(urlProblem(new URL('http://127.0.0.1:8490/qr.jpg'), demo)).toBeNull();
  });

  it("always allows the listed origins (PartPay's API), on their own port only", () => {
    expect(urlProblem(new URL('http://127.0.0.1:8490/qr-images/1.jpg'), demo)).toBeNull();
    expect(urlProblem(new URL('http://127.0.0.1:8491/qr-images/1.jpg'), demo)).toBe('host 127.0.0.1:8491 is not in partpay.imageFetch.allowedHosts');
  });

  it('refuses a literal non-public address unless allowedAddresses lists it', () => {
    const anyHost: EgressPolicy = { key: 'electrum.partnerNetwork' };
    expect(urlProblem(new URL('https://10.1.2.3/qr/v1'), anyHost)).toBe('10.1.2.3 is a private address, not allowed by electrum.partnerNetwork.allowedAddresses');
    expect(urlProblem(new URL('https://10.1.2.3/qr/v1'), { ...anyHost, allowedAddresses: ['10.1.0.0/16'] })).toBeNull();
    expect(urlProblem(new URL('https://[fd00::5]/qr/v1'), { ...anyHost, allowedAddresses: ['fd00::/8'] })).toBeNull();
    expect(urlProblem(new URL('https://[::ffff:10.1.2.3]/qr/v1'), { ...anyHost, allowedAddresses: ['10.1.2.3'] })).toBeNull();
  });
});

describe('addressProblem', () => {
  it('lets loopback through only when loopback http is allowed (simulators), and anything public', () => {
    expect(addressProblem('127.0.0.1', { key: 'k' })).toMatch(/127\.0\.0\.1 is a loopback address, not allowed by k\.allowedAddresses/);
    expect(addressProblem('127.0.0.1', { key: 'k', allowLoopbackHttp: true })).toBeNull();
    expect(addressProblem('::1', { key: 'k', allowLoopbackHttp: true })).toBeNull();
    expect(addressProblem('10.0.0.1', { key: 'k', allowLoopbackHttp: true })).toMatch(/private/);
    expect(addressProblem('203.0.113.9', { key: 'k' })).toBeNull();
  });
});
