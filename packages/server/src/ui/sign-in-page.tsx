// The sign-in page of the web UI.
import { Layout } from './layout.js';

export function SignInPage(props: { guard: string; note?: string | undefined }) {
  return (
    <Layout title="Sign in">
      <h1>Sign in</h1>
      <p>Paste your token: an admin's looks after the instance's settings, connections and agents; a user's, after the agents of their workspaces.</p>
      <form method="post" action="/federation/sign-in">
        <input type="hidden" name="guard" value={props.guard} />
        <label for="token">Your token</label>
        <input id="token" name="token" type="password" autocomplete="current-password" aria-describedby="token-help token-note" />
        <p id="token-help" class="help">
          <code>mosaic-fed token create</code> prints an admin's on the machine that runs the instance; an admin gives each user theirs.
        </p>
        {props.note === undefined ? null : (
          <p id="token-note" class="note" role="status">
            {props.note}
          </p>
        )}
        <button type="submit">Sign in</button>
      </form>
    </Layout>
  );
}
