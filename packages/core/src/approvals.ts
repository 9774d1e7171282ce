// Which of an agent's commands wait for a person's approval (PROTOCOL 5, Approvals): the
// connection's `approvals.commands` patterns, matched against each step of a bash command.
// A guard that keeps a cooperating agent asking before it acts, not a security boundary:
// the sandbox and the egress proxy are what hold an agent that does not cooperate.

/** The pattern that stands for the programs that reach the network. */
export const NETWORK_PATTERN = '@network';

/**
 * What `@network` matches: programs that fetch or send, and the package managers' and
 * git's subcommands that do.
 */
const NETWORK_STEPS = [
  'curl',
  'wget',
  'ssh',
  'scp',
  'rsync',
  'nc',
  'ncat',
  'netcat',
  'telnet',
  'ftp',
  'sftp',
  'git clone',
  'git fetch',
  'git pull',
  'git push',
  'git ls-remote',
  'git submodule update',
  'npm install',
  'npm i',
  'npm ci',
  'npm add',
  'npm update',
  'npm publish',
  'npx',
  'pnpm install',
  'pnpm i',
  'pnpm add',
  'pnpm update',
  'pnpm dlx',
  'yarn install',
  'yarn add',
  'yarn dlx',
  'pip install',
  'pip3 install',
  'python -m pip install',
  'python3 -m pip install',
  'uv pip install',
  'uv add',
  'uv sync',
  'poetry install',
  'poetry add',
  'cargo install',
  'cargo fetch',
  'go get',
  'go install',
  'go mod download',
  'gem install',
  'bundle install',
  'composer install',
  'composer require',
  'apt-get',
  'apt',
  'apk add',
  'docker pull',
  'docker push',
];

// Where a command's steps end: `;`, `&&`, `||`, `|`, `&`, a new line, and command substitution.
const STEP_BOUNDARY = /&&|\|\||[;|&\n]|\$\(|`|\(|\)/;
// What may stand before the program of a step without changing which program it is.
const PREFIX = /^(?:(?:sudo|env|command|exec|time|nohup)\s+|[A-Za-z_][A-Za-z0-9_]*=\S*\s+)+/;

function escapeRegExp(text: string): string {
  return text.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
}

/** A step matches a pattern when it starts with the pattern's words; `*` stands for any text. */
function stepPattern(pattern: string): RegExp {
  const words = pattern.trim().split(/\s+/).map((word) => escapeRegExp(word).replaceAll('*', '.*'));
  return new RegExp(`^${words.join('\\s+')}(?:\\s|$)`);
}

/** The steps of a shell command, each without the prefixes that do not change its program. */
function stepsOf(command: string): string[] {
  return command
    .split(STEP_BOUNDARY)
    .map((step) => step.trim().replace(PREFIX, '').trim())
    .filter((step) => step !== '');
}

/**
 * The pattern of the rules that makes this bash command wait for approval, or `undefined`
 * when none does. `@network` stands for the commands that reach the network.
 *
 * @example
 * ```ts
 * commandNeedsApproval('cd app && npm install left-pad', ['@network']); // '@network'
 * commandNeedsApproval('npm test', ['git push', '@network']);           // undefined
 * ```
 */
export function commandNeedsApproval(command: string, patterns: readonly string[]): string | undefined {
  if (patterns.length === 0) return undefined;
  const steps = stepsOf(command);
  for (const pattern of patterns) {
    const matchers = (pattern === NETWORK_PATTERN ? NETWORK_STEPS : [pattern]).map(stepPattern);
    if (steps.some((step) => matchers.some((matcher) => matcher.test(step)))) return pattern;
  }
  return undefined;
}
