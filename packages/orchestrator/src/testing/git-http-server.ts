// A git smart-HTTP server for tests and examples: git's own `http-backend` as CGI behind a
// Node HTTP server on loopback, recording what reached it.
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A request the git server saw: its Host header, path and Authorization header. */
export interface GitHttpRequest {
  host: string;
  path: string;
  authorization: string | undefined;
}

/** The only credential the git server takes, for paths under `/private/`. */
export const GIT_SERVER_CREDENTIAL = { username: 'spoke-bot', password: 'tok3n-0f-the-sp0ke' };

/**
 * A git smart-HTTP server on loopback (git's own `http-backend` as CGI) serving the
 * repositories under `root`; a path under `/moved/` answers with a redirect to the same
 * path without it, to prove redirects are not followed; one under `/private/` needs
 * {@link GIT_SERVER_CREDENTIAL} (HTTP Basic), and takes pushes.
 */
export async function startGitHttpServer(root: string): Promise<{ port: number; requests: GitHttpRequest[]; close(): Promise<void> }> {
  const requests: GitHttpRequest[] = [];
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://git.invalid');
    requests.push({ host: request.headers.host ?? '', path: url.pathname, authorization: request.headers.authorization });
    if (url.pathname.startsWith('/moved/')) {
      response.writeHead(302, { location: url.pathname.slice('/moved'.length) + url.search });
      response.end();
      return;
    }
    let path = url.pathname;
    let user = '';
    if (path.startsWith('/private/')) {
      const expected = `Basic ${Buffer.from(`${GIT_SERVER_CREDENTIAL.username}:${GIT_SERVER_CREDENTIAL.password}`).toString('base64')}`;
      if (request.headers.authorization !== expected) {
        response.writeHead(401, { 'WWW-Authenticate': 'Basic realm="git"' });
        response.end();
        return;
      }
      path = path.slice('/private'.length);
      // http-backend takes pushes from an authenticated user only.
      user = GIT_SERVER_CREDENTIAL.username;
    }
    const cgi = spawn('git', ['http-backend'], {
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        GIT_PROJECT_ROOT: root,
        GIT_HTTP_EXPORT_ALL: '1',
        PATH_INFO: path,
        QUERY_STRING: url.search.slice(1),
        REQUEST_METHOD: request.method ?? 'GET',
        CONTENT_TYPE: request.headers['content-type'] ?? '',
        HTTP_CONTENT_ENCODING: String(request.headers['content-encoding'] ?? ''),
        GIT_PROTOCOL: String(request.headers['git-protocol'] ?? ''),
        REMOTE_ADDR: '127.0.0.1',
        ...(user === '' ? {} : { REMOTE_USER: user }),
      },
    });
    request.pipe(cgi.stdin);
    const chunks: Buffer[] = [];
    cgi.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    cgi.on('close', () => {
      const output = Buffer.concat(chunks);
      const end = output.indexOf('\r\n\r\n');
      const head = output.subarray(0, end).toString('latin1').split('\r\n');
      const headers: Record<string, string> = {};
      let status = 200;
      for (const line of head) {
        const colon = line.indexOf(':');
        const name = line.slice(0, colon).trim();
        const value = line.slice(colon + 1).trim();
        if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10);
        else if (name !== '') headers[name] = value;
      }
      response.writeHead(status, headers);
      response.end(output.subarray(end + 4));
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return {
    port: (server.address() as AddressInfo).port,
    requests,
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}
