// PROTOCOL 4: a peer that regenerated its keys sends \`federation.keys.rotated\` with a
// certificate its old key signed; the new key is pinned for that connection.
import { KeysRotatedPayloadSchema } from '@mosaic-fed/core';
import type { PeerKeyring } from '../peers/keyring.js';
import type { MessageRouter } from './router.js';

/** Registers the key rotation event with the router. */
export function registerKeyRotation(router: MessageRouter, keyring: PeerKeyring): void {
  router.register({
    kind: 'EVENT',
    type: 'federation.keys.rotated',
    payload: KeysRotatedPayloadSchema,
    handle: async ({ certificate }, { connection }) => {
      const updated = await keyring.pinCertificate(connection, certificate);
      return { pinnedKids: updated.peerKeys.map((key) => key.kid) };
    },
  });
}
