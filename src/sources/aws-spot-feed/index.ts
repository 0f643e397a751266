// AmazonEC2SpotFeed: the public spot price feed behind AWS's spot pricing page (SPEC §4): the current price per
// region, instance type and OS (`config.regions[].instanceTypes[].sizes[].valueColumns[]`), no timestamp inside.
// `spot.json` is plain JSON; the `spot.js` forms are JSONP, stored as the JSON inside with the callback's name in the
// manifest (public-doc/jsonp.ts says what is accepted). Unchanged (ETag, else the same bytes): a check.
import { schemas } from "../../config/schema.js";
import { setting } from "../../config/settings.js";
import { defineSource } from "../define.js";
import { runPublicDoc } from "../public-doc/index.js";

export const amazonEc2SpotFeed = defineSource({
  name: "AmazonEC2SpotFeed",
  summary:
    "the public spot price feed behind AWS's spot pricing page: current price per region, instance type and OS",
  unit: "`global`",
  needs: "nothing",
  defaultInterval: 3_600_000,
  settings: [
    setting({
      key: "url",
      env: "CONTRAIL_AWS_SPOT_FEED_URL",
      schema: schemas.httpUrl,
      default: "https://website.spot.ec2.aws.a2z.com/spot.json",
      doc: "public spot price feed (JSON or JSONP)",
    }),
  ],
  missing: () => [],

  run: (ctx) =>
    runPublicDoc(ctx, {
      url: ctx.settings.url,
      shape: { root: "object", requiredKeys: ["vers", "config"] },
      jsonp: true,
    }),
});
