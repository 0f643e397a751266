// The `contrail` command line (SPEC §2). Exit codes: 0 ok, 1 a capture or check failed, 2 usage or configuration.
import { Command, CommanderError, Option } from "commander";
import { ConfigError, ContrailError } from "../errors.js";
import { VERSION } from "../version.js";
import type { Shutdown } from "./shutdown.js";
import type { PriceOptions } from "./price.js";

// Each command's module is loaded when it runs: `contrail query` need not load the scheduler, the metrics or the
// derivation, and every command starts sooner (the query benchmark's floor is start-up).

export interface CommonOptions {
  lake?: string;
  config?: string;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

function common(cmd: Command): Command {
  return cmd
    .addOption(new Option("--lake <url>", "the lake: s3://bucket[/prefix], file:///abs/path or a directory"))
    .addOption(new Option("--config <file>", "config file (default ./contrail.config.json)"));
}

/** Runs one command line; `shutdown` is the process's signal handling, which `crawl` takes over. */
export async function main(argv: string[], shutdown: Shutdown): Promise<number> {
  let code = 0;
  const program = new Command("contrail")
    .description("Contrail: captures public-cloud price lists into a data lake")
    .version(VERSION, "-V, --version")
    .exitOverride()
    .showHelpAfterError("(run with --help for usage)")
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });

  common(
    program
      .command("crawl")
      .aliases(["crawler", "c"])
      .description("run every enabled source on its schedule until SIGINT/SIGTERM")
      .option("--once", "one cycle of every selected source, then exit (0: all captured, 1: any failed)")
      .option("--source <name>", "only this source (repeatable or comma-separated)", collect),
  ).action(async (opts: CommonOptions & { once?: boolean; source?: string[] }) => {
    code = await (await import("./crawl.js")).crawlCommand(opts, shutdown);
  });

  common(
    program.command("sources").description("each source: enabled or what it needs, interval, latest capture"),
  ).action(async (opts: CommonOptions) => {
    code = await (await import("./sources.js")).sourcesCommand(opts);
  });

  common(
    program
      .command("ls")
      .description("captures in the lake, newest first")
      .option("--source <name>", "only this source")
      .option("--region <region>", "only this region")
      .option("--json", "one JSON object per line"),
  ).action(async (opts: CommonOptions & { source?: string; region?: string; json?: boolean }) => {
    code = await (await import("./ls.js")).lsCommand(opts);
  });

  common(
    program
      .command("verify")
      .description("re-read every capture and check it against its recorded checksum and size")
      .option("--source <name>", "only this source"),
  ).action(async (opts: CommonOptions & { source?: string }) => {
    code = await (await import("./verify.js")).verifyCommand(opts);
  });

  common(
    program
      .command("history")
      .description("derive the history tables (Parquet) from every capture not yet derived, then exit")
      .option("--source <name>", "only this source")
      .addOption(new Option("--quiet", "log lines only (as the daemon runs it)").hideHelp()),
  ).action(async (opts: CommonOptions & { source?: string; quiet?: boolean }) => {
    code = await (await import("./history.js")).historyCommand(opts);
  });

  common(
    program
      .command("query")
      .description("run one SQL statement (DuckDB) over the history tables and views; see docs/history.md")
      .argument("<sql...>", 'the statement, e.g. "SELECT * FROM aws_ec2_price_history LIMIT 5"')
      .option("--format <format>", "table, csv or json (default: table on a terminal, csv otherwise)"),
  ).action(async (sql: string[], opts: CommonOptions & { format?: string }) => {
    code = await (await import("./query.js")).queryCommand(sql, opts);
  });

  common(
    program
      .command("price")
      .description("on-demand and spot price history of an instance type (tables, and charts on a terminal)")
      .argument("<instance-type>", "e.g. m5.large")
      .option("--region <region>", "only this region")
      .option("--os <os>", "Linux, Windows, RHEL or SUSE (the offer's operatingSystem)", "Linux")
      .option("--since <date>", "only periods still in force on or after this date (UTC), e.g. 2026-01-01"),
  ).action(async (instanceType: string, opts: PriceOptions) => {
    code = await (await import("./price.js")).priceCommand(instanceType, opts);
  });

  try {
    await program.parseAsync(argv, { from: "user" });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (
        err.code === "commander.helpDisplayed" ||
        err.code === "commander.version" ||
        err.code === "commander.help"
      )
        return 0;
      return 2;
    }
    if (err instanceof ConfigError) {
      process.stderr.write(`contrail: ${err.message}\n`);
      return 2;
    }
    if (err instanceof ContrailError) {
      process.stderr.write(`contrail: ${err.message}\n`);
      return 1;
    }
    process.stderr.write(`contrail: ${(err as Error)?.stack ?? String(err)}\n`);
    return 1;
  }
}
