// AmazonEC2Spot captures (SPEC §5): a JSON array of DescribeSpotPriceHistory records, each possibly enriched with
// its instance type's attributes. One row per record; the enrichment is kept as JSON.
import { decimalSql, parse, text, type Extractor } from "./extractor.js";

const FIELDS = ["AvailabilityZone", "InstanceType", "ProductDescription", "SpotPrice", "Timestamp"] as const;

export function spotExtractor(): Extractor {
  return {
    staging: {
      records: {
        csv: [
          "availability_zone",
          "instance_type",
          "product_description",
          "price",
          "timestamp",
          "attributes",
        ],
      },
    },
    choose: (path) => (path.length === 0 ? "descend" : path.length === 1 ? "take" : "skip"),
    value(_path, json, stage) {
      const r = parse<Record<string, unknown>>(json);
      const rest = Object.fromEntries(
        Object.entries(r).filter(([k]) => !(FIELDS as readonly string[]).includes(k)),
      );
      stage.row("records", [
        ...FIELDS.map((f) => text(r[f])),
        Object.keys(rest).length ? JSON.stringify(rest) : undefined,
      ]);
    },
    select: (capturedAt) => `SELECT CAST(${capturedAt} AS TIMESTAMPTZ) AS captured_at,
        availability_zone, instance_type, product_description, ${decimalSql("price")} AS price,
        CAST("timestamp" AS TIMESTAMPTZ) AS "timestamp", attributes
      FROM records`,
  };
}
