// Two tiny repositories with a failing test, for tests and the offline demo, and the
// stand-in model's scenarios for a worker, a reviewer and a tester on each:
// - `calc`: plain POSIX shell (`add` subtracts; `sh test.sh` says so), so it runs in a
//   busybox sandbox too;
// - `slug`: JavaScript for Node.js (`slugify` keeps capitals; `node test.js` says so).
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixByReplacingScript, turnByTurn, type FixByReplacingOptions, type Scenario, type ScriptedRequest, type ScriptedTurn } from './scripted-messages.js';

/** A demo repository: its files, its bug and how its tests run. */
export interface DemoProject {
  name: 'calc' | 'slug';
  /** A file only this project has, by which the scenarios know it. */
  marker: string;
  files: Record<string, string>;
  fix: FixByReplacingOptions;
  /** The reviewer's findings. */
  findings: string;
}

export const DEMO_PROJECTS: Record<DemoProject['name'], DemoProject> = {
  calc: {
    name: 'calc',
    marker: 'calc.sh',
    files: {
      'calc.sh': 'add() {\n  echo $(($1 - $2))\n}\n',
      'test.sh': '. ./calc.sh\nresult=$(add 2 3)\nif [ "$result" = 5 ]; then echo "ok: add 2 3 = 5"; else echo "FAIL: add 2 3 = $result, expected 5"; exit 1; fi\n',
    },
    fix: { file: 'calc.sh', oldText: '$1 - $2', newText: '$1 + $2', testCommand: 'sh test.sh' },
    findings: '- calc.sh:2 `add` subtracts its arguments (`$1 - $2`); it should add them.',
  },
  slug: {
    name: 'slug',
    marker: 'slug.js',
    files: {
      'package.json': '{\n  "name": "slug",\n  "version": "1.0.0",\n  "type": "module",\n  "scripts": { "test": "node test.js" }\n}\n',
      'slug.js': "export function slugify(title) {\n  return title.trim().replace(/[^A-Za-z0-9]+/g, '-');\n}\n",
      'test.js':
        "import { strictEqual } from 'node:assert';\nimport { slugify } from './slug.js';\n\nconst cases = [['Hello World', 'hello-world'], ['  Mosaic Federation ', 'mosaic-federation']];\nfor (const [title, expected] of cases) {\n  strictEqual(slugify(title), expected, `slugify(${JSON.stringify(title)})`);\n  console.log(`ok: slugify(${JSON.stringify(title)}) = ${expected}`);\n}\n",
    },
    fix: { file: 'slug.js', oldText: 'title.trim()', newText: 'title.trim().toLowerCase()', testCommand: 'node test.js' },
    findings: '- slug.js:2 `slugify` keeps capital letters; the tests expect lower case (`toLowerCase()` after `trim()`).',
  },
};

/** The bug in the `calc` repository and how its tests are run. */
export const DEMO_FIX: FixByReplacingOptions = DEMO_PROJECTS.calc.fix;

/**
 * Writes a demo repository into `dir` (created if needed) as one commit on `main`, and
 * returns its `file://` URL. Default: the `calc` repository.
 */
export function createDemoRepository(dir: string, project: DemoProject['name'] = 'calc'): string {
  mkdirSync(dir, { recursive: true });
  for (const [name, content] of Object.entries(DEMO_PROJECTS[project].files)) writeFileSync(join(dir, name), content);
  const git = (...args: string[]) => execFileSync('git', args, { cwd: dir, stdio: 'pipe' });
  git('init', '--quiet', '--initial-branch', 'main');
  git('add', '.');
  git('-c', 'user.name=Mosaic Federation', '-c', 'user.email=demo@mosaic-fed.invalid', 'commit', '--quiet', '-m', 'A first version, with a bug');
  return `file://${dir}`;
}

/** The turn-by-turn script of a worker that fixes the `calc` repository. */
export function demoFixScript(): ScriptedTurn[] {
  return fixByReplacingScript(DEMO_FIX);
}

/**
 * The stand-in model's part in the demo: a worker, a reviewer and a tester on either
 * demo repository. Every agent first lists the repository; what it finds there picks the
 * scenario. On any other repository the stand-in says it has no scenario.
 */
export function demoScenarios(): Scenario[] {
  const look: Scenario = {
    name: 'look around',
    when: (request) => request.turn === 0,
    steps: [{ answer: [{ type: 'text', text: 'Let me see what this repository holds.' }, { type: 'tool_use', name: 'bash', input: { command: 'ls' } }] }],
  };
  const scenarios = Object.values(DEMO_PROJECTS).flatMap((project) => {
    // Every script below starts at turn 1: turn 0 was the listing.
    const listed = (request: ScriptedRequest) => request.turn > 0 && request.mentions(project.marker);
    const of = (type: string) => (request: ScriptedRequest) => request.system.includes(`You are a ${type} agent`) && listed(request);
    return [
      turnByTurn(fixByReplacingScript(project.fix), { name: `${project.name} worker`, when: of('worker'), firstTurn: 1 }),
      turnByTurn(
        [
          [{ type: 'tool_use', name: 'str_replace_based_edit_tool', input: { command: 'view', path: project.fix.file } }],
          [{ type: 'text', text: `Request changes: one bug in ${project.fix.file}.\n${project.findings}` }],
        ],
        { name: `${project.name} reviewer`, when: of('reviewer'), firstTurn: 1 },
      ),
      turnByTurn(
        [
          [{ type: 'tool_use', name: 'bash', input: { command: project.fix.testCommand } }],
          (request) => {
            const run = request.lastToolResults.at(-1)?.content ?? '';
            const failed = run.includes('[exit code');
            return [{ type: 'text', text: failed ? `Failed: \`${project.fix.testCommand}\` exits with an error.\n\n\`\`\`\n${run}\n\`\`\`` : `Passed: \`${project.fix.testCommand}\`.` }];
          },
        ],
        { name: `${project.name} tester`, when: of('tester'), firstTurn: 1 },
      ),
    ];
  });
  return [look, ...scenarios];
}
