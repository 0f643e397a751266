// Azure sign-in: a client-secret service principal through @azure/identity, one credential per process (its MSAL
// cache keeps the token and renews it before expiry). Failures become messages that name the setting to check,
// from the AADSTS code, and never carry the secret.
import { createHash } from "node:crypto";
import type { ClientSecretCredential } from "@azure/identity";
import { abortError, ContrailError, errorMessage } from "../../errors.js";
import { readAll } from "../../http/client.js";
import type { Config } from "../../config/schema.js";
import type { HttpClient } from "../../types.js";

/** Microsoft's own sign-in hosts: MSAL knows their metadata; any other host needs instance discovery off. */
const MICROSOFT_AUTHORITY_HOSTS = new Set([
  "login.microsoftonline.com",
  "login.microsoft.com",
  "login.windows.net",
  "sts.windows.net",
  "login-us.microsoftonline.com",
  "login.microsoftonline.us",
  "login.usgovcloudapi.net",
  "login.chinacloudapi.cn",
  "login.partner.microsoftonline.cn",
  "login.microsoftonline.de",
]);

/** Resource Manager audiences of the sovereign clouds; any other management URL (a private or test endpoint)
 *  is taken to speak for the public cloud's Resource Manager. */
const ARM_AUDIENCES: Record<string, string> = {
  "management.usgovcloudapi.net": "https://management.usgovcloudapi.net",
  "management.chinacloudapi.cn": "https://management.chinacloudapi.cn",
};
const PUBLIC_ARM_AUDIENCE = "https://management.azure.com";

export function armScope(managementUrl: string): string {
  return `${ARM_AUDIENCES[new URL(managementUrl).hostname] ?? PUBLIC_ARM_AUDIENCE}/.default`;
}

export function isMicrosoftAuthority(authorityHost: string): boolean {
  return MICROSOFT_AUTHORITY_HOSTS.has(new URL(authorityHost).hostname.toLowerCase());
}

const credentials = new Map<string, ClientSecretCredential>();

type AzureSettings = Config["azure"];

/** @azure/identity is loaded on first use: runs without the Azure source never pay for it. */
let identity: Promise<typeof import("@azure/identity")> | undefined;

async function credentialFor(az: AzureSettings): Promise<ClientSecretCredential> {
  const { ClientSecretCredential } = await (identity ??= import("@azure/identity"));
  const { tenantId, clientId, clientSecret } = requireSettings(az);
  // The secret is part of the identity of a credential, but only as a hash: keys may end up in a debugger.
  const secretHash = createHash("sha256").update(clientSecret).digest("hex").slice(0, 16);
  const key = `${az.authorityHost}|${tenantId}|${clientId}|${secretHash}`;
  let cred = credentials.get(key);
  if (!cred) {
    cred = new ClientSecretCredential(tenantId, clientId, clientSecret, {
      authorityHost: az.authorityHost,
      // Otherwise MSAL asks the hard-coded login.microsoftonline.com whether a foreign authority is genuine.
      disableInstanceDiscovery: !isMicrosoftAuthority(az.authorityHost),
    });
    credentials.set(key, cred);
  }
  return cred;
}

function requireSettings(az: AzureSettings): { tenantId: string; clientId: string; clientSecret: string } {
  const { tenantId, clientId, clientSecret } = az;
  if (!tenantId || !clientId || !clientSecret) {
    const missing = [
      !tenantId && "AZURE_TENANT_ID",
      !clientId && "AZURE_CLIENT_ID",
      !clientSecret && "AZURE_CLIENT_SECRET",
    ].filter(Boolean);
    throw new ContrailError("AUTH", `Azure sign-in needs ${missing.join(", ")}`);
  }
  return { tenantId, clientId, clientSecret };
}

/** A bearer token for Resource Manager (cached and renewed by the credential). */
export async function armToken(az: AzureSettings, http: HttpClient, signal: AbortSignal): Promise<string> {
  const cred = await credentialFor(az);
  try {
    const token = await cred.getToken(armScope(az.managementUrl), { abortSignal: signal });
    if (!token?.token)
      throw new ContrailError("AUTH", "Azure sign-in returned no access token", { retryable: true });
    return token.token;
  } catch (err) {
    if (signal.aborted) throw abortError(signal);
    if (err instanceof ContrailError) throw err;
    throw await explainSignInError(err, az, http, signal);
  }
}

