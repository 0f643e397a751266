// Fake Microsoft Entra ID (Azure AD): OpenID discovery and client-credentials tokens, v2 and v1 (wire-formats §4).
import { randomBytes, randomUUID } from "node:crypto";
import { FakeApi, FakeServer, type LoggedRequest, type Reply } from "./server.js";

export interface IssuedToken {
  token: string;
  tenant: string;
  clientId: string;
  /** v2 `scope` or v1 `resource`, as requested. */
  audience: string;
  version: "v1" | "v2";
  issuedAt: Date;
  expiresAt: Date;
}

export interface TokenRequest {
  version: "v1" | "v2";
  tenant: string;
  /** Form parameters as sent (client_secret included: it is a test fake). */
  params: Record<string, string>;
  /** Query parameters of the token URL (MSAL may add some). */
  query: Record<string, string>;
  status: number;
  /** AADSTS error code when refused. */
  error?: number;
  at: Date;
}

export interface FakeEntraOptions {
  tenantId?: string;
  clientId?: string;
  clientSecret?: string;
  /** Seconds; default 3599. */
  expiresIn?: number;
}

const JSON_TYPE = "application/json; charset=utf-8";

export class FakeEntra extends FakeApi {
  readonly tenantId: string;
  readonly clientId: string;
  clientSecret: string;
  /** Lifetime of the next tokens, in seconds. */
  expiresIn: number;
  readonly issuedTokens: IssuedToken[] = [];
  readonly tokenRequests: TokenRequest[] = [];
  private throttles: { times: number; retryAfter: number }[] = [];

  constructor(opts: FakeEntraOptions = {}) {
    super(new FakeServer({ tls: true }));
    this.tenantId = opts.tenantId ?? "72f988bf-86f1-41af-91ab-2d7cd011db47";
    this.clientId = opts.clientId ?? "5c1f0a3e-8f1d-4c6b-9a52-0e5b6f3d2a11";
    this.clientSecret = opts.clientSecret ?? "fake~client~secret~do-not-print";
    this.expiresIn = opts.expiresIn ?? 3599;
    const s = this.server;
    s.route("GET", /^\/[^/]+\/v2\.0\/\.well-known\/openid-configuration$/, (req) => this.openid(req, "v2"));
    s.route("GET", /^\/[^/]+\/\.well-known\/openid-configuration$/, (req) => this.openid(req, "v1"));
    s.route("POST", /^\/[^/]+\/oauth2\/v2\.0\/token$/, (req, url) => this.token(req, url, "v2"));
    s.route("POST", /^\/[^/]+\/oauth2\/token$/, (req, url) => this.token(req, url, "v1"));
    s.route("GET", /^\/[^/]+\/discovery\/(v2\.0\/)?instance$/, (_req, url) => this.instanceDiscovery(url));
    s.route("GET", /^\/[^/]+\/discovery\/(v2\.0\/)?keys$/, () => json(200, { keys: [] }));
  }

  /** The token record if `token` was issued here and has not expired (or been revoked). */
  validToken(token: string, at = new Date()): IssuedToken | undefined {
    const t = this.issuedTokens.find((x) => x.token === token);
    return t && t.expiresAt > at ? t : undefined;
  }

  /** Ends every issued token's life now (the holder must renew). */
  expireAll(): void {
    const now = new Date(Date.now() - 1);
    for (const t of this.issuedTokens) t.expiresAt = now;
  }

  /** The next `times` token requests get 429 with Retry-After (MSAL then blocks identical requests locally). */
  throttle(times: number, retryAfter = 1): void {
    this.throttles.push({ times, retryAfter });
  }

  private knownTenant(tenant: string): boolean {
    return tenant === this.tenantId || tenant === "organizations" || tenant === "common";
  }

  private openid(req: LoggedRequest, version: "v1" | "v2"): Reply {
    const tenant = req.path.split("/")[1]!;
    if (!this.knownTenant(tenant)) return aadError(400, "invalid_tenant", 90002, tenantNotFound(tenant));
    const b = `${this.baseUrl}/${tenant}`;
    const v = version === "v2" ? "/v2.0" : "";
    return json(200, {
      token_endpoint: `${b}/oauth2${v}/token`,
      token_endpoint_auth_methods_supported: ["client_secret_post", "private_key_jwt", "client_secret_basic"],
      jwks_uri: `${b}/discovery${v}/keys`,
      response_modes_supported: ["query", "fragment", "form_post"],
      subject_types_supported: ["pairwise"],
      id_token_signing_alg_values_supported: ["RS256"],
      response_types_supported: ["code", "id_token", "code id_token", "id_token token"],
      scopes_supported: ["openid", "profile", "email", "offline_access"],
      issuer: version === "v2" ? `${b}/v2.0` : `${b}/`,
      request_uri_parameter_supported: false,
      userinfo_endpoint: `${this.baseUrl}/oidc/userinfo`,
      authorization_endpoint: `${b}/oauth2${v}/authorize`,
      device_authorization_endpoint: `${b}/oauth2${v}/devicecode`,
      http_logout_supported: true,
      frontchannel_logout_supported: true,
      end_session_endpoint: `${b}/oauth2${v}/logout`,
      claims_supported: ["sub", "iss", "aud", "exp", "iat", "auth_time", "acr", "nonce", "tid", "ver", "oid"],
      kerberos_endpoint: `${b}/kerberos`,
      tenant_region_scope: "NA",
      cloud_instance_name: "microsoftonline.com",
      cloud_graph_host_name: "graph.windows.net",
      msgraph_host: "graph.microsoft.com",
      rbac_url: "https://pas.windows.net",
    });
  }

