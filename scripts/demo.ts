// `npm run demo`: the crawler end to end with no internet and no cloud account. Starts the fake cloud (AWS Price
// List, EC2 spot history, Entra ID + Resource Manager, Azure Retail Prices) and a local S3-compatible server, runs
// `contrail crawl --once` into that S3 server, then prints `contrail sources`, `contrail ls` and `contrail verify`.
// Then the price history: a local lake crawled before and after AWS publishes new prices, `contrail history` and a
// `contrail price` chart. That lake is kept (tmp/demo/lake) for docs/history.md's example queries.
import { spawn } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import { join, relative } from "node:path";
import type { ProductInput } from "../test/fakes/aws-offer.js";
import { FakeAwsPricing } from "../test/fakes/aws-pricing.js";
import { startFakeAzure } from "../test/fakes/azure.js";
import { FakeEc2 } from "../test/fakes/ec2.js";
import { FakeOraclePrices } from "../test/fakes/oracle.js";
import { FakeSpotAdvisor, FakeSpotFeed } from "../test/fakes/spot-web.js";
import { generateHistory } from "../test/fakes/ec2-history.js";
import { startS3 } from "../test/fakes/s3.js";
import { TLS_CERT_PATH } from "../test/fakes/server.js";
import { BIN, cleanEnv, ROOT, tempDir, writeConfig } from "../test/helpers.js";

const REGIONS = ["us-east-1", "eu-west-1", "ap-northeast-1"];

function run(args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<number> {
  process.stdout.write(`\n$ contrail ${args.join(" ")}\n`);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env, cwd, stdio: "inherit" });
    child.on("exit", (code) => resolve(code ?? 1));
  });
}

const aws = new FakeAwsPricing({ regions: REGIONS });
// Instance types people ask about, Linux and Windows (shared tenancy, no preinstalled software: "the price"), so
// that `contrail price m5.large` and the queries of docs/history.md find them. Prices move with each version.
const TYPES = [
  "t3.micro",
  "t3.large",
  "m5.large",
  "m5.xlarge",
  "c5.large",
  "c5.2xlarge",
  "r5.xlarge",
  "m6g.large",
];
for (const region of REGIONS) {
  aws.setRegion(region, {
    products: TYPES.flatMap((instanceType): ProductInput[] => [
      { attributes: { instanceType } },
      { attributes: { instanceType, operatingSystem: "Windows", operation: "RunInstances:0002" } },
    ]),
  });
}
const ec2 = new FakeEc2();
const now = new Date();
for (const region of REGIONS) {
  ec2.setHistory(
    region,
    generateHistory({
      region,
      from: new Date(now.getTime() - 3 * 3600_000),
      to: now,
      types: ["m5.large", "c5.xlarge", "r5.2xlarge"],
      products: ["Linux/UNIX", "Windows"],
      everyMinutes: 20,
    }),
  );
}
const azure = await startFakeAzure({ retail: { items: 2500, pageSize: 1000 } });
const s3 = await startS3({ buckets: ["demo-lake"] });
// The public documents (spot advisor, spot feed, Oracle's price list): every source that needs no credentials runs.
const advisor = new FakeSpotAdvisor();
const feed = new FakeSpotFeed();
const oracle = new FakeOraclePrices();
const [pricingUrl, ec2Url] = await Promise.all([aws.start(), ec2.start()]);
await Promise.all([advisor.start(), feed.start(), oracle.start()]);
const work = tempDir("contrail-demo-");
try {
  writeConfig(work.dir, { sources: { AmazonEC2: { regionDelay: "1s" } } });
  const env = cleanEnv({
    CONTRAIL_LAKE: "s3://demo-lake/prices",
    ...s3.env,
    CONTRAIL_AWS_PRICING_URL: pricingUrl,
    AWS_ENDPOINT_URL_EC2: ec2Url,
    CONTRAIL_AWS_REGIONS: REGIONS.join(","),
    CONTRAIL_AWS_SPOT_ADVISOR_URL: advisor.url,
    CONTRAIL_AWS_SPOT_FEED_URL: feed.url(),
    CONTRAIL_OCI_PRICES_URL: oracle.url,
    ...azure.env,
    NODE_EXTRA_CA_CERTS: TLS_CERT_PATH,
    CONTRAIL_LOG_LEVEL: process.env.CONTRAIL_LOG_LEVEL ?? "info",
  });
  process.stdout.write(
    `fake cloud: AWS Price List ${pricingUrl}, EC2 ${ec2Url}, Entra ${azure.entra.baseUrl}, ` +
      `Resource Manager ${azure.arm.baseUrl}, Retail ${azure.retail.baseUrl}, spot advisor and feed ` +
      `${advisor.baseUrl} ${feed.baseUrl}, Oracle ${oracle.baseUrl}\nS3: ${s3.endpoint} (bucket demo-lake)\n` +
      `working directory: ${work.dir}\n`,
  );
  const crawl = await run(["crawl", "--once"], env, work.dir);
  await run(["sources"], env, work.dir);
  await run(["ls"], env, work.dir);
  const verify = await run(["verify"], env, work.dir);
  const s3History = await run(["history"], env, work.dir);
  process.stdout.write(
    `\ncrawl --once exited ${crawl}, verify exited ${verify}, history exited ${s3History}. ` +
      `Objects in s3://demo-lake: ${(await s3.listKeys()).length}\n`,
  );
  const history = await priceHistory(env);
  process.exitCode = crawl === 0 && verify === 0 && s3History === 0 && history === 0 ? 0 : 1;
} finally {
  await Promise.all([
    aws.close(),
    ec2.close(),
    azure.close(),
    advisor.close(),
    feed.close(),
    oracle.close(),
    s3.stop(),
  ]);
  work.cleanup();
}

/**
 * A local lake (the default `./lake` of tmp/demo, kept after the demo) crawled, then crawled again once AWS has
 * published new prices; its history derived and charted. Returns 0 if every command succeeded.
 */
async function priceHistory(s3Env: NodeJS.ProcessEnv): Promise<number> {
  const dir = join(ROOT, "tmp", "demo");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeConfig(dir, { sources: { AmazonEC2: { regionDelay: "1s" } } });
  const env = { ...s3Env };
  delete env.CONTRAIL_LAKE;
  process.stdout.write(
    `\n--- price history, in a local lake kept in ${relative(process.cwd(), dir)}/lake ---\n`,
  );
  const codes = [await run(["crawl", "--once"], env, dir)];
  // Four days on: each generated price holds for one to four days' versions, so every one has moved by then.
  for (const region of REGIONS) aws.bumpVersion(region, 4);
  process.stdout.write(`\n(AWS publishes new EC2 prices in ${REGIONS.join(", ")})\n`);
  codes.push(await run(["crawl", "--once", "--source", "AmazonEC2"], env, dir));
  codes.push(await run(["history"], env, dir));
  codes.push(await run(["price", "m5.large", "--region", "us-east-1"], env, dir));
  process.stdout.write(
    `\nThe lake stays in ${dir}/lake. To try the example queries of docs/history.md:\n` +
      `  cd ${dir} && alias contrail="node ${BIN}"\n` +
      `  contrail query "SELECT region, price FROM aws_ec2_price_history WHERE instance_type = 'm5.large' LIMIT 5"\n`,
  );
  return codes.every((c) => c === 0) ? 0 : 1;
}
