// Which repositories a peer's agents may fetch (PROTOCOL 3, grant `repositories`). A
// pattern is a repository address with wildcards: `*` stands for any run of characters
// within one path segment (no `/`), `**` for anything. Patterns and repositories are
// compared in one canonical spelling: a host/path is https, an scp-like `user@host:path`
// is ssh, scheme and host are lower case, and a trailing `/` or `.git` is dropped.
import { z } from 'zod';
import { LIMITS } from './limits.js';

/**
 * The instance's repository policy when its admin set none: any host over `https`. That
 * the host is public is checked where the fetch connects (PROTOCOL 3, "Outbound requests").
 */
export const DEFAULT_REPOSITORY_PATTERNS: readonly string[] = ['https://**'];

const SCHEME = /^([a-z][a-z0-9+.-]*):\/\/([^/]*)(.*)$/i;
const SCP_LIKE = /^([^/@:\s]+@[^/:\s]+):(.*)$/;
// eslint-disable-next-line no-control-regex
const WHITESPACE_OR_CONTROL = /[\s\u0000-\u001f\u007f]/;

/** The spelling repositories and patterns are compared in; wildcards pass through. */
export function canonicalRepository(repository: string): string {
  let scheme: string;
  let authority: string;
  let path: string;
  const url = SCHEME.exec(repository);
  const scp = url === null ? SCP_LIKE.exec(repository) : null;
  if (url !== null) {
    [, scheme = '', authority = '', path = ''] = url;
  } else if (scp !== null) {
    scheme = 'ssh';
    [, authority = '', path = ''] = scp;
    path = `/${path.replace(/^\/+/, '')}`;
  } else {
    scheme = 'https';
    const slash = repository.indexOf('/');
    authority = slash === -1 ? repository : repository.slice(0, slash);
    path = slash === -1 ? '' : repository.slice(slash);
  }
  // The user name of an ssh address is case-sensitive; the host is not.
  const at = authority.lastIndexOf('@');
  const host = `${authority.slice(0, at + 1)}${authority.slice(at + 1).toLowerCase()}`;
  return `${scheme.toLowerCase()}://${host}${path.replace(/\/+$/, '').replace(/\.git$/i, '')}`;
}

/** A pattern of `repositories`: an address with `*` and `**` wildcards, such as `https://github.com/acme/*`. */
export const RepositoryPatternSchema = z
  .string()
  .min(1)
  .max(LIMITS.repositoryMaxLength)
  .refine((value) => !WHITESPACE_OR_CONTROL.test(value), 'must not contain whitespace or control characters')
  .refine((value) => !value.startsWith('-'), 'must not begin with "-"')
  .refine((value) => !/\*{3,}/.test(value), 'has "***": use "*" within a segment or "**" for anything');

/**
 * A configured list of patterns, checked: throws a TypeError that names `setting` and the
 * first pattern that is none.
 */
export function checkRepositoryPatterns(patterns: readonly string[], setting: string): string[] {
  return patterns.map((pattern) => {
    const parsed = RepositoryPatternSchema.safeParse(pattern);
    if (!parsed.success) throw new TypeError(`${setting}: "${pattern}" is not a repository pattern (such as https://github.com/acme/*)`);
    return parsed.data;
  });
}

const compiled = new Map<string, RegExp>();
const COMPILED_KEPT = 1_024;

function compile(pattern: string): RegExp {
  let regex = compiled.get(pattern);
  if (regex === undefined) {
    const source = canonicalRepository(pattern)
      .split('**')
      .map((part) =>
        part
          .split('*')
          .map((literal) => literal.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
          .join('[^/]*'),
      )
      .join('.*');
    regex = new RegExp(`^${source}$`);
    if (compiled.size >= COMPILED_KEPT) compiled.clear();
    compiled.set(pattern, regex);
  }
  return regex;
}

/**
 * Whether `repository` matches one of `patterns`.
 *
 * @example
 * ```ts
 * repositoryAllowed(['https://github.com/acme/*'], 'github.com/acme/site.git'); // true
 * repositoryAllowed(['https://github.com/acme/*'], 'https://github.com/acme/a/b'); // false
 * repositoryAllowed(DEFAULT_REPOSITORY_PATTERNS, 'git@github.com:acme/site'); // false: ssh
 * ```
 */
export function repositoryAllowed(patterns: readonly string[], repository: string): boolean {
  const canonical = canonicalRepository(repository);
  return patterns.some((pattern) => compile(pattern).test(canonical));
}
