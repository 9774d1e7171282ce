// Starts an example's process (a runtime binary, or node with the mosaic-fed executable)
// and waits for its ready line: a JSON log line whose `msg` is `ready`. While coverage is
// measured, a Node process writes its own.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { coverageEnv } from '../../test/coverage-provider/children.js';

export interface RuntimeServer {
  url: string;
  runtime: string;
  /** Every JSON line the process printed. */
  lines: Record<string, unknown>[];
  child: ChildProcess;
  stop(): Promise<void>;
}

export async function startRuntimeServer(
  command: string,
  args: string[],
  cwd: string,
  env: Record<string, string>,
  ready = 'listening',
): Promise<RuntimeServer> {
  const child = spawn(command, args, { cwd, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...coverageEnv(), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const lines: Record<string, unknown>[] = [];
  const found = await new Promise<{ url: string; runtime: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "${ready}" line within 30 s; stderr: ${stderr}`)), 30_000);
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      if (!line.startsWith('{')) return;
      const parsed = JSON.parse(line) as { msg?: string; url: string; runtime: string };
      lines.push(parsed);
      if (parsed.msg === ready) {
        clearTimeout(timer);
        resolve(parsed);
      }
    });
    void exited.then((code) => reject(new Error(`${command} exited with ${code}; stderr: ${stderr}`)));
  });
  return {
    ...found,
    lines,
    child,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
