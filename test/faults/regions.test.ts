// Fault suite, AmazonEC2Spot regions (SPEC §6; issue 8 items 1 and 3), across both lakes: regions refused for not
// being enabled (long-term keys, STS credentials, an SCP) and names without an EC2 endpoint beside the judged
// region leave it complete and the run green; an AuthFailure in a region DescribeRegions reports as enabled is a
// credential problem: that region fails and nothing of it is stored.
// Run: NODE_EXTRA_CA_CERTS=test/fakes/tls/cert.pem node --import tsx --test test/faults/regions.test.ts
import { describe, test } from "node:test";
import type { OptInStatus } from "../fakes/ec2-regions.js";
import { LAKES, REGION, useHarness } from "./harness.js";

const SPOT = REGION.AmazonEC2Spot;

/** A small account: us-east-1 (where DescribeRegions is asked), the judged region, and `more`. */
function account(...more: [string, OptInStatus][]): Map<string, OptInStatus> {
  return new Map<string, OptInStatus>([
    ["us-east-1", "opt-in-not-required"],
    [SPOT, "opt-in-not-required"],
    ...more,
  ]);
}

describe("fault: AmazonEC2Spot regions", () => {
  const h = useHarness("regions");
  for (const lake of LAKES) {
    test(`${lake} lake: regions refused as not enabled (AuthFailure, STS, SCP) beside ${SPOT} → skipped, complete`, async (t) => {
      await h.scenario(
        {
          source: "AmazonEC2Spot",
          lake,
          env: {
            CONTRAIL_AWS_REGIONS: [SPOT, "ap-east-1", "me-south-1", "eu-south-1", "il-central-1"].join(","),
          },
          inject: (f) => {
            f.ec2.disableRegion("ap-east-1", "RegionDisabledException");
            f.ec2.disableRegion("me-south-1", "InvalidClientTokenId");
            f.ec2.disableRegion("il-central-1", "AuthFailure");
            f.ec2.denyRegion("eu-south-1");
          },
          expect: "complete",
        },
        t,
      );
    });

    test(`${lake} lake: DescribeRegions names the enabled regions; the others are never called → complete`, async (t) => {
      await h.scenario(
        {
          source: "AmazonEC2Spot",
          lake,
          env: { CONTRAIL_AWS_REGIONS: undefined },
          inject: (f) => {
            f.ec2.regionStatus = account(["ap-east-1", "not-opted-in"]);
          },
          expect: "complete",
        },
        t,
      );
    });

    test(`${lake} lake: AuthFailure in a region DescribeRegions reports enabled → failed, nothing stored`, async (t) => {
      await h.scenario(
        {
          source: "AmazonEC2Spot",
          lake,
          env: { CONTRAIL_AWS_REGIONS: undefined },
          inject: (f) => {
            f.ec2.regionStatus = account();
            f.ec2.fail(SPOT, 100, {
              status: 401,
              code: "AuthFailure",
              message: "AWS was not able to validate the provided access credentials",
            });
          },
          expect: "failed",
          message: /which DescribeRegions reports as enabled/,
        },
        t,
      );
    });
  }
});
