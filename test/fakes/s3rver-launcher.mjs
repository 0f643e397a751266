// Runs s3rver in a child process for test/fakes/s3.ts (started with --openssl-legacy-provider: s3rver's
// ListObjectsV2 continuation tokens use DES). Usage: node --openssl-legacy-provider s3rver-launcher.mjs <dir> [bucket...]
// Prints {"port":N} once listening. Exits, removing <dir>, when stdin closes, i.e. when the test process is gone.
import { rmSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const S3rver = require("s3rver");
const [directory, ...buckets] = process.argv.slice(2);
if (!directory) {
  process.stderr.write("usage: s3rver-launcher.mjs <dir> [bucket...]\n");
  process.exit(2);
}
const server = new S3rver({
  directory,
  address: "127.0.0.1",
  port: 0,
  silent: true,
  configureBuckets: buckets.map((name) => ({ name, configs: [] })),
});
const { port } = await server.run();
process.stdout.write(`${JSON.stringify({ port })}\n`);

let exiting = false;
function exit() {
  if (exiting) return;
  exiting = true;
  try {
    rmSync(directory, { recursive: true, force: true });
  } finally {
    process.exit(0);
  }
}
process.stdin.on("end", exit);
process.stdin.on("error", exit);
process.stdin.resume();
process.on("SIGTERM", exit);
process.on("SIGINT", exit);
