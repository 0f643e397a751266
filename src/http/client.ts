// The one HTTP client of every source: timeouts (connect, headers, stalled body), retries, redirects, progress.
// It owns the retries of a request up to its headers (429/5xx/network/timeouts, Retry-After honoured); the body,
// a stream (body.ts), is the caller's: a body that breaks later is retried, if at all, by the capture above.
import http from "node:http";
import https from "node:https";
import type { Readable } from "node:stream";
import type { Logger } from "pino";
import { abortError, ContrailError } from "../errors.js";
import type { DownloadProgress, HttpClient, HttpRequest, HttpResponse } from "../types.js";
import type { ProgressReporter } from "../log/progress.js";
import { responseBody } from "./body.js";
import { parseRetryAfter, withRetry, type RetryOptions, type RetryPolicy } from "./retry.js";

export interface HttpClientOptions {
  /** Longest wait for a response's headers (connecting included), ms. */
  connectTimeout: number;
  /** Longest silence within a body, ms. */
  stallTimeout: number;
  retry: RetryPolicy;
  log?: Logger;
  /** Every body's progress (see DownloadProgress), e.g. for tests and metrics. */
  onProgress?: (p: DownloadProgress) => void;
  /** Shortest gap between two onProgress reports of one body, ms (default 250 with a reporter, else 1000). */
  progressInterval?: number;
  /** Shows long downloads to people: a live line on a terminal, a periodic log line elsewhere (src/log/progress.ts). */
  progress?: ProgressReporter;
  userAgent?: string;
}

const MAX_ERROR_BODY = 64 * 1024;
const MAX_JSON_DOC = 256 * 1024 * 1024;
const MAX_REDIRECTS = 5;
const REDIRECTS = [301, 302, 303, 307, 308];
type Observe = ((err: unknown) => void) | undefined;

export class NodeHttpClient implements HttpClient {
  private readonly agents = {
    http: new http.Agent({ keepAlive: true, maxSockets: 32 }),
    https: new https.Agent({ keepAlive: true, maxSockets: 32 }),
  };

  constructor(private readonly opts: HttpClientOptions) {}

  request(req: HttpRequest, observe?: Observe): Promise<HttpResponse> {
    return withRetry(() => this.follow(req), this.retrying(req.label, req.url, req.signal, observe));
  }

  /** A view of this client (same connections) that reports each retry to `observe`, e.g. per-source metrics. */
  observed(observe: (err: unknown) => void): HttpClient {
    return {
      request: (req) => this.request(req, observe),
      getJson: (url, o) => this.getJson(url, o, observe),
    };
  }

  /** A small document: the whole exchange, body included, is one attempt (it is cheap to fetch again). */
  async getJson<T>(
    url: string,
    o: { signal: AbortSignal; headers?: Record<string, string>; label?: string },
    observe?: Observe,
  ): Promise<T> {
    const attempt = async () => {
      const res = await this.follow({ url, ...o, followRedirects: true });
      const bytes = await readBytes(res.body, MAX_JSON_DOC, url);
      let text: string;
      try {
        // A strict decoder: toString() would turn bytes that are not UTF-8 into U+FFFD, which JSON.parse
        // accepts, and the capture would store the replacement characters (RFC 8259 §8.1, SPEC §6).
        text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
      } catch (err) {
        throw new ContrailError(
          "INVALID_JSON",
          `${redactUrl(url)} did not return valid JSON (its bytes are not UTF-8)`,
          {
            cause: err,
            retryable: true,
          },
        );
      }
      try {
        return JSON.parse(text) as T;
      } catch (err) {
        // A small document that does not parse is most likely an upstream glitch: worth another attempt.
        throw new ContrailError(
          "INVALID_JSON",
          `${redactUrl(url)} did not return valid JSON (${snippet(text)})`,
          {
            cause: err,
            retryable: true,
          },
        );
      }
    };
    return withRetry(attempt, this.retrying(o.label, url, o.signal, observe));
  }

  close(): void {
    this.agents.http.destroy();
    this.agents.https.destroy();
  }

  private retrying(
    label: string | undefined,
    url: string,
    signal: AbortSignal,
    observe: Observe,
  ): RetryOptions {
    return {
      policy: this.opts.retry,
      signal,
      onRetry: (err, attempt, delayMs) => {
        observe?.(err);
        this.opts.log?.warn(
          { label, url: redactUrl(url), attempt, delayMs, err: (err as Error).message },
          "request failed; retrying",
        );
      },
    };
  }

