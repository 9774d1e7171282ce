// A tiny repository with a failing test, for tests and the offline demo: `add` subtracts,
// and `sh test.sh` says so. Plain POSIX shell, so it runs in a busybox sandbox too.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixByReplacingScript, type FixByReplacingOptions, type ScriptedTurn } from './scripted-messages.js';

/** The bug in the demo repository and how its tests are run. */
export const DEMO_FIX: FixByReplacingOptions = { file: 'calc.sh', oldText: '$1 - $2', newText: '$1 + $2', testCommand: 'sh test.sh' };

/**
 * Writes the demo repository into `dir` (created if needed) as one commit on `main`, and
 * returns its `file://` URL.
 */
export function createDemoRepository(dir: string): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'calc.sh'), 'add() {\n  echo $(($1 - $2))\n}\n');
  writeFileSync(
    join(dir, 'test.sh'),
    '. ./calc.sh\nresult=$(add 2 3)\nif [ "$result" = 5 ]; then echo "ok: add 2 3 = 5"; else echo "FAIL: add 2 3 = $result, expected 5"; exit 1; fi\n',
  );
  const git = (...args: string[]) => execFileSync('git', args, { cwd: dir, stdio: 'pipe' });
  git('init', '--quiet', '--initial-branch', 'main');
  git('add', '.');
  git('-c', 'user.name=Mosaic Federation', '-c', 'user.email=demo@mosaic-fed.invalid', 'commit', '--quiet', '-m', 'Add add(), with a bug');
  return `file://${dir}`;
}

/** The scripted conversation of a worker that fixes the demo repository. */
export function demoFixScript(): ScriptedTurn[] {
  return fixByReplacingScript(DEMO_FIX);
}
