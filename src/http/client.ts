// The one HTTP client of every source: timeouts (connect, headers, stalled body), retries, redirects, progress.
import http from "node:http";
import https from "node:https";
import { PassThrough, type Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import type { Logger } from "pino";
import { abortError, ContrailError } from "../errors.js";
import { NO_PROGRESS, type ProgressReporter } from "../log/progress.js";
import type { HttpClient, HttpRequest, HttpResponse } from "../types.js";
import { parseRetryAfter, withRetry, type RetryPolicy } from "./retry.js";

export interface HttpClientOptions {
  connectTimeout: number;
  stallTimeout: number;
  retry: RetryPolicy;
  log?: Logger;
  /** Told of every body read, to show long downloads' progress. */
  progress?: ProgressReporter;
  onRetry?: (label: string | undefined, err: unknown) => void;
  userAgent?: string;
}

const MAX_ERROR_BODY = 64 * 1024;
const MAX_JSON_DOC = 256 * 1024 * 1024;
const MAX_REDIRECTS = 5;

export class NodeHttpClient implements HttpClient {
  private readonly agents = {
    http: new http.Agent({ keepAlive: true, maxSockets: 32 }),
    https: new https.Agent({ keepAlive: true, maxSockets: 32 }),
  };

  constructor(private readonly opts: HttpClientOptions) {}

  request(req: HttpRequest, observe?: (err: unknown) => void): Promise<HttpResponse> {
    return withRetry(() => this.follow(req), {
      policy: this.opts.retry,
      signal: req.signal,
      onRetry: (err, attempt, delay) => {
        observe?.(err);
        this.retried(req.label, req.url, err, attempt, delay);
      },
    });
  }

  /** A view of this client (same connections) that reports each retry to `observe`, e.g. per-source metrics. */
  observed(observe: (err: unknown) => void): HttpClient {
    return {
      request: (req) => this.request(req, observe),
      getJson: (url, o) => this.getJson(url, o, observe),
    };
  }

  async getJson<T>(
    url: string,
    o: { signal: AbortSignal; headers?: Record<string, string>; label?: string },
    observe?: (err: unknown) => void,
  ): Promise<T> {
    return withRetry(
      async () => {
        const res = await this.follow({
          url,
          signal: o.signal,
          headers: o.headers,
          label: o.label,
          followRedirects: true,
        });
        const text = await readAll(res.body, MAX_JSON_DOC, url);
        try {
          return JSON.parse(text) as T;
        } catch (err) {
          // A small document that does not parse is most likely an upstream glitch: worth another attempt.
          throw new ContrailError("INVALID_JSON", `${url} did not return valid JSON (${snippet(text)})`, {
            cause: err,
            retryable: true,
          });
        }
      },
      {
        policy: this.opts.retry,
        signal: o.signal,
        onRetry: (err, attempt, delay) => {
          observe?.(err);
          this.retried(o.label, url, err, attempt, delay);
        },
      },
    );
  }

  close(): void {
    this.agents.http.destroy();
    this.agents.https.destroy();
  }

  private retried(label: string | undefined, url: string, err: unknown, attempt: number, delayMs: number) {
    this.opts.onRetry?.(label, err);
    this.opts.log?.warn(
      { label, url: redactUrl(url), attempt, delayMs, err: (err as Error).message },
      "request failed; retrying",
    );
  }

  private async follow(req: HttpRequest): Promise<HttpResponse> {
    let current = req;
    for (let hop = 0; ; hop++) {
      const res = await this.once(current);
      const location = res.headers.location;
      if (!req.followRedirects || ![301, 302, 303, 307, 308].includes(res.status) || !location) return res;
      res.body.resume();
      if (hop >= MAX_REDIRECTS)
        throw new ContrailError("UPSTREAM", `too many redirects from ${redactUrl(req.url)}`);
      const next = new URL(location, current.url);
      const headers = { ...current.headers };
      // Credentials stay with the host they were issued for.
      if (next.origin !== new URL(current.url).origin) {
        for (const k of Object.keys(headers))
          if (/^(authorization|cookie|x-api-key)$/i.test(k)) delete headers[k];
      }
      current = { ...current, url: next.toString(), headers, method: "GET", body: undefined };
    }
  }

  /** One exchange: resolves once the headers arrive with an accepted status. */
  private once(req: HttpRequest): Promise<HttpResponse> {
    const { signal } = req;
    if (signal.aborted) return Promise.reject(abortError(signal));
    const url = new URL(req.url);
    const lib = url.protocol === "https:" ? https : http;
    const agent = url.protocol === "https:" ? this.agents.https : this.agents.http;
    return new Promise<HttpResponse>((resolve, reject) => {
      let settled = false;
      const fail = (err: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(headerTimer);
        signal.removeEventListener("abort", onAbort);
        r.destroy();
        reject(err);
      };
      const onAbort = () => fail(abortError(signal));
      const headerTimer = setTimeout(
        () =>
          fail(
            new ContrailError(
              "HTTP_TIMEOUT",
              `no response from ${redactUrl(req.url)} within ${this.opts.connectTimeout} ms`,
              {
                retryable: true,
              },
            ),
          ),
        this.opts.connectTimeout,
      );
      const r = lib.request(
        url,
        {
          method: req.method ?? "GET",
          agent,
          headers: {
            "user-agent": this.opts.userAgent ?? "contrail",
            "accept-encoding": "gzip",
            ...(req.body !== undefined ? { "content-length": Buffer.byteLength(req.body) } : {}),
            ...req.headers,
          },
        },
        (res) => {
          if (settled) {
            res.destroy();
            return;
          }
          settled = true;
          clearTimeout(headerTimer);
          signal.removeEventListener("abort", onAbort);
          const headers = flatHeaders(res.headers);
          const status = res.statusCode ?? 0;
          const body = this.watchBody(res, req, headers, signal);
          const accepted = (status >= 200 && status < 300) || (req.accept ?? []).includes(status);
          const redirect = req.followRedirects && [301, 302, 303, 307, 308].includes(status);
          if (accepted && status < 300 && /text\/html/i.test(headers["content-type"] ?? "")) {
            // An HTML page where JSON or XML was asked for: a proxy's or CDN's error page, worth another attempt.
            body.resume();
            reject(
              new ContrailError(
                "UPSTREAM",
                `HTTP ${status} from ${redactUrl(req.url)} is an HTML page, not data`,
                {
                  retryable: true,
                  status,
                },
              ),
            );
            return;
          }
          if (accepted || redirect) {
            resolve({ status, url: req.url, headers, body });
            return;
          }
          readAll(body, MAX_ERROR_BODY, req.url, true)
            .catch(() => "")
            .then((text) => reject(statusError(req.url, status, headers, text)));
        },
      );
      r.on("error", (err: NodeJS.ErrnoException) =>
        fail(
          signal.aborted
            ? abortError(signal)
            : new ContrailError(
                "HTTP_NETWORK",
                `${err.code ?? "network error"} from ${redactUrl(req.url)}: ${err.message}`,
                {
                  cause: err,
                  retryable: true,
                },
              ),
        ),
      );
      signal.addEventListener("abort", onAbort, { once: true });
      r.end(req.body);
    });
  }

  /** The body as a stream that errors (retryably) when it stalls, is reset or ends short of Content-Length. */
  private watchBody(
    res: http.IncomingMessage,
    req: HttpRequest,
    headers: Record<string, string | undefined>,
    signal: AbortSignal,
  ): Readable {
    const out = new PassThrough({ highWaterMark: 256 * 1024 });
    const expected = headers["content-length"] !== undefined ? Number(headers["content-length"]) : undefined;
    const where = redactUrl(req.url);
    let received = 0;
    const progress = (this.opts.progress ?? NO_PROGRESS).start(req.label ?? where, where);
    let stall: NodeJS.Timeout | undefined;
    const armStall = () => {
      clearTimeout(stall);
      stall = setTimeout(() => {
        const err = new ContrailError(
          "HTTP_STALLED",
          `body of ${where} stalled: no data for ${this.opts.stallTimeout} ms after ${received} bytes`,
          { retryable: true },
        );
        failOut(err);
        res.destroy();
      }, this.opts.stallTimeout);
    };
    const onAbort = () => res.destroy(abortError(signal));
    signal.addEventListener("abort", onAbort, { once: true });
    const finish = () => {
      progress.end();
      clearTimeout(stall);
      signal.removeEventListener("abort", onAbort);
    };
    armStall();
    res.on("data", (chunk: Buffer) => {
      received += chunk.length;
      armStall();
      progress.update(received, expected);
    });
    res.on("end", finish);
    res.on("close", finish);
    const encoding = headers["content-encoding"]?.toLowerCase();
    const decoded = encoding === "gzip" ? res.pipe(createGunzip()) : res;
    function failOut(err: Error) {
      finish();
      if (signal.aborted) out.destroy(abortError(signal));
      else if (err instanceof ContrailError) out.destroy(err);
      else
        out.destroy(
          new ContrailError(
            "HTTP_TRUNCATED",
            `body of ${where} broke off after ${received} bytes: ${err.message}`,
            {
              cause: err,
              retryable: true,
            },
          ),
        );
    }
    res.on("error", failOut);
    res.on("aborted", () => failOut(new Error("connection closed early")));
    if (decoded !== res) decoded.on("error", failOut);
    decoded.on("end", () => {
      if (expected !== undefined && received < expected) {
        failOut(new Error(`expected ${expected} bytes`));
        return;
      }
      out.end();
    });
    decoded.on("data", (chunk: Buffer) => {
      if (!out.write(chunk)) {
        decoded.pause();
        out.once("drain", () => decoded.resume());
      }
    });
    res.on("close", () => {
      if (!res.complete && !out.destroyed && !out.writableEnded)
        failOut(new Error("connection closed early"));
    });
    out.on("close", () => {
      if (!res.complete) res.destroy();
    });
    return out;
  }
}

function statusError(url: string, status: number, headers: Record<string, string | undefined>, text: string) {
  const retryable = status === 408 || status === 429 || status >= 500;
  const retryAfterMs = retryable ? parseRetryAfter(headers) : undefined;
  return new ContrailError("HTTP_STATUS", `HTTP ${status} from ${redactUrl(url)}: ${snippet(text)}`, {
    retryable,
    status,
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
  });
}

export async function readAll(body: Readable, limit: number, url: string, lenient = false): Promise<string> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of body) {
    n += (c as Buffer).length;
    if (n > limit) {
      body.destroy();
      if (lenient) break;
      throw new ContrailError("HTTP_TOO_LARGE", `${redactUrl(url)} returned more than ${limit} bytes`);
    }
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function flatHeaders(h: http.IncomingHttpHeaders): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(h)) out[k] = Array.isArray(v) ? v.join(", ") : v;
  return out;
}

/** One line of an error body, short, for messages. */
export function snippet(text: string, max = 200): string {
  const t = text.replace(/\s+/g, " ").trim();
  return t.length > max ? `${t.slice(0, max)}…` : t || "(empty body)";
}

const SECRET_PARAMS =
  /^(sig|signature|se|sp|sv|skoid|sktid|key|code|token|access_token|x-amz-signature|x-amz-credential|x-amz-security-token)$/i;

/** URLs may carry SAS tokens or keys in the query: their values never reach a log or a message. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    for (const k of [...u.searchParams.keys()]) if (SECRET_PARAMS.test(k)) u.searchParams.set(k, "REDACTED");
    return decodeURIComponent(u.toString());
  } catch {
    return "(invalid url)";
  }
}
