import { describe, expect, it } from 'vitest';
import { readServerSentEvents, type ServerSentEvent } from './sse.js';

/** A body delivered in the given chunks, as a network would split it. */
function bodyOf(...chunks: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
      controller.close();
    },
  });
}

async function collect(body: ReadableStream<Uint8Array>): Promise<ServerSentEvent[]> {
  const events: ServerSentEvent[] = [];
  for await (const event of readServerSentEvents(body)) events.push(event);
  return events;
}

describe('readServerSentEvents', () => {
  it('reads events split anywhere across chunks, including inside a CRLF and a multi-byte character', async () => {
    const text = 'id: 1\r\nevent: agent.status.changed\r\ndata: {"a":"é"}\r\n\r\nid: 2\ndata: two\n\n';
    const bytes = new TextEncoder().encode(text);
    const encoder = new TextDecoder();
    // Every split point, byte by byte, gives the same events.
    for (let cut = 1; cut < bytes.length; cut++) {
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(bytes.slice(0, cut));
          controller.enqueue(bytes.slice(cut));
          controller.close();
        },
      });
      const events = await collect(body);
      expect(events, `cut at ${cut}: ${encoder.decode(bytes.slice(0, cut))}`).toEqual([
        { event: 'agent.status.changed', data: '{"a":"é"}', id: '1', retry: undefined },
        { event: 'message', data: 'two', id: '2', retry: undefined },
      ]);
    }
  });

  it('skips comments and unknown fields, joins data lines, and honours retry', async () => {
    const events = await collect(
      bodyOf(': keep-alive\n\n', 'retry: 250\nid: 7\n\n', 'id: 8\ndata: line one\nfoo: bar\ndata:line two\n\n', 'data: no id\n\n'),
    );
    expect(events).toEqual([
      { event: 'message', data: 'line one\nline two', id: '8', retry: 250 },
      { event: 'message', data: 'no id', id: undefined, retry: 250 },
    ]);
  });

  it('dispatches a lone data line as an empty event, and nothing for a blank line alone (WHATWG)', async () => {
    // "data" appends the empty value and a line feed, so the data buffer is not empty and
    // the event is dispatched with empty data; a blank line with no data dispatches nothing.
    expect(await collect(bodyOf('\n\n', 'data\n\n', 'data:\n\n'))).toEqual([
      { event: 'message', data: '', id: undefined, retry: undefined },
      { event: 'message', data: '', id: undefined, retry: undefined },
    ]);
  });

  it('drops an event the stream cut off before its blank line', async () => {
    expect(await collect(bodyOf('id: 1\ndata: whole\n\n', 'id: 2\ndata: cut'))).toEqual([
      { event: 'message', data: 'whole', id: '1', retry: undefined },
    ]);
  });
});
