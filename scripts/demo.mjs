#!/usr/bin/env node
// `pnpm demo`: the end-to-end demo (a hub and a spoke on loopback, a worker agent fixing
// a failing test) arrives with the demo issue. Until then it says so and exits cleanly.
console.log(
  [
    'The Mosaic Federation demo is not yet available in this version.',
    'It will start a hub and a spoke on this machine, connect them, and let an agent fix a failing test.',
    'What you can run today: `npx -y pnpm@12.4.2 test` (the protocol package and its checks),',
    'and `npx -y pnpm@12.4.2 bench` (signing and verification speed).',
  ].join('\n'),
);
