#!/usr/bin/env node
// `pnpm demo`: two Mosaic Federation instances on this machine. A hub and a spoke start on
// free loopback ports with embedded SQLite in a temporary directory, connect, and the hub
// asks the spoke (through the SDK) for worker agents that fix a failing test in two small
// local git repositories, a shell one and a JavaScript one. The progress and the results
// (outcome, checks, summary and patch) are printed, then both servers stop.
// `--keep-running` leaves them up.
//
// With ANTHROPIC_API_KEY set, Claude does the work; without it, a scripted model on
// loopback plays Claude's part, through the same SDK and tools.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values: flags } = parseArgs({
  options: { 'keep-running': { type: 'boolean' }, 'no-build': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
});
if (flags.help) {
  console.log('Usage: pnpm demo [--keep-running] [--no-build]\n\n  --keep-running  leave the hub and the spoke running and print their addresses\n  --no-build      use the packages as they were last built');
  process.exit(0);
}

const tty = process.stdout.isTTY === true;
const paint = (code) => (text) => (tty ? `\u001b[${code}m${text}\u001b[0m` : text);
const dim = paint('2');
const bold = paint('1');
const green = paint('32');
const red = paint('31');
const cyan = paint('36');
const say = (line = '') => console.log(line);

if (!flags['no-build']) build();

const { createAdminToken } = await import('@mosaic-fed/server');
const { createNodeOrchestrator, startServer } = await import('@mosaic-fed/node');
const { silentLogger } = await import('@mosaic-fed/core');
const { createDemoRepository, demoScenarios, startScriptedMessagesServer } = await import('@mosaic-fed/orchestrator/testing');
const { AdminClient } = await import('@mosaic-fed/sdk');

/** The networks the demo's instances may call besides public ones: they are all on this machine. */
const LOOPBACK = ['127.0.0.0/8'];
const work = mkdtempSync(join(tmpdir(), 'mosaic-fed-demo-'));
const cleanups = [];
let exitCode = 0;

