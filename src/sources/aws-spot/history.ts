// DescribeSpotPriceHistory through the AWS SDK: one client per region, every page of one time slice.
import type { EC2Client } from "@aws-sdk/client-ec2";
import { ContrailError, isAbortError } from "../../errors.js";
import type { BaseConfig } from "../../config/schema.js";
import { fastRows, seriesTable, useFastSpotPages } from "./page-xml.js";
import { rowOf, type SpotRow } from "./records.js";

export const PAGE_SIZE = 1000;

/**
 * Error codes AWS answers for a region the account has not enabled (wire-formats §2.4): `AuthFailure` and
 * `OptInRequired` with long-term keys; with credentials from STS (roles, IRSA, SSO), `InvalidClientTokenId` or
 * `RegionDisabledException`; `UnauthorizedOperation` where a service control policy denies the region.
 */
const NOT_ENABLED = new Set([
  "AuthFailure",
  "OptInRequired",
  "InvalidClientTokenId",
  "RegionDisabledException",
  "UnauthorizedOperation",
]);

/** The EC2 SDK is loaded on first use: runs without the spot source never pay for it (memory, start-up). */
let sdk: Promise<typeof import("@aws-sdk/client-ec2")> | undefined;
export const loadSdk = () => (sdk ??= import("@aws-sdk/client-ec2"));

export async function ec2Client(config: BaseConfig, region: string): Promise<EC2Client> {
  const { EC2Client } = await loadSdk();
  const { aws, http } = config;
  const client = new EC2Client({
    region,
    ...(aws.ec2Endpoint ? { endpoint: aws.ec2Endpoint } : {}),
    ...(aws.credentials
      ? { credentials: { ...aws.credentials } }
      : aws.profile
        ? { profile: aws.profile }
        : {}),
    maxAttempts: http.attempts,
    // Adaptive: exponential backoff on RequestLimitExceeded and 5xx, plus client-side rate limiting after throttling.
    retryMode: "adaptive",
    // socketTimeout is an inactivity timeout: it also fires when a response body stalls (requestTimeout only warns).
    requestHandler: { connectionTimeout: http.connectTimeout, socketTimeout: http.stallTimeout },
  });
  useFastSpotPages(client);
  return client;
}

/** Where the records come from, for the manifest's `urls`. */
export function endpointDescription(config: BaseConfig, region: string): string {
  const base = config.aws.ec2Endpoint ?? `https://ec2.${region}.amazonaws.com`;
  return `${base.replace(/\/+$/, "")}/ (${region}) Action=DescribeSpotPriceHistory`;
}

/** Every record EC2 returns for [start, end] (plus, per series, the last change before start), and the page count. */
export async function fetchSlice(
  client: EC2Client,
  region: string,
  slice: { start: Date; end: Date },
  signal: AbortSignal,
): Promise<{ rows: SpotRow[]; pages: number }> {
  const rows: SpotRow[] = [];
  let pages = 0;
  try {
    const { paginateDescribeSpotPriceHistory } = await loadSdk();
    const paginator = paginateDescribeSpotPriceHistory(
      { client, pageSize: PAGE_SIZE },
      { StartTime: slice.start, EndTime: slice.end, MaxResults: PAGE_SIZE },
      { abortSignal: signal },
    );
    for await (const page of paginator) {
      pages++;
      // An empty answer is `<spotPriceHistorySet/>` (→ []); no set at all means the body was not an EC2 response
      // (an HTML error page with status 200 parses into an empty object): never take that for "no prices".
      if (page.SpotPriceHistory === undefined) {
        throw new ContrailError(
          "UPSTREAM",
          `DescribeSpotPriceHistory in ${region} answered something that is not an EC2 response (no spotPriceHistorySet)`,
          { retryable: true },
        );
      }
      const fast = fastRows(page);
      if (fast) {
        for (const row of fast) rows.push(row);
        continue;
      }
      const table = seriesTable(client);
      for (const p of page.SpotPriceHistory) {
        const row = rowOf(p, table);
        if (row) rows.push(row);
      }
    }
  } catch (err) {
    throw classify(err, region);
  }
  return { rows, pages };
}

/**
 * SDK errors as Contrail errors. The SDK has already retried what can be retried (throttling, 5xx, timeouts), so
 * none of these is retryable again by the capture: the source's cooldown takes over.
 */
function classify(err: unknown, region: string): unknown {
  if (isAbortError(err) || err instanceof ContrailError) return err;
  const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const code = e?.name ?? "Error";
  const status = e?.$metadata?.httpStatusCode;
  if (NOT_ENABLED.has(code)) return new RegionDisabledError(region, code, err, status);
  return new ContrailError(
    "UPSTREAM",
    `DescribeSpotPriceHistory in ${region}: ${code}: ${e?.message ?? String(err)}`,
    {
      cause: err,
      ...(status !== undefined ? { status } : {}),
    },
  );
}

/** EC2 refused the region: the account has not enabled it (or, in every region at once, the credentials are bad). */
export class RegionDisabledError extends ContrailError {
  constructor(
    readonly region: string,
    /** One of NOT_ENABLED: `AuthFailure`, `OptInRequired`, `InvalidClientTokenId`, … */
    readonly awsCode: string,
    cause: unknown,
    status?: number,
  ) {
    super("REGION_DISABLED", `region ${region} not enabled for this account (${awsCode})`, {
      cause,
      ...(status !== undefined ? { status } : {}),
    });
    this.name = "RegionDisabledError";
  }
}
