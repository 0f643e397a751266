// The terminal chart of `contrail price`: one line per series over an even time grid, a price change visible.
import { test } from "node:test";
import assert from "node:assert/strict";
import { chart } from "../../src/history/chart.js";

test("a series whose price rises shows both levels, labelled, with its legend and time span", () => {
  // eslint-disable-next-line no-control-regex
  const plain = (s: string) => s.replace(/\x1b\[\d+m/g, "");
  const out = plain(
    chart(
      [
        {
          series: "us-east-1 USD",
          price: 0.096,
          from: new Date("2026-01-01T00:00:00Z"),
          to: new Date("2026-01-10T00:00:00Z"),
        },
        { series: "us-east-1 USD", price: 0.1, from: new Date("2026-01-10T00:00:00Z"), to: null },
      ],
      { width: 20, now: new Date("2026-01-20T00:00:00Z") },
    ),
  );
  const lines = out.split("\n");
  assert.match(lines[0]!, /^\s+0\.1000 ┤/);
  assert.ok(
    lines.some((l) => /^\s+0\.0960 ┼─+/.test(l)),
    out,
  );
  assert.match(out, /2026-01-01T00:00Z … 2026-01-20T00:00Z/);
  assert.match(out, /── us-east-1 USD/);
  assert.equal(chart([]), "");
});
