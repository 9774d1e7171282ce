import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startScriptedMessagesServer, type ScriptedMessagesServer } from '../src/testing.js';

// The stand-in for the Messages API (`@mosaic-fed/orchestrator/testing`, and the model of
// `mosaic-fed stand-in`): what the real SDK reads from it must be what the API would send,
// streamed or not, and what the API refuses it refuses the same way.
let server: ScriptedMessagesServer;
let client: Anthropic;
beforeAll(async () => {
  server = await startScriptedMessagesServer([
    { name: 'broken', when: (request) => request.mentions('break'), steps: [{ answer: () => { throw new Error('the script broke'); } }] },
    { name: 'cut off', when: (request) => request.mentions('cut'), steps: [{ answer: { content: [{ type: 'text', text: 'Running it:' }, { type: 'tool_use', name: 'bash', input: { command: 'npm test' } }], stopReason: 'max_tokens' } }] },
    {
      name: 'thinks',
      when: (request) => request.mentions('think'),
      steps: [{ answer: [{ type: 'thinking', thinking: 'The parser is off by one.' }, { type: 'text', text: 'Fixing it.' }, { type: 'tool_use', name: 'bash', input: { command: 'npm test' } }] }],
    },
  ]);
  client = new Anthropic({ baseURL: server.url, apiKey: 'test-key', maxRetries: 0 });
});
afterAll(() => server.close());

const ask = (text: string, system?: string) => ({
  model: 'claude-sonnet-4-5',
  max_tokens: 1_024,
  ...(system === undefined ? {} : { system }),
  messages: [{ role: 'user' as const, content: text }],
});

describe('the stand-in Messages API', () => {
  it('answers without streaming as the API does: thinking signed, tool calls with ids, the stop reason and usage', async () => {
    const message = await client.messages.create(ask('please think first', 'You fix code.'));
    expect(message.content).toEqual([
      { type: 'thinking', thinking: 'The parser is off by one.', signature: 'scripted' },
      { type: 'text', text: 'Fixing it.' },
      { type: 'tool_use', id: 'toolu_0_2', name: 'bash', input: { command: 'npm test' } },
    ]);
    expect(message.stop_reason).toBe('tool_use');
    expect(message.usage.input_tokens).toBeGreaterThan(0);
    expect(server.requests.at(-1)).toMatchObject({ scenario: 'thinks', stream: false, model: 'claude-sonnet-4-5', maxTokens: 1_024 });
  });

  it('streams the same, thinking included, for the SDK to put together', async () => {
    const message = await client.messages.stream(ask('think, then act')).finalMessage();
    expect(message.content).toEqual([
      { type: 'thinking', thinking: 'The parser is off by one.', signature: 'scripted' },
      { type: 'text', text: 'Fixing it.' },
      { type: 'tool_use', id: 'toolu_0_2', name: 'bash', input: { command: 'npm test' } },
    ]);
  });

  it('cuts a reply off at max_tokens in the middle of its tool call: the call arrives without its input', async () => {
    const message = await client.messages.create(ask('cut it short'));
    expect(message.stop_reason).toBe('max_tokens');
    expect(message.content.at(-1)).toMatchObject({ type: 'tool_use', name: 'bash', input: {} });
  });

  it('says when no scenario answers, and fails as the API does when a step breaks', async () => {
    const message = await client.messages.create(ask('something unscripted'));
    expect(message.content).toEqual([{ type: 'text', text: 'The stand-in model has no scenario for this request. Set ANTHROPIC_API_KEY to use Claude.' }]);
    expect(server.requests.at(-1)?.scenario).toBeNull();
    await expect(client.messages.create(ask('break it'))).rejects.toMatchObject({ status: 500, error: { type: 'error', error: { type: 'api_error', message: 'the script broke' } } });
  });

  it('refuses a request without a key, or one that is not a Messages request', async () => {
    const post = (headers: Record<string, string>, body: unknown) =>
      fetch(`${server.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
    const keyless = await post({}, ask('hello'));
    expect(keyless.status).toBe(401);
    expect(await keyless.json()).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });
    const malformed = await post({ 'x-api-key': 'test-key' }, { model: 'claude-sonnet-4-5', messages: 'hello' });
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
  });
});
