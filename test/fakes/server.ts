// A local HTTP(S) server with a request log and a fault layer, the base of every fake in test/fakes.
import http from "node:http";
import https from "node:https";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { AddressInfo, Socket } from "node:net";
import type { Readable } from "node:stream";

export interface LoggedRequest {
  method: string;
  url: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  at: number;
}

/** What a route answers. `body` may be a stream for large responses. */
export interface Reply {
  status?: number;
  headers?: Record<string, string | number>;
  body?: string | Buffer | Readable;
  /** Close the connection without any answer: a host that is not there (e.g. an endpoint that does not exist). */
  drop?: boolean;
}

export type Handler = (req: LoggedRequest, url: URL) => Reply | Promise<Reply>;

/**
 * Faults apply to the next `times` requests whose method and path match.
 * - status: answer this status (with headers/body) instead of the route.
 * - truncate: send the route's headers (with its Content-Length when known) but only `afterBytes` of the body, then end.
 * - reset: send `afterBytes` of the body, then destroy the socket.
 * - stall: send `afterBytes` of the body, then send nothing for `ms` (default: forever, until the client gives up).
 * - html200: answer 200 with an HTML error page.
 * - invalidJson: answer 200 with a body that is not JSON.
 * - badUtf8: the route's reply with `bytes` written over the start of its first string value longer than them
 *   (after the `": "` that ends a key): a body in the wrong encoding or damaged on the way, e.g. a proxy that
 *   re-encodes text as Latin-1. The length stays the same. `inKey`: in the first key longer than them instead
 *   (for documents whose string values are all short).
 * - delay: wait `ms` before answering normally.
 * - replace: answer this reply instead (e.g. a changed document).
 */
export type Fault =
  | { kind: "status"; status: number; headers?: Record<string, string>; body?: string }
  | { kind: "truncate"; afterBytes: number }
  | { kind: "reset"; afterBytes: number }
  | { kind: "stall"; afterBytes: number; ms?: number }
  | { kind: "html200" }
  | { kind: "invalidJson" }
  | { kind: "badUtf8"; bytes: number[]; inKey?: boolean }
  | { kind: "delay"; ms: number }
  | { kind: "replace"; reply: Reply };

export interface FaultRule {
  method?: string;
  path?: string | RegExp;
  fault: Fault;
  times: number;
}

const here = fileURLToPath(new URL(".", import.meta.url));
/** Self-signed certificate for 127.0.0.1 and localhost; trust it with NODE_EXTRA_CA_CERTS=test/fakes/tls/cert.pem. */
export const TLS_CERT_PATH = `${here}tls/cert.pem`;
export const TLS_KEY_PATH = `${here}tls/key.pem`;

export class FakeServer {
  readonly requests: LoggedRequest[] = [];
  private readonly routes: { method: string; path: string | RegExp; handler: Handler }[] = [];
  private readonly faults: FaultRule[] = [];
  private readonly sockets = new Set<Socket>();
  private server: http.Server | https.Server;
  private stallTimers = new Set<NodeJS.Timeout>();
  baseUrl = "";

  constructor(opts: { tls?: boolean } = {}) {
    const listener = (req: http.IncomingMessage, res: http.ServerResponse) => void this.handle(req, res);
    this.server = opts.tls
      ? https.createServer({ cert: readFileSync(TLS_CERT_PATH), key: readFileSync(TLS_KEY_PATH) }, listener)
      : http.createServer(listener);
    this.server.on("connection", (s: Socket) => {
      this.sockets.add(s);
      s.on("close", () => this.sockets.delete(s));
    });
    this.tls = opts.tls ?? false;
  }
  private readonly tls: boolean;

  route(method: string, path: string | RegExp, handler: Handler): this {
    this.routes.push({ method: method.toUpperCase(), path, handler });
    return this;
  }

  /** Injects a fault into the next `times` matching requests (default 1). */
  fault(match: { method?: string; path?: string | RegExp }, fault: Fault, times = 1): this {
    this.faults.push({ ...match, fault, times });
    return this;
  }

  clearFaults(): void {
    this.faults.length = 0;
  }

  /** Requests whose path matches, in arrival order. */
  requestsTo(path: string | RegExp, method?: string): LoggedRequest[] {
    return this.requests.filter(
      (r) => matches(path, r.path) && (!method || r.method === method.toUpperCase()),
    );
  }

