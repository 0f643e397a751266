// `contrail query SQL`: one statement (DuckDB dialect) over the history tables and views of SPEC §8.
import { ConfigError, ContrailError, errorMessage } from "../errors.js";
import { defaultFormat, FORMATS, render, type Format } from "../history/format.js";
import { historyRoot, openHistoryDb } from "../history/query.js";
import type { CommonOptions } from "./main.js";
import { openRuntime } from "./runtime.js";

export async function queryCommand(
  sqlWords: string[],
  opts: CommonOptions & { format?: string },
): Promise<number> {
  const format = parseFormat(opts.format);
  const sql = sqlWords.join(" ").trim();
  if (!sql)
    throw new ConfigError(
      'expected an SQL statement, e.g. contrail query "SELECT * FROM aws_ec2_price_history LIMIT 5"',
    );
  const rt = await openRuntime(opts);
  try {
    const duck = await openHistoryDb(await historyRoot(rt.config, rt.lake), sql);
    try {
      const db = duck.connection;
      let reader;
      try {
        const statements = await db.extractStatements(sql);
        if (statements.count !== 1) {
          throw new ConfigError(`expected one SQL statement, got ${statements.count}`);
        }
        reader = await db.runAndReadAll(sql);
      } catch (err) {
        if (err instanceof ContrailError) throw err;
        throw new ContrailError("QUERY", errorMessage(err), { cause: err });
      }
      process.stdout.write(render(reader, format));
      return 0;
    } finally {
      duck.close();
    }
  } finally {
    await rt.close();
  }
}

function parseFormat(text: string | undefined): Format {
  if (text === undefined) return defaultFormat(process.stdout.isTTY);
  const f = FORMATS.find((x) => x === text.toLowerCase());
  if (!f) throw new ConfigError(`--format ${JSON.stringify(text)}: expected one of ${FORMATS.join(", ")}`);
  return f;
}
