// Git's ref-name rules (git-check-ref-format(1), with --branch), written out so that a
// branch name from a peer is safe to hand to git on the spoke (PROTOCOL 5).

// Rule 4 and 5: control characters, space, ~ ^ : ? * [ and backslash.
// eslint-disable-next-line no-control-regex
const FORBIDDEN_CHARACTER = /[\u0000-\u0020\u007f~^:?*[\\]/;

/**
 * Returns why `name` is not a valid git branch name, or `undefined` when it is.
 * Rules, numbered as in git-check-ref-format(1):
 * 1. no slash-separated component begins with `.` or ends with `.lock`;
 * 3. no `..`;
 * 4. no control characters, space, `~`, `^` or `:`;
 * 5. no `?`, `*` or `[`;
 * 6. does not begin or end with `/`, and has no `//`;
 * 7. does not end with `.`;
 * 8. no `@{`;
 * 9. is not `@`;
 * 10. no backslash;
 * and, for branches, does not begin with `-` and is not `HEAD`.
 */
export function explainInvalidBranchName(name: string): string | undefined {
  if (name.length === 0) return 'is empty';
  if (name.startsWith('-')) return 'begins with "-"';
  if (name === '@') return 'is "@"';
  if (name === 'HEAD') return 'is "HEAD"';
  if (FORBIDDEN_CHARACTER.test(name)) {
    return 'contains a control character, space, or one of ~ ^ : ? * [ \\';
  }
  if (name.includes('..')) return 'contains ".."';
  if (name.includes('@{')) return 'contains "@{"';
  if (name.startsWith('/') || name.endsWith('/')) return 'begins or ends with "/"';
  if (name.includes('//')) return 'contains "//"';
  if (name.endsWith('.')) return 'ends with "."';
  for (const component of name.split('/')) {
    if (component.startsWith('.')) return 'has a component beginning with "."';
    if (component.endsWith('.lock')) return 'has a component ending with ".lock"';
  }
  return undefined;
}
