/**
 * @mosaic-fed/orchestrator/testing: a scripted Messages API server for tests and the
 * offline demo (the real Anthropic SDK reaches it through `baseURL`), the demo repository,
 * and a git smart-HTTP server on loopback.
 *
 * @packageDocumentation
 */
export { createDemoRepository, DEMO_FIX, demoFixScript } from './testing/demo-repository.js';
export { GIT_SERVER_CREDENTIAL, startGitHttpServer } from './testing/git-http-server.js';
export type { GitHttpRequest } from './testing/git-http-server.js';
export { createScriptedMessagesApp, fixByReplacingScript, startScriptedMessagesServer } from './testing/scripted-messages.js';
export type {
  FixByReplacingOptions,
  ScriptedBlock,
  ScriptedMessagesServer,
  ScriptedRequest,
  ScriptedTurn,
} from './testing/scripted-messages.js';
