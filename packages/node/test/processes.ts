// Real processes for the server's tests: the built `mosaic-fed` executable started as a
// self-hoster would, and a round-robin load balancer in front of replicas.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { Agent, fetch as undiciFetch } from 'undici';
import { coverageEnv } from '../../../test/coverage-provider/children.js';

export const BIN = new URL('../dist/bin.js', import.meta.url).pathname;

function requireBuild() {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run \`pnpm build\` before these tests`);
}

/**
 * A clean environment: nothing configures the server but what a test passes, and
 * loopback, where every test peer lives, among the networks it may call. While coverage
 * is measured, the process writes its own.
 */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, MOSAIC_FED_ALLOW_NETWORKS: '127.0.0.0/8', ...coverageEnv(), ...extra };
}

export interface Served {
  child: ChildProcess;
  lines: Record<string, unknown>[];
  /** The log line the process was started up to. */
  listening: { url: string; port: number; instanceId: string };
  exited: Promise<number | null>;
}

const running: ChildProcess[] = [];

/**
 * Stops every process started by {@link startCli} that is still running: SIGTERM, as a
 * service manager would, so that each exits on its own path (and writes its coverage
 * while coverage is measured), and SIGKILL for any still running 5 seconds later.
 */
export async function killStarted(): Promise<void> {
  const left = running.splice(0).filter((child) => child.exitCode === null && child.signalCode === null);
  await Promise.all(
    left.map(async (child) => {
      const exited = new Promise<void>((done) => child.once('exit', () => done()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }),
  );
}

/** Starts a long-running `mosaic-fed` command; resolves at the log line `ready`. */
export async function startCli(args: string[], cwd: string, env: Record<string, string>, ready: string): Promise<Served> {
  requireBuild();
  const child = spawn(process.execPath, [BIN, ...args], { cwd, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  running.push(child);
  const lines: Record<string, unknown>[] = [];
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  const listening = await new Promise<Served['listening']>((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`no "${ready}" line within 20 s; stderr: ${stderr}`)), 20_000);
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      const parsed = JSON.parse(line) as Record<string, unknown>;
      lines.push(parsed);
      if (parsed.msg === ready) {
        clearTimeout(timer);
        done(parsed as unknown as Served['listening']);
      }
    });
    void exited.then((code) => fail(new Error(`exited with ${code} before "${ready}"; stderr: ${stderr}`)));
  });
  return { child, lines, listening, exited };
}

/** Runs a short `mosaic-fed` command to its end. */
// runCli blocks this process (spawnSync) for as long as the command runs: a connection
// kept alive from an earlier request may be closed by the server meanwhile, unnoticed
// here, and the next request would go out on it and fail ("other side closed").
const oneRequestPerConnection = new Agent({ pipelining: 0 });

/** `fetch` on a connection of its own, for requests between `runCli` calls. */
export function fetchOnce(url: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Response> {
  return undiciFetch(url, { ...init, dispatcher: oneRequestPerConnection }) as unknown as Promise<Response>;
}

export function runCli(args: string[], cwd: string, env: Record<string, string> = {}) {
  requireBuild();
  return spawnSync(process.execPath, [BIN, ...args], { cwd, env: cleanEnv(env), encoding: 'utf8', timeout: 20_000 });
}

export async function stopProcess(served: Served, signal: NodeJS.Signals): Promise<number | null> {
  served.child.kill(signal);
  return served.exited;
}

/** A loopback port nothing listens on now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createNetServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** A load balancer on a loopback port: each request goes to the next target in turn. */
export async function startRoundRobin(targets: () => readonly string[]): Promise<{ url: string; port: number; close(): Promise<void> }> {
  let next = 0;
  const server = createServer((incoming: IncomingMessage, outgoing: ServerResponse) => {
    const list = targets();
    const target = new URL(incoming.url ?? '/', list[next++ % list.length]);
    const forward = httpRequest(target, { method: incoming.method, headers: { ...incoming.headers, host: target.host } }, (answer) => {
      outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(outgoing);
    });
    forward.on('error', () => {
      if (!outgoing.headersSent) outgoing.writeHead(502, { 'Content-Type': 'application/json' });
      outgoing.end(JSON.stringify({ success: false, error: 'the replica cannot be reached', code: 'ORCHESTRATOR_UNAVAILABLE' }));
    });
    incoming.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