  private instanceDiscovery(url: URL): Reply {
    const host = new URL(this.baseUrl).host;
    return json(200, {
      tenant_discovery_endpoint: `${this.baseUrl}/${this.tenantId}/v2.0/.well-known/openid-configuration`,
      "api-version": url.searchParams.get("api-version") ?? "1.1",
      metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }],
    });
  }

  private token(req: LoggedRequest, url: URL, version: "v1" | "v2"): Reply {
    const tenant = req.path.split("/")[1]!;
    const params = Object.fromEntries(new URLSearchParams(req.body));
    const record: TokenRequest = {
      version,
      tenant,
      params,
      query: Object.fromEntries(url.searchParams),
      status: 200,
      at: new Date(),
    };
    this.tokenRequests.push(record);
    const refuse = (status: number, error: string, code: number, text: string): Reply => {
      record.status = status;
      record.error = code;
      return aadError(status, error, code, text);
    };
    const th = this.throttles[0];
    if (th) {
      if (--th.times <= 0) this.throttles.shift();
      record.status = 429;
      return {
        ...aadError(429, "temporarily_unavailable", 50196, "The server is temporarily unavailable."),
        headers: { "content-type": JSON_TYPE, "retry-after": String(th.retryAfter) },
      };
    }
    if (!this.knownTenant(tenant)) return refuse(400, "invalid_request", 90002, tenantNotFound(tenant));
    const audienceParam = version === "v2" ? "scope" : "resource";
    for (const p of ["grant_type", "client_id", audienceParam]) {
      if (!params[p])
        return refuse(
          400,
          "invalid_request",
          900144,
          `The request body must contain the following parameter: '${p}'.`,
        );
    }
    if (params.grant_type !== "client_credentials") {
      return refuse(400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type.");
    }
    if (params.client_id !== this.clientId) {
      return refuse(
        400,
        "unauthorized_client",
        700016,
        `Application with identifier '${params.client_id}' was not found in the directory '${tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
      );
    }
    if (params.client_secret === undefined && params.client_assertion === undefined) {
      return refuse(
        401,
        "invalid_client",
        7000218,
        "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
      );
    }
    if (params.client_secret !== this.clientSecret) {
      return refuse(
        401,
        "invalid_client",
        7000215,
        `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${this.clientId}'.`,
      );
    }
    const audience = params[audienceParam]!;
    if (version === "v2" && !audience.split(" ").every((s) => s.endsWith("/.default"))) {
      return refuse(
        400,
        "invalid_scope",
        1002012,
        `The provided value for scope ${audience} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
      );
    }
    const issuedAt = new Date();
    const expiresAt = new Date(issuedAt.getTime() + this.expiresIn * 1000);
    const token = randomBytes(48).toString("base64url");
    this.issuedTokens.push({
      token,
      tenant,
      clientId: this.clientId,
      audience,
      version,
      issuedAt,
      expiresAt,
    });
    if (version === "v2") {
      return json(200, {
        token_type: "Bearer",
        expires_in: this.expiresIn,
        ext_expires_in: this.expiresIn,
        access_token: token,
      });
    }
    const secs = (d: Date) => String(Math.floor(d.getTime() / 1000));
    return json(200, {
      token_type: "Bearer",
      expires_in: String(this.expiresIn),
      ext_expires_in: String(this.expiresIn),
      expires_on: secs(expiresAt),
      not_before: secs(issuedAt),
      resource: audience,
      access_token: token,
    });
  }
}

function tenantNotFound(tenant: string): string {
  return `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.`;
}

function json(status: number, body: unknown): Reply {
  return {
    status,
    headers: { "content-type": JSON_TYPE, "cache-control": "no-store, no-cache" },
    body: JSON.stringify(body),
  };
}

/** The AADSTS error shape (wire-formats §4.3). */
export function aadError(status: number, error: string, code: number, text: string): Reply {
  const traceId = randomUUID();
  const correlationId = randomUUID();
  const timestamp = new Date()
    .toISOString()
    .replace("T", " ")
    .replace(/\.\d+Z$/, "Z");
  return json(status, {
    error,
    error_description: `AADSTS${code}: ${text} Trace ID: ${traceId} Correlation ID: ${correlationId} Timestamp: ${timestamp}`,
    error_codes: [code],
    timestamp,
    trace_id: traceId,
    correlation_id: correlationId,
    error_uri: `https://login.microsoftonline.com/error?code=${code}`,
  });
}
