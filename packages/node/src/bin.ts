// The `mosaic-fed` executable.
import { main } from './cli.js';

const code = await main(process.argv.slice(2));
// A command that failed may leave connections open: end the process with its code.
if (code !== 0) process.exit(code);
