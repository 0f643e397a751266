// The providers: each declares its config section once, for all its sources (src/sources/<provider>/settings.ts).
import { aws } from "./aws/settings.js";
import { azureProvider } from "./azure/settings.js";
import { gcpProvider } from "./gcp/settings.js";

export const PROVIDERS = [aws, azureProvider, gcpProvider] as const;
