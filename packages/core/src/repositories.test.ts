import { describe, expect, it } from 'vitest';
import { RepositorySchema } from './schemas/agents.js';
import { GrantsSchema, UpdateGrantsDtoSchema } from './schemas/connections.js';
import { canonicalRepository, DEFAULT_REPOSITORY_PATTERNS, repositoryAllowed, RepositoryPatternSchema } from './repositories.js';

describe('canonicalRepository', () => {
  it('spells every form of an address one way', () => {
    expect(canonicalRepository('git.example.com/org/repo')).toBe('https://git.example.com/org/repo');
    expect(canonicalRepository('HTTPS://Git.Example.COM/Org/Repo.git/')).toBe('https://git.example.com/Org/Repo');
    expect(canonicalRepository('Git@GitHub.com:acme/site.git')).toBe('ssh://Git@github.com/acme/site');
    expect(canonicalRepository('file:///srv/repos/demo')).toBe('file:///srv/repos/demo');
  });
});

describe('repositoryAllowed', () => {
  it('allows any https host by default, and nothing else', () => {
    expect(repositoryAllowed(DEFAULT_REPOSITORY_PATTERNS, 'git.example.com/org/repo')).toBe(true);
    expect(repositoryAllowed(DEFAULT_REPOSITORY_PATTERNS, 'https://github.com/acme/site.git')).toBe(true);
    for (const other of ['http://github.com/acme/site', 'ssh://git@github.com/acme/site', 'git@github.com:acme/site', 'git://github.com/acme/site', 'file:///etc']) {
      expect(repositoryAllowed(DEFAULT_REPOSITORY_PATTERNS, other), other).toBe(false);
    }
  });

  it('keeps * within one segment and lets ** cross them', () => {
    const patterns = ['https://github.com/acme/*', 'https://*.internal.example/**'];
    expect(repositoryAllowed(patterns, 'github.com/acme/site')).toBe(true);
    expect(repositoryAllowed(patterns, 'https://GITHUB.com/acme/site.git')).toBe(true);
    expect(repositoryAllowed(patterns, 'https://github.com/acme/site/extra')).toBe(false);
    expect(repositoryAllowed(patterns, 'https://github.com/acmecorp/site')).toBe(false);
    expect(repositoryAllowed(patterns, 'https://github.com/acme')).toBe(false);
    expect(repositoryAllowed(patterns, 'https://git.internal.example/a/b/c')).toBe(true);
    expect(repositoryAllowed(patterns, 'https://evil.example/.internal.example/x')).toBe(false);
  });

  it('takes the pattern literally apart from its wildcards', () => {
    expect(repositoryAllowed(['https://git.example.com/a+b/(x)'], 'https://git.example.com/a+b/(x)')).toBe(true);
    expect(repositoryAllowed(['https://git.example.com/a+b/(x)'], 'https://git.example.com/aab/x')).toBe(false);
    expect(repositoryAllowed(['https://git.example.com/a.b'], 'https://git.example.com/aXb')).toBe(false);
  });

  it('matches ssh addresses in either spelling', () => {
    const patterns = ['ssh://git@git.example.com/team/**'];
    expect(repositoryAllowed(patterns, 'git@git.example.com:team/app.git')).toBe(true);
    expect(repositoryAllowed(patterns, 'ssh://git@git.example.com/team/app')).toBe(true);
    expect(repositoryAllowed(patterns, 'ssh://root@git.example.com/team/app')).toBe(false);
  });

  it('cannot be led out of a pattern by dot segments: such a repository is refused before it is matched', () => {
    const escape = 'https://github.com/acme/../evil/repo';
    // Matched as written it would pass `acme/**`; the clone would fetch evil/repo.
    expect(repositoryAllowed(['https://github.com/acme/**'], escape)).toBe(true);
    expect(RepositorySchema.safeParse(escape).success).toBe(false);
  });

  it('allows nothing with no pattern', () => {
    expect(repositoryAllowed([], 'https://github.com/acme/site')).toBe(false);
  });
});

describe('the repositories grant', () => {
  it('is optional in grants, and null in an update goes back to the instance policy', () => {
    const grants = { allowedCommands: [], allowedAgentTypes: [], maxConcurrentAgents: 1 };
    expect(GrantsSchema.parse(grants).repositories).toBeUndefined();
    expect(GrantsSchema.parse({ ...grants, repositories: ['https://github.com/acme/*'] }).repositories).toEqual(['https://github.com/acme/*']);
    expect(UpdateGrantsDtoSchema.parse({ repositories: null })).toEqual({ repositories: null });
    expect(UpdateGrantsDtoSchema.safeParse({ repositories: ['https://a/*', 'https://a/*'] }).success).toBe(false);
  });

  it('refuses patterns that could not be meant', () => {
    for (const bad of ['', ' https://x/*', 'https://x/***', '--upload-pack=x', `https://x/${'a'.repeat(600)}`]) {
      expect(RepositoryPatternSchema.safeParse(bad).success, bad).toBe(false);
    }
  });
});
