// AmazonEC2Spot captures (SPEC §5): a JSON array of DescribeSpotPriceHistory records, each possibly enriched with
// its instance type's attributes. One row per record; the enrichment is kept as JSON.
import { text, type Extractor } from "./extractor.js";

const FIELDS = ["AvailabilityZone", "InstanceType", "ProductDescription", "SpotPrice", "Timestamp"] as const;

export function spotExtractor(): Extractor {
  return {
    staging: {
      records: [
        "availability_zone",
        "instance_type",
        "product_description",
        "price",
        "timestamp",
        "attributes",
      ],
    },
    choose: (path) => (path.length === 0 ? "descend" : path.length === 1 ? "take" : "skip"),
    value(_path, json, append) {
      const r = JSON.parse(json) as Record<string, unknown>;
      const rest = Object.fromEntries(
        Object.entries(r).filter(([k]) => !(FIELDS as readonly string[]).includes(k)),
      );
      append("records", [
        ...FIELDS.map((f) => text(r[f])),
        Object.keys(rest).length ? JSON.stringify(rest) : undefined,
      ]);
    },
    select: (capturedAt) => `SELECT CAST(${capturedAt} AS TIMESTAMPTZ) AS captured_at,
        availability_zone, instance_type, product_description, CAST(price AS DECIMAL(38,10)) AS price,
        CAST("timestamp" AS TIMESTAMPTZ) AS "timestamp", attributes
      FROM records`,
  };
}