/** What to check for an AADSTS error code; undefined for codes that say nothing about the settings. */
function settingFor(code: number): { setting: string; what: string } | undefined {
  switch (code) {
    case 7000215:
    case 7000218:
      return {
        setting: "AZURE_CLIENT_SECRET",
        what: "the client secret was refused (use the secret's value, not its ID)",
      };
    case 7000222:
      return { setting: "AZURE_CLIENT_SECRET", what: "the client secret has expired" };
    case 700016:
      return {
        setting: "AZURE_CLIENT_ID",
        what: "no application with this client ID in the tenant (or AZURE_TENANT_ID names the wrong tenant)",
      };
    case 7000112:
      return { setting: "AZURE_CLIENT_ID", what: "the application is disabled" };
    case 90002:
    case 900023:
    case 90072:
      return { setting: "AZURE_TENANT_ID", what: "the tenant was not found" };
    default:
      return undefined;
  }
}

const TRANSIENT =
  /\b(429|5\d\d|temporarily_unavailable|ECONNRESET|ECONNREFUSED|ETIMEDOUT|EAI_AGAIN|socket hang up|timed? ?out)\b/i;

/**
 * Turns an @azure/identity / MSAL failure into a ContrailError("AUTH") that names the setting to check. The
 * original error is not attached as the cause: its text is scrubbed of the secret here, its other fields are not.
 */
export async function explainSignInError(
  err: unknown,
  az: AzureSettings,
  http: HttpClient,
  signal: AbortSignal,
): Promise<ContrailError> {
  const raw = scrub(errorMessage(err), az.clientSecret);
  // MSAL hides why it could not resolve the authority's endpoints; ask the authority ourselves.
  if (/endpoints_resolution_error/.test(raw)) return diagnoseAuthority(az, http, signal);
  const code = Number(/AADSTS(\d+)/.exec(raw)?.[1] ?? /Error\(s\): (\d+)/.exec(raw)?.[1] ?? NaN);
  const hint = Number.isNaN(code) ? undefined : settingFor(code);
  const description = /AADSTS\d+: (.*?)(?: Trace ID:| - |$)/.exec(raw)?.[1]?.trim();
  if (hint) {
    return new ContrailError(
      "AUTH",
      `Azure sign-in failed (AADSTS${code}): ${hint.what}: check ${hint.setting}` +
        (description ? ` (${description})` : ""),
    );
  }
  const summary = description ? `AADSTS${code}: ${description}` : raw.split("\n")[0]!.slice(0, 300);
  return new ContrailError(
    "AUTH",
    `Azure sign-in failed: ${summary}; check AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET and AZURE_AUTHORITY_HOST`,
    { retryable: TRANSIENT.test(raw) },
  );
}

async function diagnoseAuthority(
  az: AzureSettings,
  http: HttpClient,
  signal: AbortSignal,
): Promise<ContrailError> {
  const url = `${az.authorityHost}/${az.tenantId}/v2.0/.well-known/openid-configuration`;
  try {
    const res = await http.request({ url, signal, accept: [400, 401, 403, 404], label: "sign-in" });
    const text = await readAll(res.body, 64 * 1024, url, true);
    const code = Number(/AADSTS(\d+)/.exec(text)?.[1] ?? NaN);
    if (code === 90002 || code === 900023 || /invalid_tenant/.test(text)) {
      return new ContrailError(
        "AUTH",
        `Azure sign-in failed (AADSTS${Number.isNaN(code) ? 90002 : code}): tenant ${az.tenantId} was not found at ${az.authorityHost}: check AZURE_TENANT_ID (and AZURE_AUTHORITY_HOST for a sovereign cloud)`,
      );
    }
    if (res.status >= 400) {
      return new ContrailError(
        "AUTH",
        `Azure sign-in failed: ${url} answered HTTP ${res.status}: check AZURE_TENANT_ID and AZURE_AUTHORITY_HOST`,
      );
    }
    // The authority answers now: whatever failed was probably passing.
    return new ContrailError(
      "AUTH",
      `Azure sign-in failed: could not resolve ${az.authorityHost}'s endpoints`,
      { retryable: true },
    );
  } catch (err) {
    if (signal.aborted) throw abortError(signal);
    return new ContrailError(
      "AUTH",
      `Azure sign-in failed: cannot reach the authority ${az.authorityHost} (${errorMessage(err)}): check AZURE_AUTHORITY_HOST`,
      { retryable: true },
    );
  }
}

function scrub(text: string, secret: string | undefined): string {
  return secret ? text.split(secret).join("(hidden)") : text;
}
