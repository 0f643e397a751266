// What every command needs: the resolved config, a logger, the lake, the HTTP client.
import type { Logger } from "pino";
import { loadConfig } from "../config/load.js";
import type { Config } from "../config/schema.js";
import { NodeHttpClient } from "../http/client.js";
import { openLake } from "../lake/index.js";
import { createConsole, secretValues } from "../log/logger.js";
import type { Lake } from "../types.js";
import { VERSION } from "../version.js";
import type { CommonOptions } from "./main.js";

export interface Runtime {
  config: Readonly<Config>;
  log: Logger;
  lake: Lake;
  http: NodeHttpClient;
  close(): Promise<void>;
}

export async function openRuntime(opts: CommonOptions): Promise<Runtime> {
  const config = loadConfig({
    flags: { ...(opts.lake ? { lake: opts.lake } : {}), ...(opts.config ? { config: opts.config } : {}) },
  });
  const { log, progress } = createConsole(config.logLevel, { secrets: secretValues(config) });
  const lake = await openLake(config, log);
  const http = new NodeHttpClient({
    connectTimeout: config.http.connectTimeout,
    stallTimeout: config.http.stallTimeout,
    retry: {
      attempts: config.http.attempts,
      baseDelay: config.http.baseDelay,
      maxDelay: config.http.maxDelay,
    },
    log,
    progress,
    userAgent: `contrail/${VERSION} (+https://github.com/contrail)`,
  });
  return {
    config,
    log,
    lake,
    http,
    async close() {
      http.close();
      await lake.close?.();
      log.flush?.();
    },
  };
}
