// How a sandbox without a network reaches its egress gate (egress/index.ts): socat (from
// Debian's package, on the host) listens on the sandbox's own loopback and hands each
// connection to the gate's unix socket. The sandbox's tools find it through the usual
// proxy variables; nothing else leaves the sandbox, for it has no other route.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

/** Where the proxy answers inside a sandbox: its own loopback, this port. */
export const SANDBOX_PROXY_PORT = 3128;

/** What a sandbox needs of its gate: the host socket to hand connections to. */
export interface SandboxEgress {
  readonly socketPath: string;
}

/**
 * The environment that points a sandbox's tools (npm, pip, git, curl) at the proxy, in
 * both spellings; the sandbox's own loopback stays direct, for the servers its tests start.
 */
export function egressEnvironment(): Record<string, string> {
  const proxy = `http://127.0.0.1:${SANDBOX_PROXY_PORT}`;
  const direct = 'localhost,127.0.0.1,::1';
  return { HTTP_PROXY: proxy, HTTPS_PROXY: proxy, http_proxy: proxy, https_proxy: proxy, NO_PROXY: direct, no_proxy: direct };
}

/** socat's arguments: listen on the sandbox's loopback, hand each connection to `socketPath`. */
export function forwarderArgs(socketPath: string): string[] {
  return [`TCP-LISTEN:${SANDBOX_PROXY_PORT},bind=127.0.0.1,fork,reuseaddr`, `UNIX-CONNECT:${socketPath}`];
}

/** `/proc/net/tcp`'s spelling of a socket listening on 127.0.0.1 at the proxy port. */
const LISTENING = `0100007F:${SANDBOX_PROXY_PORT.toString(16).toUpperCase().padStart(4, '0')} 00000000:0000 0A`;

/**
 * A shell prelude, for a sandbox that runs each command afresh (bubblewrap): starts the
 * forwarder in the background and waits, at most two seconds, until it listens.
 */
export function forwarderPrelude(socketPath: string): string {
  const args = forwarderArgs(socketPath).map((arg) => `'${arg}'`).join(' ');
  return `socat ${args} </dev/null >/dev/null 2>&1 & i=0; while ! grep -q '${LISTENING}' /proc/net/tcp 2>/dev/null && [ $i -lt 200 ]; do sleep 0.01; i=$((i+1)); done; `;
}

/**
 * Starts the forwarder in the network namespace of the process `pid` (a container's first
 * process), from the host: `nsenter --net` then socat. Resolves once it listens.
 */
export async function startForwarderIn(pid: number, egress: SandboxEgress): Promise<ChildProcess> {
  const child = spawn('nsenter', [`--target=${pid}`, '--net', '--', 'socat', ...forwarderArgs(egress.socketPath)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new Error(`the sandbox's egress forwarder stopped (${code ?? 'signal'}): ${stderr.trim().slice(0, 500)}`))),
  );
  const spawned = new Promise<never>((_, reject) => child.once('error', reject));
  const listening = (async () => {
    for (let i = 0; i < 500; i++) {
      const table = await readFile(`/proc/${pid}/net/tcp`, 'utf8').catch(() => '');
      if (table.includes(LISTENING)) return;
      await sleep(10);
    }
    throw new Error("the sandbox's egress forwarder did not start listening");
  })();
  try {
    await Promise.race([listening, exited, spawned]);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  exited.catch(() => undefined);
  return child;
}

let forwarderChecked: Promise<boolean> | undefined;

/** Whether socat runs on this host; asked once. */
export function forwarderAvailable(): Promise<boolean> {
  forwarderChecked ??= new Promise((resolve) => {
    const child = spawn('socat', ['-V'], { stdio: 'ignore' });
    child.once('error', () => resolve(false));
    child.once('exit', (code) => resolve(code === 0));
  });
  return forwarderChecked;
}
