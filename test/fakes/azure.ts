// The fake Azure cloud: Entra ID sign-in, Resource Manager (RateCard → blob, Compute SKUs) and Retail Prices.
// Each is its own HTTPS server, so a test sees which host got which request. Trust the certificate with
// NODE_EXTRA_CA_CERTS=test/fakes/tls/cert.pem (the test runner sets it).
export {
  FakeEntra,
  aadError,
  type FakeEntraOptions,
  type IssuedToken,
  type TokenRequest,
} from "./azure-entra.js";
export {
  FakeArm,
  parseRateCardFilter,
  RATECARD_API_VERSIONS,
  RATECARD_FILTER,
  SKUS_API_VERSIONS,
  type FakeArmOptions,
} from "./azure-arm.js";
export { FakeBlob } from "./azure-blob.js";
export {
  FakeRetail,
  compileFilter,
  type FakeRetailOptions,
  type RetailRateLimit,
  type RetailThrottle,
} from "./azure-retail.js";
export {
  expectedCapabilities,
  generateMeters,
  generateRateCard,
  generateRetailItems,
  generateSkus,
  type RateCard,
  type RateCardMeter,
  type ResourceSku,
  type RetailItem,
} from "./azure-data.js";

import { FakeEntra, type FakeEntraOptions } from "./azure-entra.js";
import { FakeArm, type FakeArmOptions } from "./azure-arm.js";
import { FakeRetail, type FakeRetailOptions } from "./azure-retail.js";

/** All of it, started: `env` holds the settings that point the crawler at it (SPEC §3). */
export async function startFakeAzure(
  opts: { entra?: FakeEntraOptions; arm?: FakeArmOptions; retail?: FakeRetailOptions } = {},
): Promise<{
  entra: FakeEntra;
  arm: FakeArm;
  retail: FakeRetail;
  env: Record<string, string>;
  close(): Promise<void>;
}> {
  const entra = new FakeEntra(opts.entra);
  const arm = new FakeArm(entra, opts.arm);
  const retail = new FakeRetail(opts.retail);
  await Promise.all([entra.start(), arm.start(), retail.start()]);
  return {
    entra,
    arm,
    retail,
    env: {
      AZURE_TENANT_ID: entra.tenantId,
      AZURE_CLIENT_ID: entra.clientId,
      AZURE_CLIENT_SECRET: entra.clientSecret,
      AZURE_SUBSCRIPTION_ID: arm.subscriptionId,
      AZURE_AUTHORITY_HOST: entra.baseUrl,
      CONTRAIL_AZURE_MANAGEMENT_URL: arm.baseUrl,
      CONTRAIL_AZURE_RETAIL_URL: retail.baseUrl,
    },
    close: async () => {
      await Promise.all([entra.close(), arm.close(), retail.close()]);
    },
  };
}
