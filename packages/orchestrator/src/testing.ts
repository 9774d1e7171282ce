/**
 * @mosaic-fed/orchestrator/testing: a scripted Messages API server for tests and the
 * offline demo. The real Anthropic SDK reaches it through `baseURL`.
 *
 * @packageDocumentation
 */
export { createDemoRepository, DEMO_FIX, demoFixScript } from './testing/demo-repository.js';
export { createScriptedMessagesApp, fixByReplacingScript, startScriptedMessagesServer } from './testing/scripted-messages.js';
export type {
  FixByReplacingOptions,
  ScriptedBlock,
  ScriptedMessagesServer,
  ScriptedRequest,
  ScriptedTurn,
} from './testing/scripted-messages.js';
