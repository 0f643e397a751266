// The streaming pieces of the single-document path: the JSONP unwrapper and the member counter, fed every way a
// body can be cut into chunks (the wrapper's bytes split anywhere, one byte at a time).
import { test } from "node:test";
import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { JsonpUnwrap } from "../../src/sources/public-doc/jsonp.js";
import { MemberCounter } from "../../src/sources/public-doc/members.js";

/** `body` cut at `cuts` (byte offsets), through `t`; what came out, or the error. */
async function through(
  t: import("node:stream").Transform,
  body: string,
  cuts: number[],
): Promise<{ out: string } | { err: Error }> {
  const buf = Buffer.from(body);
  const at = [0, ...cuts.filter((c) => c > 0 && c < buf.length), buf.length];
  const chunks = at.slice(1).map((end, i) => buf.subarray(at[i], end));
  const out: Buffer[] = [];
  try {
    await pipeline(Readable.from(chunks), t, async (source: AsyncIterable<Buffer>) => {
      for await (const c of source) out.push(c);
    });
    return { out: Buffer.concat(out).toString("utf8") };
  } catch (err) {
    return { err: err as Error };
  }
}

/** Every single cut, and every byte on its own. */
function cutsOf(body: string): number[][] {
  const n = Buffer.byteLength(body);
  return [[], ...Array.from({ length: n }, (_, i) => [i]), Array.from({ length: n }, (_, i) => i)];
}

const JSON_DOC = '{"vers":0.01,"config":{"note":"a ); b","regions":[]}}';

test("JSONP: the JSON inside is passed on exactly, however the body is cut; the callback is named", async () => {
  for (const [body, name] of [
    [`callback(${JSON_DOC});`, "callback"],
    [`  jQuery3_1.cb (\n  ${JSON_DOC}\n) ;\n`, "jQuery3_1.cb"],
    [`$cb(${JSON_DOC})`, "$cb"],
    [`callback([1, 2, ")"]);`, "callback"],
  ] as const) {
    const inner = body.slice(body.indexOf("(") + 1, body.lastIndexOf(")")).trim();
    for (const cuts of cutsOf(body)) {
      let seen: string | undefined;
      const r = await through(new JsonpUnwrap("u", (n) => (seen = n)), body, cuts);
      assert.deepEqual(r, { out: inner }, `${body} cut at ${cuts.join(",")}`);
      assert.equal(seen, name);
    }
  }
});

test("JSONP: plain JSON passes through untouched and names no callback", async () => {
  for (const body of [JSON_DOC, `\n ${JSON_DOC}\n`, "[1,2]"]) {
    let seen: string | undefined;
    const r = await through(new JsonpUnwrap("u", (n) => (seen = n)), body, [3]);
    assert.deepEqual(r, { out: body });
    assert.equal(seen, undefined);
  }
});

test("JSONP: JavaScript keys, a wrapper that does not close and a name without '(' are refused", async () => {
  for (const [body, message] of [
    ["callback({vers:0.01,config:{}});", /unquoted/],
    ["callback( {\n vers: 1});", /unquoted/],
    [`callback(${JSON_DOC};`, /does not end with "\)" or "\);"/],
    [`callback(${JSON_DOC}`, /does not end/],
    [`callback(${JSON_DOC}));`, /does not end/],
    ["callback", /ends inside the JSONP wrapper/],
    ["var x = {};", /neither JSON nor JSONP/],
  ] as const) {
    for (const cuts of [[], [4], [9]]) {
      const r = await through(new JsonpUnwrap("u", () => undefined), body, cuts);
      assert.ok("err" in r, `${body}: refused`);
      assert.match(r.err.message, message);
      assert.equal((r.err as { code?: string }).code, "INVALID_JSON");
    }
  }
});

test("member counter: elements and keys of top-level containers, strings and nesting followed", async () => {
  const body =
    '{"lastUpdated": "x\\"items\\": []", "items": [{"a": [1, 2]}, "]", 3], "empty": [], ' +
    '"obj": {"k": {"items": [9]}, "j": 2}, "nested": {"items": []}}';
  for (const cuts of cutsOf(body)) {
    let counts: ReadonlyMap<string, number> | undefined;
    const r = await through(
      new MemberCounter(["items", "empty", "obj", "absent"], (c) => void (counts = c)),
      body,
      cuts,
    );
    assert.deepEqual(r, { out: body }, "passed on untouched");
    assert.deepEqual(Object.fromEntries(counts!), { items: 3, empty: 0, obj: 2 });
  }
});

test("JSONP: the content flows on while the body still streams; only the wrapper's end is held back", async () => {
  const t = new JsonpUnwrap("u", () => undefined);
  let out = 0;
  t.on("data", (c: Buffer) => (out += c.length));
  const ended = new Promise((resolve) => t.on("end", resolve));
  t.write(Buffer.from('callback({"a":"'));
  const MB = 1 << 20;
  for (let i = 0; i < 16; i++) t.write(Buffer.alloc(MB, 0x78));
  await new Promise((r) => setImmediate(r));
  assert.equal(out, 6 + 16 * MB, "every byte of the value so far has been passed on before the body ended");
  t.end(Buffer.from('"}\n);\n'));
  await ended;
  assert.equal(out, 6 + 16 * MB + 2, "then the value's end, without the wrapper's");
});
