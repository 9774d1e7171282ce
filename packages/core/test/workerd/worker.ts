// A Worker that exercises @mosaic-fed/core's built output inside workerd: it signs and
// verifies messages, checks a message signed by Node, and verifies a rotation chain.
import {
  createRotationCertificate,
  generateKeyPair,
  importSigningKey,
  importVerificationKey,
  signMessage,
  verifyMessage,
  verifyRotationChain,
  type PublicJwk,
} from '@mosaic-fed/core';

interface NodeRequest {
  /** A message Node signed for `audience`, with the key `publicJwk` owned by `issuer`. */
  token: string;
  issuer: string;
  audience: string;
  publicJwk: PublicJwk;
}

export default {
  async fetch(request: Request): Promise<Response> {
    const fromNode = (await request.json()) as NodeRequest;

    // 1. A message from Node verifies here with the pinned key.
    const nodeKey = await importVerificationKey(fromNode.publicJwk);
    const verifiedFromNode = await verifyMessage(fromNode.token, {
      audience: fromNode.audience,
      resolveKey: ({ kid }) => (kid === nodeKey.kid ? { key: nodeKey, instanceId: fromNode.issuer } : undefined),
    });

    // 2. Sign and verify inside workerd.
    const me = crypto.randomUUID();
    const first = await generateKeyPair();
    const firstKey = await importSigningKey(first.privateJwk);
    const reply = await signMessage(
      {
        kind: 'RESPONSE',
        iss: me,
        aud: fromNode.issuer,
        inReplyTo: verifiedFromNode.message.jti,
        success: true,
        data: { answeredBy: 'workerd' },
      },
      firstKey,
    );
    const firstVerification = await importVerificationKey(first.publicJwk);
    const selfCheck = await verifyMessage(reply, {
      audience: fromNode.issuer,
      resolveKey: () => ({ key: firstVerification, instanceId: me }),
    });

    // 3. Rotate twice and verify the chain from the first key.
    const second = await generateKeyPair();
    const third = await generateKeyPair();
    const certificates = [
      await createRotationCertificate({ issuer: me, previousKey: firstKey, newKey: second.publicJwk }),
      await createRotationCertificate({
        issuer: me,
        previousKey: await importSigningKey(second.privateJwk),
        newKey: third.publicJwk,
      }),
    ];
    const chain = await verifyRotationChain({ issuer: me, certificates, pinnedKeys: [first.publicJwk] });

    return Response.json({
      verifiedFromNode: verifiedFromNode.message,
      selfCheckKind: selfCheck.message.kind,
      reply: { token: reply, issuer: me, publicJwk: first.publicJwk },
      chainLeadsToThird: chain.key.kid === third.publicJwk.kid,
      chainLength: chain.introduced.length,
      hasProcess: typeof (globalThis as { process?: unknown }).process !== 'undefined',
    });
  },
};
