// Fault suite, a lake that cannot be written (SPEC §6; issue 8 item 12): the start-up probe stops the crawler before
// any download (exit 2), naming the setting that chose the lake and the reason, for both lake kinds.
import { describe, test } from "node:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { SOURCES, useHarness } from "./harness.js";
import { tempDir } from "../helpers.js";

describe("fault: an unwritable lake", () => {
  const h = useHarness("lake-startup");

  for (const source of SOURCES) {
    test(`${source}, local lake: a file where the lake's directory should be → refused at start-up (exit 2), nothing downloaded`, async (t) => {
      const work = tempDir();
      try {
        writeFileSync(join(work.dir, "file"), "not a directory");
        await h.scenario(
          {
            source,
            lake: "local",
            lakeUrl: join(work.dir, "file", "lake"),
            noLake: true,
            expect: "refused",
            message: /cannot write to the lake \S+\/file\/lake: cannot create \S+: ENOTDIR/,
          },
          t,
        );
      } finally {
        work.cleanup();
      }
    });

    test(`${source}, s3 lake: AccessDenied on every PutObject → refused at start-up (exit 2) naming s3:PutObject, nothing downloaded`, async (t) => {
      await h.scenario(
        {
          source,
          lake: "s3",
          inject: (f) => void f.s3.proxy.denyAccess({ method: "PUT" }),
          expect: "refused",
          message:
            /cannot write to the lake s3:\/\/\S+: access denied to \S+_contrail\/probe\/\S+ in bucket lake: the credentials need s3:PutObject/,
        },
        t,
      );
    });
  }
});
