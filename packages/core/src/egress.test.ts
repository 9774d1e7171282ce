import { describe, expect, it } from 'vitest';
import { checkEgressRules, egressAllowed, EgressRuleSchema, mergeEgressRules } from './egress.js';
import { GrantsSchema, UpdateGrantsDtoSchema } from './schemas/connections.js';

describe('egress rules', () => {
  it.each([
    'registry.npmjs.org',
    'registry.npmjs.org:8443',
    '*.pythonhosted.org',
    '*.example.com:8080',
    '127.0.0.1:4873',
    '10.0.0.5',
    '[::1]:8080',
    '[fd00::5]',
    'Files.Example.COM.',
  ])('accepts %s', (rule) => {
    expect(EgressRuleSchema.safeParse(rule).success).toBe(true);
  });

  it.each([
    '',
    'https://registry.npmjs.org',
    'registry.npmjs.org/path',
    'registry.npmjs.org:0',
    'registry.npmjs.org:65536',
    'registry.npmjs.org:http',
    '*',
    '*.*.example.com',
    'a*.example.com',
    '*.10.0.0.1',
    '::1',
    '[::1',
    '[not-an-address]:80',
    '-bad.example.com',
    'bad-.example.com',
    'under_score.example.com',
    '999.1.1.1',
    'user@host.example.com',
    ' spaced.example.com',
  ])('refuses %j', (rule) => {
    expect(EgressRuleSchema.safeParse(rule).success).toBe(false);
  });

  it('allows 443 and 80 for a rule without a port, and only the named port for one with', () => {
    expect(egressAllowed(['registry.npmjs.org'], 'registry.npmjs.org', 443)).toBe(true);
    expect(egressAllowed(['registry.npmjs.org'], 'registry.npmjs.org', 80)).toBe(true);
    expect(egressAllowed(['registry.npmjs.org'], 'registry.npmjs.org', 22)).toBe(false);
    expect(egressAllowed(['127.0.0.1:4873'], '127.0.0.1', 4873)).toBe(true);
    expect(egressAllowed(['127.0.0.1:4873'], '127.0.0.1', 4747)).toBe(false);
    expect(egressAllowed(['127.0.0.1:4873'], '127.0.0.1', 443)).toBe(false);
  });

  it('matches names in any case, with or without a trailing dot, and a wildcard only below its name', () => {
    expect(egressAllowed(['Registry.NPMJS.org'], 'registry.npmjs.org.', 443)).toBe(true);
    expect(egressAllowed(['*.example.com'], 'files.example.com', 443)).toBe(true);
    expect(egressAllowed(['*.example.com'], 'a.b.example.com', 443)).toBe(true);
    expect(egressAllowed(['*.example.com'], 'example.com', 443)).toBe(false);
    expect(egressAllowed(['*.example.com'], 'badexample.com', 443)).toBe(false);
    expect(egressAllowed(['example.com'], 'files.example.com', 443)).toBe(false);
    expect(egressAllowed(['[::1]:8080'], '[::1]', 8080)).toBe(true);
    expect(egressAllowed(['[::1]:8080'], '::1', 8080)).toBe(true);
  });

  it('allows nothing without rules', () => {
    expect(egressAllowed([], 'registry.npmjs.org', 443)).toBe(false);
  });

  it('merges the instance rules and a grant, each rule once', () => {
    expect(mergeEgressRules(['a.example.com', 'b.example.com'], undefined, ['b.example.com', 'c.example.com'])).toEqual([
      'a.example.com',
      'b.example.com',
      'c.example.com',
    ]);
  });

  it('names the setting and the rule a configuration got wrong', () => {
    expect(checkEgressRules(['registry.npmjs.org'], 'MOSAIC_FED_EGRESS')).toEqual(['registry.npmjs.org']);
    expect(() => checkEgressRules(['registry.npmjs.org', 'https://x'], 'MOSAIC_FED_EGRESS')).toThrow(/MOSAIC_FED_EGRESS: "https:\/\/x"/);
  });

  it('is a grant that is none unless set, and can be cleared', () => {
    const grants = { allowedCommands: [], allowedAgentTypes: [], maxConcurrentAgents: 1 };
    expect(GrantsSchema.parse(grants).egress).toBeUndefined();
    expect(GrantsSchema.parse({ ...grants, egress: ['registry.npmjs.org'] }).egress).toEqual(['registry.npmjs.org']);
    expect(GrantsSchema.safeParse({ ...grants, egress: ['registry.npmjs.org', 'registry.npmjs.org'] }).success).toBe(false);
    expect(UpdateGrantsDtoSchema.parse({ egress: null })).toEqual({ egress: null });
    expect(UpdateGrantsDtoSchema.safeParse({ egress: ['http://x'] }).success).toBe(false);
  });
});
