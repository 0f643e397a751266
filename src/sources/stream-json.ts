// stream-json (an ES module package of ~16 files), loaded on first use: every command imports the source registry
// (the config holds each source's settings), and loading stream-json with it cost `contrail query`, which never
// parses a stream, ~40 ms of start-up. A source loads it before it opens a body, so that no stream waits unread.
import type Assembler from "stream-json/assembler.js";
import type * as Parser from "stream-json/parser.js";

export interface StreamJson {
  parser: typeof Parser.parser;
  jsonParser: typeof Parser.jsonParser;
  Assembler: typeof Assembler;
}

let loaded: StreamJson | undefined;

/** stream-json's tokenizer and assembler, loaded on the first call. */
export async function streamJson(): Promise<StreamJson> {
  if (!loaded) {
    const [parser, assembler] = await Promise.all([
      import("stream-json/parser.js"),
      import("stream-json/assembler.js"),
    ]);
    loaded = { parser: parser.parser, jsonParser: parser.jsonParser, Assembler: assembler.default };
  }
  return loaded;
}
