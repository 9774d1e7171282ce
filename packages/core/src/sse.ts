// A Server-Sent Events reader over a fetch body (the WHATWG "event stream" format), for
// the agent event streams of PROTOCOL 6 and 7. Clients need no EventSource: that global
// is missing on Node and cannot send an Authorization header anyway.

/** One dispatched event. `id` is the last event id seen on the stream so far, if any. */
export interface ServerSentEvent {
  event: string;
  data: string;
  id: string | undefined;
  /** A reconnection delay the server asked for, in milliseconds. */
  retry: number | undefined;
}

/**
 * Yields the events of an SSE body until it ends. Comments and unknown fields are
 * skipped; an event the stream cut off before its blank line is dropped.
 *
 * @example
 * ```ts
 * for await (const event of readServerSentEvents(response.body)) console.log(event.id, event.data);
 * ```
 */
export async function* readServerSentEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<ServerSentEvent, void, undefined> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let lastId: string | undefined;
  let retry: number | undefined;
  let event = '';
  let data: string[] = [];
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      // Lines end in CRLF, LF or CR; a trailing CR may still be followed by its LF.
      let match: RegExpExecArray | null;
      while ((match = /\r\n|\n|\r(?!$)/.exec(buffer)) !== null) {
        const line = buffer.slice(0, match.index);
        buffer = buffer.slice(match.index + match[0].length);
        if (line === '') {
          if (data.length > 0) yield { event: event || 'message', data: data.join('\n'), id: lastId, retry };
          event = '';
          data = [];
          continue;
        }
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon === -1 ? line : line.slice(0, colon);
        let text = colon === -1 ? '' : line.slice(colon + 1);
        if (text.startsWith(' ')) text = text.slice(1);
        if (field === 'data') data.push(text);
        else if (field === 'event') event = text;
        else if (field === 'id' && !text.includes('\0')) lastId = text;
        else if (field === 'retry' && /^\d+$/.test(text)) retry = Number(text);
      }
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}
