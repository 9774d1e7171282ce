/**
 * @mosaic-fed/orchestrator/testing: a stand-in Messages API server that plays scenarios
 * for tests and the offline demo (the real Anthropic SDK reaches it through `baseURL`),
 * the demo repositories and their scenarios, and a git smart-HTTP server on loopback.
 *
 * @packageDocumentation
 */
export { createDemoRepository, DEMO_FIX, DEMO_PROJECTS, demoFixScript, demoScenarios } from './testing/demo-repository.js';
export type { DemoProject } from './testing/demo-repository.js';
export { GIT_SERVER_CREDENTIAL, startGitHttpServer } from './testing/git-http-server.js';
export type { GitHttpRequest } from './testing/git-http-server.js';
export { createScriptedMessagesApp, fixByReplacingScript, planFirstScenario, startScriptedMessagesServer, turnByTurn } from './testing/scripted-messages.js';
export type {
  FixByReplacingOptions,
  RecordedRequest,
  Scenario,
  ScenarioStep,
  ScriptedAnswer,
  ScriptedBlock,
  ScriptedMessagesApp,
  ScriptedMessagesOptions,
  ScriptedMessagesServer,
  ScriptedRequest,
  ScriptedStopReason,
  ScriptedTurn,
} from './testing/scripted-messages.js';
