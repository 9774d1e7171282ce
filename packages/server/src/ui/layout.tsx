// The web UI's pages, rendered on the server with hono/jsx. The wording is calm and
// invitational: it says what is possible and what the person can do next.
// This file: the frame every page shares, and the message page.
import { createContext, useContext, type Child } from 'hono/jsx';
import { STYLES } from './styles.js';

/** The tones of a badge: what the word says, colour only repeats (the page reads the same without it). */
export type BadgeTone = 'good' | 'busy' | 'bad' | 'quiet';

/** A short state word in a frame: the UI's one way to show a state. */
export function Badge(props: { tone: BadgeTone; children: Child }) {
  return (
    <span class="badge" data-tone={props.tone}>
      {props.children}
    </span>
  );
}

/** The user (and workspace) a peer acted for, as a person reads it: `user bob in workspace w2`. */
export function actorInWords(actor: { userId: string; workspaceId?: string | undefined }): string {
  return actor.workspaceId === undefined ? `user ${actor.userId}` : `user ${actor.userId} in workspace ${actor.workspaceId}`;
}

/** What the navigation of the page being rendered shows beside its links. */
export const NavigationContext = createContext<{
  pendingRequests: number;
  /** Agents sent from here that wait for an answer (PROTOCOL 5, Approvals), of those the person sees. */
  awaitingAnswers?: number;
  /** A user's session: their name; an admin's: none. */
  user?: string;
}>({ pendingRequests: 0 });

/** The agents link of the navigation, with how many of them wait for an answer. */
function AgentsLink(props: { awaiting: number }) {
  return (
    <a href={props.awaiting === 0 ? '/federation/agents' : '/federation/agents?status=waiting'}>
      Agents
      {props.awaiting === 0 ? null : (
        <>
          {' '}
          <span id="awaiting-count" class="badge" data-tone="busy">
            {props.awaiting} {props.awaiting === 1 ? 'asks' : 'ask'} you
          </span>
        </>
      )}
    </a>
  );
}

/** Messages next to form fields, by field name. */
export type FieldNotes = Partial<Record<string, string>>;

export function Layout(props: { title: string; children: Child; csrf?: string | undefined; signedIn?: boolean }) {
  const { pendingRequests, awaitingAnswers = 0, user } = useContext(NavigationContext);
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${props.title} · Mosaic Federation`}</title>
        <style dangerouslySetInnerHTML={{ __html: STYLES }} />
      </head>
      <body>
        <a class="skip" href="#main">Skip to the content</a>
        <header>
          <p class="brand">Mosaic Federation</p>
          {props.signedIn === true && user !== undefined ? (
            <nav aria-label="Sections">
              <AgentsLink awaiting={awaitingAnswers} />
              <a href="/federation/workspaces">Your workspaces</a>
              <span class="quiet">Signed in as {user}</span>
              <form method="post" action="/federation/sign-out" class="inline">
                <input type="hidden" name="csrf" value={props.csrf ?? ''} />
                <button type="submit" class="quiet">Sign out</button>
              </form>
            </nav>
          ) : props.signedIn === true ? (
            <nav aria-label="Sections">
              <a href="/federation/home">Home</a>
              <a href="/federation/settings">Settings</a>
              <a href="/federation/connections">
                Connections
                {pendingRequests === 0 ? null : (
                  <>
                    {' '}
                    <span id="pending-count" class="badge" data-tone="busy">
                      {pendingRequests} waiting
                    </span>
                  </>
                )}
              </a>
              <AgentsLink awaiting={awaitingAnswers} />
              <a href="/federation/people">People</a>
              <a href="/federation/tokens">Tokens</a>
              <a href="/federation/a2a-clients">A2A</a>
              <a href="/federation/audit">Audit log</a>
              <form method="post" action="/federation/sign-out" class="inline">
                <input type="hidden" name="csrf" value={props.csrf ?? ''} />
                <button type="submit" class="quiet">Sign out</button>
              </form>
            </nav>
          ) : null}
        </header>
        <main id="main">{props.children}</main>
      </body>
    </html>
  );
}

export function MessagePage(props: { title: string; message: string; signedIn?: boolean; csrf?: string | undefined }) {
  return (
    <Layout title={props.title} signedIn={props.signedIn ?? false} csrf={props.csrf}>
      <h1>{props.title}</h1>
      <p>{props.message}</p>
      <p>
        <a href="/federation/home">Go to the home page</a>
      </p>
    </Layout>
  );
}

/** What a form could not use of one field, beside it (`id` `<field>-note`, for `aria-describedby`). */
export function Note(props: { field: string; notes: FieldNotes }) {
  const note = props.notes[props.field];
  return note === undefined ? null : (
    <p id={`${props.field}-note`} class="note">
      {note}
    </p>
  );
}

/**
 * A button that asks first: a dialog says what will happen (`children`), then a form
 * posts to `action`, or the person keeps things as they are.
 */
export function ConfirmButton(props: { id: string; label: string; title: string; action: string; submit: string; keep: string; csrf: string; children: Child }) {
  return (
    <>
      <button type="button" class="quiet" data-open-dialog={props.id}>
        {props.label}
      </button>
      <dialog id={props.id} aria-labelledby={`${props.id}-title`}>
        <form method="post" action={props.action}>
          <h2 id={`${props.id}-title`}>{props.title}</h2>
          {props.children}
          <input type="hidden" name="csrf" value={props.csrf} />
          <button type="submit">{props.submit}</button>{' '}
          <button type="submit" formmethod="dialog" class="quiet">
            {props.keep}
          </button>
        </form>
      </dialog>
    </>
  );
}

/** Opens the dialog a `data-open-dialog` button names (every confirmation of the UI). */
export const DIALOG_SCRIPT = `
document.querySelectorAll('[data-open-dialog]').forEach((button) => {
  button.addEventListener('click', () => document.getElementById(button.dataset.openDialog).showModal());
});
`;
