import { describe, expect, it } from 'vitest';
import { OutboundPolicy, OutboundRefusal } from './policy.js';

// PROTOCOL 3, "Outbound requests": every spelling of a non-public address is refused.
const deny = new OutboundPolicy();

describe('OutboundPolicy: addresses', () => {
  it.each([
    ['loopback', '127.0.0.1'],
    ['loopback, elsewhere in 127/8', '127.8.9.10'],
    ['unspecified', '0.0.0.0'],
    ['RFC 1918, 10/8', '10.1.2.3'],
    ['RFC 1918, 172.16/12', '172.16.0.1'],
    ['RFC 1918, 172.16/12 upper end', '172.31.255.254'],
    ['RFC 1918, 192.168/16', '192.168.1.1'],
    ['link-local (cloud metadata)', '169.254.169.254'],
    ['shared address space, 100.64/10', '100.64.0.1'],
    ['multicast', '224.0.0.1'],
    ['broadcast', '255.255.255.255'],
    ['documentation', '192.0.2.1'],
    ['benchmarking', '198.18.0.1'],
    ['reserved, 240/4', '240.0.0.1'],
    ['IPv6 loopback', '::1'],
    ['IPv6 unspecified', '::'],
    ['IPv6 link-local', 'fe80::1'],
    ['IPv6 unique local (RFC 4193)', 'fd12:3456::1'],
    ['IPv6 multicast', 'ff02::1'],
    ['IPv4-mapped IPv6 of link-local', '::ffff:169.254.169.254'],
    ['IPv4-mapped IPv6, hex', '::ffff:a9fe:a9fe'],
    ['IPv4-mapped IPv6 of loopback, long form', '0:0:0:0:0:ffff:7f00:1'],
    ['IPv4-compatible IPv6 of loopback', '::127.0.0.1'],
    ['NAT64 of link-local', '64:ff9b::a9fe:a9fe'],
    ['6to4 of link-local', '2002:a9fe:a9fe::1'],
    ['Teredo', '2001::1'],
    ['bracketed IPv6 as a URL has it', '[::1]'],
    ['not an address at all', 'metadata.internal'],
  ])('refuses %s (%s)', (_what, address) => {
    expect(deny.allowsAddress(address)).toBe(false);
  });

  it.each(['93.184.215.14', '8.8.8.8', '2606:4700:4700::1111', '::ffff:8.8.8.8'])('allows the public address %s', (address) => {
    expect(deny.allowsAddress(address)).toBe(true);
  });

  it('allows exactly the networks the admin listed, in either family and as mapped IPv6', () => {
    const policy = new OutboundPolicy({ allowNetworks: ['127.0.0.0/8', '10.1.0.0/16', 'fd00::/8', ' '] });
    expect(policy.allowsAddress('127.0.0.1')).toBe(true);
    expect(policy.allowsAddress('::ffff:127.0.0.1')).toBe(true);
    expect(policy.allowsAddress('10.1.200.3')).toBe(true);
    expect(policy.allowsAddress('10.2.0.1')).toBe(false);
    expect(policy.allowsAddress('fd12::1')).toBe(true);
    expect(policy.allowsAddress('169.254.169.254')).toBe(false);
    expect(policy.allowsAddress('::1')).toBe(false);
  });

  it('refuses a setting that is not a network, naming it', () => {
    expect(() => new OutboundPolicy({ allowNetworks: ['10.0.0.0/33'] })).toThrow(/"10.0.0.0\/33" is not a network/);
    expect(() => new OutboundPolicy({ allowNetworks: ['localhost'] })).toThrow(TypeError);
  });
});

describe('OutboundPolicy: URLs', () => {
  it.each([
    'http://127.0.0.1:4747/',
    'http://127.1/',
    'http://0/',
    'http://2130706433/',
    'http://0x7f000001/',
    'http://0177.0.0.1/',
    'http://169.254.169.254/latest/meta-data/',
    'http://2852039166/',
    'http://0xa9fea9fe/',
    'http://0251.0376.0251.0376/',
    'http://169.254.43518/',
    'https://10.0.0.1/',
    'https://[::ffff:169.254.169.254]/',
    'http://[::ffff:7f00:1]:4747/',
    'http://[::1]/',
    'http://[fd00::1]/',
    'http://localhost:4747/',
    'http://LOCALHOST./',
    'http://api.localhost/',
    'http://user:secret@example.com/',
    'ftp://example.com/',
    'file:///etc/passwd',
    'not a url',
  ])('refuses %s before any request', (url) => {
    expect(() => deny.checkUrl(url)).toThrow(OutboundRefusal);
  });

  it('lets names through to be resolved and checked at connect time, and public addresses', () => {
    expect(deny.checkUrl('https://spoke.example.com/x').hostname).toBe('spoke.example.com');
    expect(deny.checkUrl('http://93.184.215.14/').hostname).toBe('93.184.215.14');
  });

  it('lets loopback names and addresses through once loopback is allowed', () => {
    const loopback = new OutboundPolicy({ allowNetworks: ['127.0.0.0/8'] });
    expect(loopback.checkUrl('http://localhost:4747/').port).toBe('4747');
    expect(loopback.checkUrl('http://2130706433/').hostname).toBe('127.0.0.1');
    expect(() => loopback.checkUrl('http://[::1]/')).toThrow(OutboundRefusal);
  });
});
