// The one list of the fault suite: the fakes it starts and a kit per source of the registry. A source registered in
// src/sources/index.ts without a kit here does not compile (`satisfies`), so the suite never silently skips one.
import type { FakeS3 } from "../fakes/s3.js";
import {
  SERVICE,
  amazonEc2Kit,
  amazonEc2SpotKit,
  awsComputeSavingsPlanKit,
  ec2Fake,
  priceListServiceKit,
  pricingFake,
} from "../fakes/aws.kit.js";
import { azureFake, azureKit, azureRetailKit } from "../fakes/azure.kit.js";
import {
  oracleFake,
  oracleKit,
  spotAdvisorFake,
  spotAdvisorKit,
  spotFeedFake,
  spotFeedKit,
} from "../fakes/public.kit.js";
import { gcpFake, googleCloudKit } from "../fakes/gcp.kit.js";
import type { SOURCES } from "../../src/sources/index.js";
import type { FakeKit, SourceKit } from "./kit.js";

export const FAKES = {
  pricing: pricingFake,
  ec2: ec2Fake,
  azure: azureFake,
  spotAdvisor: spotAdvisorFake,
  spotFeed: spotFeedFake,
  oracle: oracleFake,
  gcp: gcpFake,
} as const;

export const KITS = {
  AmazonEC2: amazonEc2Kit,
  AmazonEC2Spot: amazonEc2SpotKit,
  Azure: azureKit,
  AzureRetail: azureRetailKit,
  AWSComputeSavingsPlan: awsComputeSavingsPlanKit,
  AmazonEC2SpotAdvisor: spotAdvisorKit,
  AmazonEC2SpotFeed: spotFeedKit,
  OracleCloud: oracleKit,
  GoogleCloud: googleCloudKit,
  // A source made from the configuration (aws.services), besides the registry's.
  [SERVICE]: priceListServiceKit,
} as const satisfies Record<(typeof SOURCES)[number]["name"], SourceKit> & Record<string, SourceKit>;

/** Every fake of the suite, started: each kit's, and S3. */
export type Fakes = {
  -readonly [K in keyof typeof FAKES]: (typeof FAKES)[K] extends FakeKit<infer T> ? T : never;
} & { s3: FakeS3 };

export type KitSource = keyof typeof KITS;
