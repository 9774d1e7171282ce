/**
 * @mosaic-fed/server: the federation server as a Hono app factory, edge-ready at this
 * main entry; Node-only serving lives behind `@mosaic-fed/server/node`.
 *
 * `createFederationApp` arrives with the server issue; this entry exports nothing yet.
 *
 * @packageDocumentation
 */
export {};
