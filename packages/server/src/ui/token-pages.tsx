// The admin tokens page of the web UI: every token with its label and times, and a revoke
// behind a confirmation. Tokens are made with `mosaic-fed token create`, which prints one
// once; the page never shows a token or its hash.
import type { AdminToken } from '@mosaic-fed/core';
import { utcTime } from '../lib/times.js';
import { Badge, ConfirmButton, DIALOG_SCRIPT, Layout, type BadgeTone } from './layout.js';

/** A time as a person reads it, to the minute, in UTC. */
const when = (at: string | null, none: string) => (at === null ? none : `${utcTime(at)} UTC`);

/** A token's state: a badge word, and what it leaves out. */
function stateOf(token: AdminToken, now: Date): { word: string; tone: BadgeTone; detail: string } {
  if (token.revokedAt !== null) return { word: 'revoked', tone: 'quiet', detail: ` ${when(token.revokedAt, '')}` };
  if (token.expiresAt !== null && Date.parse(token.expiresAt) <= now.getTime()) return { word: 'expired', tone: 'quiet', detail: ` ${when(token.expiresAt, '')}` };
  return { word: 'in use', tone: 'good', detail: token.expiresAt === null ? ', does not expire' : ` until ${when(token.expiresAt, '')}` };
}

export function TokensPage(props: { tokens: AdminToken[]; now: Date; csrf: string; flash?: string | undefined }) {
  const live = (token: AdminToken) => token.revokedAt === null && (token.expiresAt === null || Date.parse(token.expiresAt) > props.now.getTime());
  return (
    <Layout title="Admin tokens" signedIn csrf={props.csrf}>
      <h1>Admin tokens</h1>
      {props.flash === undefined ? null : <p class="flash" role="status">{props.flash}</p>}
      <p>
        Each token signs an app, a script or a person in: as an admin of this instance, or as one of its users. A new one comes from{' '}
        <code>mosaic-fed token create --label "what it is for"</code> (with <code>--user</code>, a user's), which shows it once.
      </p>
      <table class="stack">
        <thead>
          <tr>
            <th scope="col">Label</th>
            <th scope="col">Made</th>
            <th scope="col">Last used</th>
            <th scope="col">State</th>
            <th scope="col">What you can do</th>
          </tr>
        </thead>
        <tbody>
          {props.tokens.map((token) => {
            const state = stateOf(token, props.now);
            return (
              <tr data-token={token.id}>
                <td data-label="Label">
                  {token.label}
                  <br />
                  <span class="quiet">
                    {token.userId === undefined ? 'an admin' : `user ${token.userId}`}, id <code>{token.id}</code>
                  </span>
                </td>
                <td data-label="Made">{when(token.createdAt, '')}</td>
                <td data-label="Last used">{when(token.lastUsedAt, 'not yet')}</td>
                <td data-label="State">
                  <Badge tone={state.tone}>{state.word}</Badge>
                  {state.detail}
                </td>
                <td data-label="What you can do">
                  {live(token) ? (
                    <ConfirmButton
                      id={`revoke-${token.id}`}
                      label="Revoke…"
                      title={`Revoke “${token.label}”?`}
                      action={`/federation/tokens/${token.id}/revoke`}
                      submit="Revoke the token"
                      keep="Keep it"
                      csrf={props.csrf}
                    >
                      <p>Whatever uses it is signed out at once, on every replica, and cannot sign in with it again.</p>
                    </ConfirmButton>
                  ) : (
                    <span class="quiet">nothing: it no longer signs anyone in</span>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <script dangerouslySetInnerHTML={{ __html: DIALOG_SCRIPT }} />
    </Layout>
  );
}
