// The process around the commands: the one place that installs signal handling, reads argv and sets the exit code.
// `bin/contrail.js` runs its bundle in dist/ (scripts/build.mjs); `npm run dev` and the tests run it through tsx.
import { Shutdown } from "./shutdown.js";

// The SDK prints a notice on Node < 22 that its releases after January 2027 will need Node 22. Contrail pins the
// SDK, runs and is tested on Node 20, so the notice is not for its users. This is the SDK's documented switch
// (aws/aws-sdk-js-v3#7983); a value the user set wins.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

const shutdown = new Shutdown();
// A reader that stops reading closes the pipe; any other error on stdout is still thrown.
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code !== "EPIPE") throw err;
  shutdown.outputClosed();
});
// Loaded after the handlers are in place: a signal while the commands load exits cleanly (exit 0, nothing started).
const { main } = await import("./main.js");
process.exitCode = await main(process.argv.slice(2), shutdown);
shutdown.dispose();
