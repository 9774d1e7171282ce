// Starts an example server under a runtime binary and waits for its "listening" line.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface RuntimeServer {
  url: string;
  runtime: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

export async function startRuntimeServer(command: string, args: string[], cwd: string, env: Record<string, string>): Promise<RuntimeServer> {
  const child = spawn(command, args, { cwd, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const ready = await new Promise<{ url: string; runtime: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "listening" line within 30 s; stderr: ${stderr}`)), 30_000);
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      if (!line.startsWith('{')) return;
      const parsed = JSON.parse(line) as { msg?: string; url: string; runtime: string };
      if (parsed.msg === 'listening') {
        clearTimeout(timer);
        resolve(parsed);
      }
    });
    void exited.then((code) => reject(new Error(`${command} exited with ${code}; stderr: ${stderr}`)));
  });
  return {
    ...ready,
    child,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
