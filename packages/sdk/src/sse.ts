// Server-Sent Events over a fetch body, for the agent event streams of PROTOCOL 6 and 7.
// Clients need no EventSource: that global is missing on Node and cannot send an
// Authorization header anyway. The WHATWG event-stream rules are eventsource-parser's.
import { createParser } from 'eventsource-parser';

/** One dispatched event. */
export interface ServerSentEvent {
  /** The event type; `message` when the event named none. */
  event: string;
  data: string;
  /** The event's own `id` field, if it had one. */
  id: string | undefined;
  /** The reconnection delay the server asked for most recently, in milliseconds. */
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
  const parsed: ServerSentEvent[] = [];
  let retry: number | undefined;
  const parser = createParser({
    onEvent: (message) => parsed.push({ event: message.event ?? 'message', data: message.data, id: message.id, retry }),
    onRetry: (ms) => {
      retry = ms;
    },
  });
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      parser.feed(decoder.decode(value, { stream: true }));
      yield* parsed.splice(0);
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}