try {
  say(bold('Mosaic Federation demo'));
  say(dim(`Working in ${work}`));

  let model;
  if (process.env.ANTHROPIC_API_KEY) {
    say('Claude does the work (ANTHROPIC_API_KEY is set).');
  } else {
    model = await startScriptedMessagesServer(demoScenarios());
    cleanups.push(() => model.close());
    say('No ANTHROPIC_API_KEY is set, so a scripted model on this machine plays Claude\'s part; set the key to use Claude.');
  }

  const agents = await createNodeOrchestrator({
    dataDir: join(work, 'spoke'),
    logger: silentLogger,
    allowFileRepositories: true,
    // Only on one's own machine: without Docker or bubblewrap, the demo's agent runs as a
    // child process with no isolation, and says so.
    allowUnsafeFallback: true,
    ...(model === undefined ? {} : { anthropic: { apiKey: 'scripted', baseURL: model.url } }),
  });
  cleanups.push(() => agents.close());
  say(`Agents run in the ${agents.description}.`);

  // Both instances are on this machine: loopback is among the networks they may call.
  const hub = await startServer({ port: 0, dataDir: join(work, 'hub'), name: 'Demo Hub', logger: silentLogger, allowNetworks: LOOPBACK });
  cleanups.push(() => hub.close());
  const spoke = await startServer({
    port: 0,
    dataDir: join(work, 'spoke'),
    name: 'Demo Spoke',
    logger: silentLogger,
    orchestrator: agents.orchestrator,
    health: [agents.sandboxHealth],
    autoAcceptUrls: [hub.url],
    allowNetworks: LOOPBACK,
    // The demo's repository is a folder on this machine.
    repositories: ['file://**'],
  });
  cleanups.push(() => spoke.close());
  const token = async (server) =>
    (await createAdminToken({ store: server.federation.stores.adminTokens, label: 'demo', actor: { type: 'cli', id: 'demo' } })).token;
  const hubToken = await token(hub);
  const spokeToken = await token(spoke);
  say(`${green('✔')} Hub   ${hub.url}`);
  say(`${green('✔')} Spoke ${spoke.url}`);

  const admin = new AdminClient({ url: hub.url, token: hubToken });
  const connection = await admin.connect(spoke.url);
  say(`${green('✔')} Connected: the spoke accepted the hub (${connection.status}, auto-accept list)`);

  // Two small repositories with a failing test each, in two languages.
  const tasks = [
    {
      repository: createDemoRepository(join(work, 'calc'), 'calc'),
      taskId: 'demo-fix-add',
      what: 'a shell script whose test fails',
      workItems: ['sh test.sh passes'],
      instructions: 'The test in test.sh fails. Find out why, fix the code (not the test), and run the test again.',
    },
    {
      repository: createDemoRepository(join(work, 'slug'), 'slug'),
      taskId: 'demo-fix-slugify',
      what: 'a JavaScript module whose test fails',
      workItems: ['node test.js passes'],
      instructions: 'The test in test.js fails. Find out why, fix slug.js (not the test), and run the test again.',
    },
  ];
  for (const task of tasks) {
    say();
    say(`${green('✔')} A repository with ${task.what}: ${dim(task.repository)}`);
    const status = await runWorker(admin, connection.id, task);
    if (status.status !== 'completed') exitCode = 1;
  }

  if (flags['keep-running']) {
    say();
    say(bold('Both instances keep running. Press Ctrl+C to stop them.'));
    say(`Hub   ${cyan(`${hub.url}/federation/`)}   sign in with ${hubToken}`);
    say(`Spoke ${cyan(`${spoke.url}/federation/`)}   sign in with ${spokeToken}`);
    say(`Or the API: curl -H "Authorization: Bearer ${hubToken}" ${hub.url}/api/v1/federation/agents`);
    await new Promise((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
  }
} catch (error) {
  exitCode = 1;
  console.error(`The demo stopped early: ${error instanceof Error ? error.message : String(error)}`);
} finally {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  rmSync(work, { recursive: true, force: true });
  say(dim('Stopped both instances and removed the temporary directory.'));
}
process.exit(exitCode);

/** Spawns a worker on the spoke, follows its events, and prints how it ended. */
async function runWorker(admin, connectionId, task) {
  const { agentId } = await admin.spawn({
    connectionId,
    payload: {
      taskId: task.taskId,
      agentType: 'worker',
      context: { repository: task.repository, branch: 'main', workItems: task.workItems, instructions: task.instructions },
      options: { timeout: 600_000 },
    },
  });
  say(`${green('✔')} Spawned a worker agent on the spoke: ${dim(agentId)}`);

  const spinner = startSpinner();
  for await (const event of admin.events(agentId)) {
    const detail = event.progress?.lastAction === undefined ? '' : dim(` (turn ${event.progress.turns}: ${event.progress.lastAction})`);
    spinner.line(`[${event.sequence}] ${event.status}${event.attempt > 1 ? ` (attempt ${event.attempt})` : ''}${detail}`);
    if (event.status === 'running') spinner.spin('the agent is working');
  }
  spinner.stop();

  const status = await admin.status(agentId);
  say();
  if (status.status !== 'completed') {
    say(`The agent ended ${status.status}${status.error ? `: ${status.error}` : ''}.`);
    return status;
  }
  const result = status.result ?? { summary: '' };
  say(`${bold('Summary')} ${dim(`(outcome: ${result.outcome ?? 'not given'})`)}`);
  say(result.summary);
  for (const check of result.checks ?? []) say(`${check.exitCode === 0 ? green('✔') : red('✘')} ${check.command} ${dim(`exited ${check.exitCode}`)}`);
  say();
  say(bold('Patch'));
  for (const line of (result.patch ?? '').trimEnd().split('\n')) {
    say(line.startsWith('+') && !line.startsWith('+++') ? green(line) : line.startsWith('-') && !line.startsWith('---') ? red(line) : line);
  }
  const usage = result.usage;
  if (usage !== undefined) {
    const cached = (usage.cacheReadInputTokens ?? 0) + (usage.cacheCreationInputTokens ?? 0);
    say(dim(`\n${usage.inputTokens + cached} input tokens (${usage.cacheReadInputTokens ?? 0} read from the prompt cache) and ${usage.outputTokens} output tokens`));
  }
  return status;
}

/** Builds the packages, showing the output only if the build fails. */
function build() {
  say(dim('Building the packages (about 30 seconds)…'));
  const pnpm = process.env.npm_execpath;
  const result = pnpm?.endsWith('.cjs') || pnpm?.endsWith('.js') || pnpm?.endsWith('.mjs')
    ? spawnSync(process.execPath, [pnpm, 'run', 'build'], { encoding: 'utf8' })
    : spawnSync('pnpm', ['run', 'build'], { encoding: 'utf8', shell: process.platform === 'win32' });
  if (result.status !== 0) {
    process.stdout.write(result.stdout ?? '');
    process.stderr.write(result.stderr ?? '');
    console.error('The build did not succeed; the output above says why.');
    process.exit(1);
  }
}

/** One line per status change; a spinner on the line below while the agent works (on a terminal). */
function startSpinner() {
  const frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
  let timer;
  let text = '';
  let frame = 0;
  const clear = () => tty && process.stdout.write('\r\u001b[2K');
  return {
    line(message) {
      clear();
      say(`${cyan('●')} ${message}`);
    },
    spin(message) {
      text = message;
      if (!tty || timer !== undefined) return;
      timer = setInterval(() => {
        clear();
        process.stdout.write(`${cyan(frames[frame++ % frames.length])} ${dim(text)}`);
      }, 80);
    },
    stop() {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
      clear();
    },
  };
}