  private async follow(req: HttpRequest): Promise<HttpResponse> {
    let current = req;
    for (let hop = 0; ; hop++) {
      const res = await this.once(current);
      const location = res.headers.location;
      if (!req.followRedirects || !REDIRECTS.includes(res.status) || !location) return res;
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

  /** One exchange: resolves once the headers arrive with an accepted status; the body is left to the caller. */
  private async once(req: HttpRequest): Promise<HttpResponse> {
    const res = await this.send(req);
    const headers = flatHeaders(res.headers);
    const status = res.statusCode ?? 0;
    const body = responseBody(res, headers, {
      where: redactUrl(req.url),
      ...(req.label !== undefined ? { label: req.label } : {}),
      stallTimeout: this.opts.stallTimeout,
      signal: req.signal,
      progressInterval: this.opts.progressInterval ?? (this.opts.progress ? 250 : 1000),
      onProgress: this.progress(),
    });
    const accepted = (status >= 200 && status < 300) || (req.accept ?? []).includes(status);
    if (accepted && status < 300 && /text\/html/i.test(headers["content-type"] ?? "")) {
      // An HTML page where JSON or XML was asked for: a proxy's or CDN's error page, worth another attempt.
      body.resume();
      throw new ContrailError(
        "UPSTREAM",
        `HTTP ${status} from ${redactUrl(req.url)} is an HTML page, not data`,
        {
          retryable: true,
          status,
        },
      );
    }
    if (accepted || (req.followRedirects && REDIRECTS.includes(status)))
      return { status, url: req.url, headers, body };
    const text = await readAll(body, MAX_ERROR_BODY, req.url, true).catch(() => "");
    throw statusError(req, status, headers, text);
  }

  /** Sends the request; resolves with the response once its headers are in, within the connect timeout. */
  private send(req: HttpRequest): Promise<http.IncomingMessage> {
    const { signal } = req;
    if (signal.aborted) return Promise.reject(abortError(signal));
    const url = new URL(req.url);
    const tls = url.protocol === "https:";
    const r = (tls ? https : http).request(url, {
      method: req.method ?? "GET",
      agent: tls ? this.agents.https : this.agents.http,
      headers: {
        "user-agent": this.opts.userAgent ?? "contrail",
        "accept-encoding": "gzip",
        ...(req.body !== undefined ? { "content-length": Buffer.byteLength(req.body) } : {}),
        ...req.headers,
      },
    });
    const where = redactUrl(req.url);
    const onAbort = () => r.destroy(abortError(signal));
    // Some APIs take long before their first byte (Azure's SKU list): the request may ask for a longer wait.
    const headersTimeout = Math.max(req.headersTimeout ?? 0, this.opts.connectTimeout);
    const timer = setTimeout(() => {
      const msg = `no response from ${where} within ${headersTimeout} ms`;
      r.destroy(new ContrailError("HTTP_TIMEOUT", msg, { retryable: true }));
    }, headersTimeout);
    signal.addEventListener("abort", onAbort, { once: true });
    return new Promise<http.IncomingMessage>((resolve, reject) => {
      r.once("response", resolve);
      // Failures after the headers reach the body (body.ts); before them, they reject here.
      r.on("error", (err: NodeJS.ErrnoException) => reject(networkError(err, where, signal)));
      r.end(req.body);
    }).finally(() => {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
    });
  }

  /** Hands every report of one body to onProgress and to the progress reporter. */
  private progress(): ((p: DownloadProgress) => void) | undefined {
    const { onProgress, progress } = this.opts;
    if (!onProgress && !progress) return undefined;
    let shown: ReturnType<ProgressReporter["start"]> | undefined;
    return (p) => {
      onProgress?.(p);
      if (!progress) return;
      shown ??= progress.start(p.label ?? p.url, p.url);
      shown.update(p.bytes, p.total);
      if (p.done) shown.end();
    };
  }
}

function networkError(err: NodeJS.ErrnoException, where: string, signal: AbortSignal): Error {
  if (signal.aborted) return abortError(signal);
  if (err instanceof ContrailError) return err;
  return new ContrailError("HTTP_NETWORK", `${err.code ?? "network error"} from ${where}: ${err.message}`, {
    cause: err,
    retryable: true,
  });
}

function statusError(
  req: HttpRequest,
  status: number,
  headers: Record<string, string | undefined>,
  text: string,
) {
  const retryable = status === 408 || status === 429 || status >= 500 || (req.retryOn ?? []).includes(status);
  const retryAfterMs = retryable ? parseRetryAfter(headers) : undefined;
  return new ContrailError("HTTP_STATUS", `HTTP ${status} from ${redactUrl(req.url)}: ${snippet(text)}`, {
    retryable,
    status,
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
  });
}

export async function readAll(body: Readable, limit: number, url: string, lenient = false): Promise<string> {
  return (await readBytes(body, limit, url, lenient)).toString("utf8");
}

/** A small body's bytes; more than `limit` is an error (or, `lenient`, cut there). */
export async function readBytes(
  body: Readable,
  limit: number,
  url: string,
  lenient = false,
): Promise<Buffer> {
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
  return Buffer.concat(chunks);
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
