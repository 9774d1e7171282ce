/**
 * @mosaic-fed/sdk: what any TypeScript app imports to spawn, watch, query and kill remote
 * agents, and to drive an instance's own API. Runs on any runtime with `fetch`.
 *
 * `FederationClient` and `AdminClient` arrive with the connections issue; this entry
 * exports nothing yet.
 *
 * @packageDocumentation
 */
export {};
