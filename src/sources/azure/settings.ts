// The `azure` section: the service principal and endpoints every Azure source shares, declared once.
import { schemas } from "../../config/schema.js";
import { setting } from "../../config/settings.js";
import { defineProvider } from "../define.js";

export const azureProvider = defineProvider({
  key: "azure",
  settings: [
    setting({
      key: "tenantId",
      env: "AZURE_TENANT_ID",
      schema: schemas.nonBlank().regex(/^[0-9a-zA-Z.-]+$/, "expected a tenant ID (GUID or domain)"),
      doc: "Azure service principal: tenant",
      defaultDoc: "none",
    }),
    setting({
      key: "clientId",
      env: "AZURE_CLIENT_ID",
      schema: schemas.nonBlank(),
      doc: "Azure service principal: client",
      defaultDoc: "none",
    }),
    setting({
      key: "clientSecret",
      env: "AZURE_CLIENT_SECRET",
      schema: schemas.secret(),
      secret: true,
      doc: "Azure service principal: secret",
      defaultDoc: "none",
    }),
    setting({
      key: "subscriptionId",
      env: "AZURE_SUBSCRIPTION_ID",
      schema: schemas.nonBlank(),
      doc: "Azure subscription",
      defaultDoc: "none",
    }),
    setting({
      key: "authorityHost",
      env: "AZURE_AUTHORITY_HOST",
      schema: schemas.httpsBaseUrl(),
      default: "https://login.microsoftonline.com",
      doc: "Azure authority",
    }),
    setting({
      key: "managementUrl",
      env: "CONTRAIL_AZURE_MANAGEMENT_URL",
      schema: schemas.httpsBaseUrl(),
      default: "https://management.azure.com",
      doc: "Azure Resource Manager",
    }),
    setting({
      key: "retailUrl",
      env: "CONTRAIL_AZURE_RETAIL_URL",
      schema: schemas.baseUrl(),
      default: "https://prices.azure.com",
      doc: "Azure Retail Prices",
    }),
  ],
});
