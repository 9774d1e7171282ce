import type { Sandbox } from '../sandboxes/types.js';
import { redactCredentials } from './redact.js';

/** Cuts `text` to `length` characters, marking the cut with an ellipsis. */
export function clip(text: string, length: number): string {
  return text.length <= length ? text : `${text.slice(0, length - 1)}…`;
}

/**
 * Text fit for an agent's transcript: credentials in URLs masked, the sandbox's own path
 * (a host path in some sandboxes) written as `<workspace>`, and at most `length` characters.
 */
export function transcriptText(sandbox: Sandbox, text: string, length: number): string {
  return clip(redactCredentials(text.replaceAll(sandbox.workdir, '<workspace>')), length);
}