  async listen(port = 0, host = "127.0.0.1"): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(port, host, resolve));
    const addr = this.server.address() as AddressInfo;
    this.baseUrl = `${this.tls ? "https" : "http"}://${host}:${addr.port}`;
    return this.baseUrl;
  }

  async close(): Promise<void> {
    for (const t of this.stallTimers) clearTimeout(t);
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private takeFault(method: string, path: string): Fault | undefined {
    const i = this.faults.findIndex(
      (f) => (!f.method || f.method.toUpperCase() === method) && (!f.path || matches(f.path, path)),
    );
    if (i < 0) return undefined;
    const rule = this.faults[i]!;
    rule.times -= 1;
    if (rule.times <= 0) this.faults.splice(i, 1);
    return rule.fault;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const url = new URL(req.url ?? "/", "http://fake");
    const logged: LoggedRequest = {
      method: req.method ?? "GET",
      url: req.url ?? "/",
      path: url.pathname,
      headers: req.headers,
      body: Buffer.concat(chunks).toString("utf8"),
      at: Date.now(),
    };
    this.requests.push(logged);
    try {
      const fault = this.takeFault(logged.method, logged.path);
      if (fault?.kind === "status") {
        res.writeHead(fault.status, { "content-type": "application/json", ...fault.headers });
        res.end(fault.body ?? "");
        return;
      }
      if (fault?.kind === "html200") {
        res.writeHead(200, { "content-type": "text/html" });
        res.end("<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>");
        return;
      }
      if (fault?.kind === "invalidJson") {
        res.writeHead(200, { "content-type": "application/json" });
        res.end('{"formatVersion": "v1.0", "products": {"X": {"sku": ');
        return;
      }
      if (fault?.kind === "delay") await new Promise((r) => setTimeout(r, fault.ms));
      const route = this.routes.find((r) => r.method === logged.method && matches(r.path, logged.path));
      let reply: Reply;
      if (fault?.kind === "replace") reply = fault.reply;
      else if (route) reply = await route.handler(logged, url);
      else reply = { status: 404, body: `no route for ${logged.method} ${logged.path}` };
      await this.send(res, reply, fault);
    } catch (err) {
      if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" });
      res.end(String(err));
    }
  }

  private async send(res: http.ServerResponse, reply: Reply, fault: Fault | undefined): Promise<void> {
    if (reply.drop) {
      res.socket?.destroy();
      return;
    }
    const headers: Record<string, string | number> = { ...reply.headers };
    const body = reply.body ?? "";
    if ((typeof body === "string" || Buffer.isBuffer(body)) && headers["content-length"] === undefined) {
      headers["content-length"] = Buffer.byteLength(body);
    }
    res.writeHead(reply.status ?? 200, headers);
    const cut =
      fault && (fault.kind === "truncate" || fault.kind === "reset" || fault.kind === "stall")
        ? fault
        : undefined;
    let sent = 0;
    let source: AsyncIterable<Buffer> | Iterable<Buffer> =
      typeof body === "string" || Buffer.isBuffer(body)
        ? [Buffer.from(body)]
        : (body as AsyncIterable<Buffer>);
    if (fault?.kind === "badUtf8") source = damaged(source, Buffer.from(fault.bytes), fault.inKey);
    for await (const chunk of source) {
      if (cut && sent + chunk.length >= cut.afterBytes) {
        const head = chunk.subarray(0, cut.afterBytes - sent);
        if (head.length > 0) await write(res, head);
        await this.cutOff(res, cut);
        if (typeof (body as Readable).destroy === "function") (body as Readable).destroy();
        return;
      }
      sent += chunk.length;
      if (!(await write(res, chunk))) return;
    }
    res.end();
  }

  private async cutOff(res: http.ServerResponse, fault: Fault & { kind: "truncate" | "reset" | "stall" }) {
    if (fault.kind === "reset") {
      // Over TLS the TCP socket sits under the TLS socket, whose resetAndDestroy() throws (not a TCP handle).
      const tcp = (res.socket as (Socket & { _parent?: Socket }) | null)?._parent ?? res.socket;
      if (tcp?.resetAndDestroy) tcp.resetAndDestroy();
      else res.socket?.destroy();
      return;
    }
    if (fault.kind === "truncate") {
      // End the connection cleanly but early: the client sees fewer bytes than Content-Length (or no final chunk).
      await new Promise((r) => setTimeout(r, 20));
      res.socket?.end();
      res.socket?.destroySoon?.();
      return;
    }
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        this.stallTimers.delete(t);
        resolve();
      }, fault.ms ?? 3_600_000);
      this.stallTimers.add(t);
      res.on("close", () => {
        clearTimeout(t);
        this.stallTimers.delete(t);
        resolve();
      });
    });
    res.destroy();
  }
}

/** Writes `bytes` over the first string value (or key, `inKey`) in one chunk that is longer than them. */
async function* damaged(
  source: AsyncIterable<Buffer> | Iterable<Buffer>,
  bytes: Buffer,
  inKey = false,
): AsyncIterable<Buffer> {
  const n = bytes.length + 1;
  const value = inKey
    ? new RegExp(`[{,]\\s*"[A-Za-z0-9_]{${n}}`)
    : new RegExp(`"\\s*:\\s*"[A-Za-z0-9 ]{${n}}`);
  let done = false;
  for await (const chunk of source) {
    const m = done ? null : value.exec(chunk.toString("latin1"));
    if (!m) {
      yield chunk;
      continue;
    }
    const out = Buffer.from(chunk);
    bytes.copy(out, m.index + m[0].length - bytes.length - 1);
    done = true;
    yield out;
  }
}

function matches(pattern: string | RegExp, path: string): boolean {
  return typeof pattern === "string" ? pattern === path : pattern.test(path);
}

function write(res: http.ServerResponse, chunk: Buffer): Promise<boolean> {
  if (res.destroyed) return Promise.resolve(false);
  if (res.write(chunk)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      res.off("drain", onDrain);
      res.off("close", onClose);
      resolve(ok);
    };
    const onDrain = () => done(true);
    const onClose = () => done(false);
    res.on("drain", onDrain);
    res.on("close", onClose);
  });
}

/** A fake cloud API served by its own FakeServer: starting it, its base URL, closing it. */
export abstract class FakeApi {
  constructor(readonly server: FakeServer) {}

  /** Starts listening; returns the base URL (`https://127.0.0.1:PORT`, or `http://` without TLS). */
  start(): Promise<string> {
    return this.server.listen();
  }

  get baseUrl(): string {
    return this.server.baseUrl;
  }

  close(): Promise<void> {
    return this.server.close();
  }
}
