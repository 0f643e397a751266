// The `gcp` section: the Cloud Billing Catalog's key, endpoint and services, declared once for Google's sources.
import * as z from "zod";
import { schemas } from "../../config/schema.js";
import { setting } from "../../config/settings.js";
import { defineProvider } from "../define.js";

/** Compute Engine's service id in the catalogue (`services/6F81-5844-456A`). */
export const COMPUTE_ENGINE = "6F81-5844-456A";

/** A catalogue service id: three groups of four hex digits, as `/v1/services` lists them. */
const serviceId = z
  .string()
  .trim()
  .regex(/^[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}$/, {
    message: "expected Cloud Billing service ids such as 6F81-5844-456A",
  });

export const gcpProvider = defineProvider({
  key: "gcp",
  settings: [
    setting({
      key: "apiKey",
      env: "CONTRAIL_GCP_API_KEY",
      schema: schemas.secret(),
      secret: true,
      doc: "Google Cloud API key (Cloud Billing API enabled)",
      defaultDoc: "none",
    }),
    setting({
      key: "billingUrl",
      env: "CONTRAIL_GCP_BILLING_URL",
      schema: schemas.baseUrl(),
      default: "https://cloudbilling.googleapis.com",
      doc: "Google Cloud Billing Catalog",
    }),
    setting({
      key: "services",
      schema: z
        .array(serviceId)
        .min(1, { message: "expected at least one service id" })
        .refine((l) => new Set(l).size === l.length, { message: "expected each service id once" }),
      default: [COMPUTE_ENGINE],
      doc: "Cloud Billing Catalog services captured by `GoogleCloud` (config file only)",
      defaultDoc: "Compute Engine `6F81-5844-456A`",
    }),
  ],
});
