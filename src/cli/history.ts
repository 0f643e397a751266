// `contrail history`: derives the history tables (SPEC §8) from every capture not yet derived, then exits.
import { deriveMissing } from "../history/derive.js";
import { errorMessage } from "../errors.js";
import { sourceFilter } from "./ls.js";
import type { CommonOptions } from "./main.js";
import { openRuntime } from "./runtime.js";

export async function historyCommand(
  opts: CommonOptions & { source?: string; quiet?: boolean },
): Promise<number> {
  const rt = await openRuntime(opts);
  const controller = new AbortController();
  const stop = () => controller.abort(new Error("interrupted"));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  try {
    const source = sourceFilter(rt.config, opts.source);
    const summary = await deriveMissing(rt.lake, {
      signal: controller.signal,
      log: rt.log,
      ...(source ? { source } : {}),
      ...(opts.quiet
        ? {}
        : { onDerived: (key, rows) => process.stdout.write(`derived ${key} (${rows} rows)\n`) }),
    });
    for (const f of summary.failed) process.stderr.write(`contrail: ${f.key}: ${errorMessage(f.error)}\n`);
    if (!opts.quiet)
      process.stdout.write(
        `${summary.derived.length} history file${summary.derived.length === 1 ? "" : "s"} derived` +
          `${summary.failed.length ? `, ${summary.failed.length} failed` : ""} in ${rt.lake.description}\n`,
      );
    return summary.failed.length ? 1 : 0;
  } finally {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
    await rt.close();
  }
}
