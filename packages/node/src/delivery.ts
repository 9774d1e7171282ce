// Delivery on Node (docs/protocol.md, "Delivery"): the hub takes an agent's checked bundle
// into a scratch repository beside the branch it started from, pushes the agent's branch
// to the repository with this instance's own git credentials (never forced), and opens a
// pull request through the forge's REST API (GitHub's, and Gitea's and Forgejo's, which
// take the same call). Every connection, git's and the API's, goes where the outbound
// policy allows only.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { OpenedPullRequest } from '@mosaic-fed/core';
import { GitRemoteRefusal, redactCredentials, type GitCredentialSource, type GitRemotes } from '@mosaic-fed/orchestrator/node';
import type { BranchDeliverer, BranchDelivery } from '@mosaic-fed/server';

const run = promisify(execFile);

/** The REST API of each forge by repository host (`host` or `host:port`, lower case). */
export type ForgeApis = Readonly<Record<string, string>>;

/** github.com's API, known without configuration. */
export const DEFAULT_FORGE_APIS: ForgeApis = { 'github.com': 'https://api.github.com' };

export interface GitBranchDelivererOptions {
  /** Where git may connect, with this instance's credentials (the same ones its clones use). */
  remotes: GitRemotes;
  /** The credentials, for the forge's API: a host's password is its API token too. */
  credentials: GitCredentialSource;
  /** Forge APIs by host, beside {@link DEFAULT_FORGE_APIS} (a Gitea or Forgejo: `https://host/api/v1`). */
  forges?: ForgeApis | undefined;
  /** The `fetch` for forge APIs: one that keeps to the outbound policy. */
  fetch: typeof fetch;
  /** Where scratch repositories are made. Default the system's temp directory. */
  root?: string | undefined;
}

export class GitBranchDeliverer implements BranchDeliverer {
  readonly #o: GitBranchDelivererOptions;
  readonly #forges: ForgeApis;

  constructor(options: GitBranchDelivererOptions) {
    this.#o = options;
    this.#forges = { ...DEFAULT_FORGE_APIS, ...options.forges };
  }

  async deliver(delivery: BranchDelivery): Promise<{ commit: string; pullRequest?: OpenedPullRequest | undefined }> {
    const where = redactCredentials(delivery.repository);
    const target = await this.#o.remotes.target(delivery.repository).catch((error: unknown) => {
      throw new Error(error instanceof GitRemoteRefusal ? `${where} cannot be reached from here: ${error.message}` : `${where} cannot be reached from here`);
    });
    const dir = await mkdtemp(join(this.#o.root ?? tmpdir(), 'mosaic-delivery-'));
    // git on the scratch repository; with `remote`, keeping to the checked target.
    const git = async (what: string, args: string[], remote = false) => {
      try {
        const env = { ...process.env, ...(remote ? target.env : {}), GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' };
        return (await run('git', ['-C', dir, ...(remote ? target.config : []), ...args], { env })).stdout.trim();
      } catch (error) {
        const said = redactCredentials(String((error as { stderr?: unknown }).stderr ?? '')).trim().split('\n').filter((line) => line.trim() !== '' && !line.startsWith('hint:'));
        throw new Error(`could not ${what}${said.length === 0 ? '' : `: ${said.slice(-2).join(' ')}`}`, { cause: error });
      }
    };
    try {
      await git('make a scratch repository', ['init', '--quiet', '--bare']);
      // The bundle's prerequisite, the commit the agent started from, is on its branch.
      await git(`fetch ${delivery.baseBranch} from ${where}`, ['fetch', '--quiet', '--no-tags', '--', target.url, `+refs/heads/${delivery.baseBranch}:refs/base`], true);
      const file = join(dir, 'agent.bundle');
      await writeFile(file, delivery.bundle);
      const fromBundle = ['-c', 'transfer.fsckObjects=true', 'fetch', '--quiet', '--no-tags', file, `+refs/heads/${delivery.ref.branch}:refs/delivery`];
      await git("take the agent's commits from its bundle", fromBundle);
      const commit = await git("read the agent's last commit", ['rev-parse', 'refs/delivery']);
      // Never forced: a branch that moved elsewhere is not overwritten.
      await git(`push ${delivery.branch} to ${where}`, ['push', '--quiet', '--', target.url, `refs/delivery:refs/heads/${delivery.branch}`], true);
      if (delivery.pullRequest === undefined) return { commit };
      return { commit, pullRequest: await this.#openPullRequest(delivery, delivery.pullRequest) };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** POST /repos/{owner}/{repo}/pulls on the repository's forge. */
  async #openPullRequest(delivery: BranchDelivery, pullRequest: NonNullable<BranchDelivery['pullRequest']>): Promise<OpenedPullRequest> {
    const { host, owner, repo } = forgeRepositoryOf(delivery.repository);
    const api = this.#forges[host];
    if (api === undefined) throw new Error(`the branch is pushed, but no forge API is set for ${host} (MOSAIC_FED_FORGES), so no pull request was opened`);
    const credential = await this.#o.credentials.forHost(host);
    if (credential === undefined) throw new Error(`the branch is pushed, but there is no git credential for ${host} to open the pull request with`);
    const { Octokit } = await import('@octokit/core');
    const octokit = new Octokit({ auth: credential.password, baseUrl: api, request: { fetch: this.#o.fetch } });
    try {
      const { data } = await octokit.request('POST /repos/{owner}/{repo}/pulls', {
        owner,
        repo,
        head: delivery.branch,
        base: pullRequest.base,
        title: pullRequest.title,
        body: pullRequest.body,
      });
      return { number: data.number, url: data.html_url };
    } catch (error) {
      const status = (error as { status?: unknown }).status;
      throw new Error(`the branch is pushed, but ${host} did not open the pull request${typeof status === 'number' ? ` (HTTP ${status})` : ''}`, { cause: error });
    }
  }
}

/** The forge host and the owner and name of a repository, from its URL, host/path or scp-like address. */
export function forgeRepositoryOf(repository: string): { host: string; owner: string; repo: string } {
  const scp = /^[^/@:\s]+@([^/:\s]+):(.*)$/.exec(repository);
  let host: string;
  let path: string;
  if (scp !== null) {
    host = scp[1] ?? '';
    path = scp[2] ?? '';
  } else {
    const url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(repository) ? repository : `https://${repository}`);
    host = url.host;
    path = url.pathname;
  }
  const segments = path.replace(/\.git\/?$/, '').split('/').filter((segment) => segment !== '');
  const [owner, repo] = segments.slice(-2);
  if (owner === undefined || repo === undefined) throw new Error(`${redactCredentials(repository)} names no owner and repository for a pull request`);
  return { host: host.toLowerCase(), owner, repo };
}
