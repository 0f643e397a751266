// AmazonEC2SpotAdvisor: the Spot Instance Advisor's data (SPEC §4), the public S3 object behind AWS's Spot Instance
// Advisor page: `spot_advisor[region][os][type] = {s: savings %, r: index into ranges}`, the interruption-frequency
// `ranges`, and `instance_types`. Stored as the bytes served; unchanged (S3's ETag, else the same bytes): a check.
import { schemas } from "../../config/schema.js";
import { setting } from "../../config/settings.js";
import { defineSource } from "../define.js";
import { runPublicDoc } from "../public-doc/index.js";

const HOUR = 3_600_000;

export const ADVISOR_KEYS = ["spot_advisor", "ranges", "instance_types"];

export const amazonEc2SpotAdvisor = defineSource({
  name: "AmazonEC2SpotAdvisor",
  summary:
    "the Spot Instance Advisor's data: interruption-frequency band and savings per region, OS and instance type",
  unit: "`global`",
  needs: "nothing",
  defaultInterval: 6 * HOUR,
  settings: [
    setting({
      key: "url",
      env: "CONTRAIL_AWS_SPOT_ADVISOR_URL",
      schema: schemas.httpUrl,
      default: "https://spot-bid-advisor.s3.amazonaws.com/spot-advisor-data.json",
      doc: "Spot Instance Advisor data",
    }),
  ],
  missing: () => [],

  run: (ctx) =>
    runPublicDoc(ctx, {
      url: ctx.settings.url,
      shape: { root: "object", requiredKeys: ADVISOR_KEYS },
      // An advisor without regions, bands or types advises nothing: an upstream fault, not a capture.
      nonEmpty: ADVISOR_KEYS,
    }),
});
