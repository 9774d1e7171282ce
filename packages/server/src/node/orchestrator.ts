// The orchestrator a Node instance runs agents with: an orchestrator service reached
// over HTTP when one is configured, otherwise one in this process, with Docker sandboxes
// when an engine answers and the process sandbox when none does.
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { createClient } from '@libsql/client';
import type { Logger, OrchestratorAdapter } from '@mosaic-fed/core';
import { HttpOrchestrator, LocalOrchestrator } from '@mosaic-fed/orchestrator';
import { createClaudeRunners } from '@mosaic-fed/orchestrator/anthropic';
import { DockerSandboxProvider } from '@mosaic-fed/orchestrator/docker';
import { createLibsqlAgentStateStore } from '@mosaic-fed/orchestrator/libsql';
import { GitWorkspaceProvider, ProcessSandboxProvider } from '@mosaic-fed/orchestrator/node';

export const ORCHESTRATOR_DATABASE_FILE = 'orchestrator.db';
export const DEFAULT_SANDBOX_IMAGE = 'mosaic-fed-sandbox:latest';

/** How a Node instance runs agents. */
export interface NodeOrchestratorOptions {
  /** An orchestrator service (PROTOCOL 7); with it, agents run there and nothing below applies. */
  serviceUrl?: string;
  /** The service's shared bearer token. */
  serviceToken?: string;
  /** Keeps agent state (`orchestrator.db`). */
  dataDir: string;
  /** `docker`, `process`, or `auto` (Docker when an engine answers with the image). Default `auto`. */
  sandbox?: 'auto' | 'docker' | 'process';
  /** The image Docker sandboxes run. Default `mosaic-fed-sandbox:latest`. */
  sandboxImage?: string;
  /** Agents running at once. Default 4. */
  maxConcurrentAgents?: number;
  /** Allow `file://` repositories (local demos). Default false. */
  allowFileRepositories?: boolean;
  /** Anthropic settings; each falls back to the SDK's environment variables. */
  anthropic?: { apiKey?: string; baseURL?: string; model?: string };
  logger: Logger;
}

/** The orchestrator, what it runs on in words, and how to release it. */
export interface NodeOrchestrator {
  orchestrator: OrchestratorAdapter;
  /** For the start-up log and the demo: `orchestrator service at ...`, `docker sandbox`, `process sandbox`. */
  description: string;
  close(): Promise<void>;
}

/**
 * Builds the orchestrator a `mosaic-fed serve` or `mosaic-fed orchestrator` runs agents with.
 *
 * @example
 * ```ts
 * const { orchestrator, close } = await createNodeOrchestrator({ dataDir: './data', logger });
 * const server = await startServer({ dataDir: './data', orchestrator });
 * ```
 */
export async function createNodeOrchestrator(options: NodeOrchestratorOptions): Promise<NodeOrchestrator> {
  const { logger } = options;
  if (options.serviceUrl !== undefined) {
    if (options.serviceToken === undefined) throw new TypeError('an orchestrator service URL needs its token as well');
    return {
      orchestrator: new HttpOrchestrator({ url: options.serviceUrl, token: options.serviceToken }),
      description: `orchestrator service at ${options.serviceUrl}`,
      close: async () => undefined,
    };
  }
  const sandboxes = await chooseSandbox(options);
  await mkdir(options.dataDir, { recursive: true, mode: 0o700 });
  const client = createClient({ url: `file:${resolve(options.dataDir, ORCHESTRATOR_DATABASE_FILE)}` });
  const anthropic = options.anthropic ?? {};
  const apiKey = anthropic.apiKey ?? process.env.ANTHROPIC_API_KEY;
  if (apiKey === undefined && anthropic.baseURL === undefined && process.env.ANTHROPIC_BASE_URL === undefined) {
    logger.warn('ANTHROPIC_API_KEY is not set: agents will fail until it is');
  }
  const orchestrator = new LocalOrchestrator({
    state: await createLibsqlAgentStateStore(client),
    sandboxes: sandboxes.provider,
    workspaces: new GitWorkspaceProvider({ allowFileUrls: options.allowFileRepositories === true }),
    runners: createClaudeRunners({
      ...(apiKey === undefined ? {} : { apiKey }),
      ...(anthropic.baseURL === undefined ? {} : { baseURL: anthropic.baseURL }),
      ...(anthropic.model === undefined ? {} : { model: anthropic.model }),
    }),
    ...(options.maxConcurrentAgents === undefined ? {} : { maxConcurrentAgents: options.maxConcurrentAgents }),
    logger,
  });
  await orchestrator.start();
  logger.info('agents run in this process', { sandbox: sandboxes.description });
  return {
    orchestrator,
    description: sandboxes.description,
    close: async () => {
      await orchestrator.close();
      client.close();
    },
  };
}

async function chooseSandbox(options: NodeOrchestratorOptions) {
  const choice = options.sandbox ?? 'auto';
  const image = options.sandboxImage ?? DEFAULT_SANDBOX_IMAGE;
  if (choice !== 'process') {
    const docker = new DockerSandboxProvider({ image, logger: options.logger });
    const ready = await docker.available();
    if (ready) return { provider: docker, description: `docker sandbox (${image})` };
    if (choice === 'docker') throw new TypeError(`no Docker API answers with the image ${image}; check DOCKER_HOST and the image`);
  }
  return { provider: new ProcessSandboxProvider({ logger: options.logger }), description: 'process sandbox (weaker isolation)' };
}
