// The web console, end to end, in a real browser: Debian's chromium driven by playwright-core,
// against a real `copyflow up` (the debug binary the Rust tests built), objects uploaded with
// the aws cli, histories read back with the aws cli from the local Step Functions API.
//
// Needs: COPYFLOW_AWS_CLI (scripts/test.sh exports it), chromium at COPYFLOW_CHROMIUM or
// /usr/bin/chromium, the copyflow binary at COPYFLOW_BIN or target/debug/copyflow.
// Screenshots of each page go to target/console-artifacts/.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFile } from "node:child_process";
import { promisify } from "node:util";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import net from "node:net";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const run = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const bin = process.env.COPYFLOW_BIN || path.join(root, "target/debug/copyflow");
const awsCli = process.env.COPYFLOW_AWS_CLI || "aws";
const browserPath = process.env.COPYFLOW_CHROMIUM || "/usr/bin/chromium";
const artifacts = path.join(root, "target/console-artifacts");
fs.mkdirSync(artifacts, { recursive: true });

const PART = 5 * 1024 * 1024;
const GOOD_KEY = "AjayMuralidhar/2020-04-06/12/my-task.txt";
const REJECTED_KEY = "not-in-the-hierarchy.txt";
const HTML_KEY = "Mallory/2020-04-06/12/<img src=x onerror=alert(1)>.txt";
const BIG_KEY = "Big/2020-04-06/13/big.bin";
const STOPPED_KEY = "Big/2020-04-06/14/stopped.bin";

let dir, up, upOutput = "", settings, consoleUrl, browser, page, dialogs = 0;

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

function env() {
  return Object.assign({}, process.env, {
    AWS_ACCESS_KEY_ID: "copyflow", AWS_SECRET_ACCESS_KEY: "copyflow-secret", AWS_DEFAULT_REGION: "us-east-1",
    AWS_CONFIG_FILE: "/dev/null", AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
  });
}

async function aws(...args) {
  const endpoint = args[0] === "s3" || args[0] === "s3api" ? settings.local.s3Address : settings.local.sfnAddress;
  const { stdout } = await run(awsCli, ["--endpoint-url", "http://" + endpoint, "--output", "json", ...args], { env: env(), maxBuffer: 64 << 20 });
  return stdout.trim() ? JSON.parse(stdout) : null;
}

// One PutObject, not the cli's multipart `s3 cp`: a single-PUT source is copied in the
// configured parts, each one read and hashed, so the copy lasts long enough to watch and to
// stop. A multipart source would be copied in its own parts, which the embedded S3 links
// without reading a byte, and be done in well under a second.
async function upload(key, file) {
  await aws("s3api", "put-object", "--bucket", "copyflow-source", "--key", key, "--body", file);
}

function writeSettings(pattern) {
  settings.keys.pattern = pattern;
  fs.writeFileSync(path.join(dir, "copyflow.json"), JSON.stringify(settings, null, 2));
}

async function startUp(extra) {
  upOutput = "";
  up = spawn(bin, ["--config", path.join(dir, "copyflow.json"), "up", ...(extra || [])], { cwd: dir, env: env() });
  up.stdout.on("data", (d) => { upOutput += d; });
  up.stderr.on("data", (d) => { upOutput += d; });
  const deadline = Date.now() + 60_000;
  while (!/console\s+(http:\S+)/.test(upOutput)) {
    if (Date.now() > deadline || up.exitCode !== null) throw new Error("copyflow up did not come up:\n" + upOutput);
    await new Promise((r) => setTimeout(r, 100));
  }
  consoleUrl = upOutput.match(/console\s+(http:\S+)/)[1];
}

async function stopUp() {
  if (!up || up.exitCode !== null) return;
  const exited = new Promise((r) => up.once("exit", r));
  up.kill("SIGINT");
  await exited;
}

async function waitFor(what, check, ms = 60_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error("timed out waiting for " + what + "\n--- copyflow up said:\n" + upOutput);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function shot(name) {
  await page.screenshot({ path: path.join(artifacts, name + ".png"), fullPage: true });
}

async function row(key) {
  return page.locator("[data-testid=exec-row]").filter({ has: page.locator("[data-testid=key]", { hasText: key }) }).first();
}

async function openExecutionOf(key) {
  await page.goto(consoleUrl + "#/");
  await page.waitForSelector('body[data-loaded="executions"]');
  const r = await row(key);
  await r.waitFor();
  const arn = await r.getAttribute("data-arn");
  await r.click();
  await page.waitForSelector('body[data-loaded="execution"]');
  return arn;
}

async function history(arn) {
  return (await aws("stepfunctions", "get-execution-history", "--execution-arn", arn)).events;
}

// Test set-up reads through the console's own API (quick to poll); assertions read the page.
async function consoleApi(route) {
  const response = await fetch(consoleUrl + route.replace(/^\//, ""));
  assert.equal(response.status, 200, route);
  return response.json();
}

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "copyflow-console-"));
  settings = JSON.parse(fs.readFileSync(path.join(root, "copyflow.json"), "utf8"));
  settings.local = {
    s3Address: "127.0.0.1:" + (await freePort()), sfnAddress: "127.0.0.1:" + (await freePort()),
    consoleAddress: "127.0.0.1:" + (await freePort()), dataDir: "data",
  };
  // Multipart from 8 MiB in 5 MiB parts, one part at a time: a 100 MiB object takes 20 parts.
  settings.copy = Object.assign(settings.copy, { multipartThresholdBytes: 8 * 1024 * 1024, partSizeBytes: PART, maxConcurrency: 1 });
  writeSettings(settings.keys.pattern);
  fs.writeFileSync(path.join(dir, "small.txt"), "hello, console\n");
  const big = Buffer.alloc(100 * 1024 * 1024);
  for (let i = 0; i < big.length; i += 4096) big.writeUInt32LE((i * 2654435761) >>> 0, i);
  fs.writeFileSync(path.join(dir, "big.bin"), big);
  // Every S3 request 150 ms late: a multipart copy runs long enough to watch.
  await startUp(["--faults", "latency=100%:150ms"]);
  browser = await chromium.launch({ executablePath: browserPath, args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking"] });
  page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  page.on("dialog", async (d) => { dialogs++; await d.dismiss(); });
});

after(async () => {
  if (browser) await browser.close();
  await stopUp();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test("new executions appear live with their outcomes, and an HTML key shows as text", async () => {
  await page.goto(consoleUrl);
  await page.waitForSelector('body[data-loaded="executions"]');
  await page.waitForSelector("#live.on");
  for (const key of [GOOD_KEY, REJECTED_KEY, HTML_KEY]) await upload(key, path.join(dir, "small.txt"));
  // No reload: the rows come in over the live feed.
  const want = { [GOOD_KEY]: "Copied", [REJECTED_KEY]: "KeyRejected", [HTML_KEY]: "Copied" };
  for (const [key, outcome] of Object.entries(want)) {
    const r = await row(key);
    await waitFor(key + " ending " + outcome, async () => (await r.count()) && (await r.getAttribute("data-outcome")) === outcome);
    assert.equal(await r.locator("[data-testid=key]").textContent(), key);
  }
  assert.equal(await page.locator("img").count(), 0, "a key became markup");
  assert.equal(dialogs, 0, "a key ran script");
  await shot("executions");
  // Filters: outcome, key substring, key prefix.
  await page.goto(consoleUrl + "#/?outcome=KeyRejected");
  await page.waitForSelector('body[data-loaded="executions"]');
  assert.deepEqual(await page.locator("[data-testid=key]").allTextContents(), [REJECTED_KEY]);
  await page.goto(consoleUrl + "#/?keyContains=" + encodeURIComponent("<img"));
  await page.waitForSelector('body[data-loaded="executions"]');
  assert.deepEqual(await page.locator("[data-testid=key]").allTextContents(), [HTML_KEY]);
  await page.goto(consoleUrl + "#/?keyPrefix=Ajay");
  await page.waitForSelector('body[data-loaded="executions"]');
  assert.deepEqual(await page.locator("[data-testid=key]").allTextContents(), [GOOD_KEY]);
  // The figures of `copyflow stats` above the list.
  const stats = page.locator("[data-testid=stats]");
  await waitFor("the stats line", async () => ((await stats.textContent()) || "").includes("executions ("));
  const text = await stats.textContent();
  for (const part of ["3 executions (Copied 2, KeyRejected 1)", "copies/min", "failures by error: KeyRejected 1", "S3 event → verified p50"]) {
    assert.ok(text.includes(part), part + " in " + text);
  }
});

test("the highlighted path is the history's, and a state shows its output", async () => {
  const arn = await openExecutionOf(GOOD_KEY);
  const events = await history(arn);
  const entered = events.filter((e) => e.type.endsWith("StateEntered")).map((e) => e.stateEnteredEventDetails.name);
  assert.equal(await page.locator("[data-testid=exec-path]").textContent(), entered.join(" → "));
  const visited = await page.locator("g.node.visited").evaluateAll((nodes) => nodes.map((n) => n.dataset.state));
  assert.deepEqual(visited.sort(), [...new Set(entered)].sort());
  const unvisited = await page.locator("g.node:not(.visited)").count();
  assert.ok(unvisited > 0, "states not reached are drawn too");
  const taken = await page.locator("path.edge.taken").evaluateAll((edges) => edges.map((e) => e.dataset.from + ">" + e.dataset.to));
  const pairs = new Set(entered.slice(1).map((s, i) => entered[i] + ">" + s));
  assert.deepEqual(new Set(taken), pairs);
  // Click CopyObject: its output is the history's.
  await page.locator('g.node[data-state="CopyObject"]').click();
  const shown = await page.locator('[data-testid=state-detail][data-state="CopyObject"] [data-testid=state-output]').textContent();
  const exited = events.find((e) => e.type === "TaskStateExited" && e.stateExitedEventDetails.name === "CopyObject");
  assert.deepEqual(JSON.parse(shown), JSON.parse(exited.stateExitedEventDetails.output));
  assert.equal(await page.locator("[data-testid=copy-method]").textContent(), "CopyObject");
  assert.equal(await page.locator("[data-testid=event]").count(), events.length);
  // The events table filters as you type.
  await page.locator("[data-testid=events-filter]").fill("VerifyCopy");
  const mentioning = events.filter((e) => JSON.stringify(e).toLowerCase().includes("verifycopy")).length;
  assert.ok(mentioning > 0 && mentioning < events.length);
  assert.equal(await page.locator("[data-testid=event]").count(), mentioning);
  await page.locator("[data-testid=events-filter]").fill("");
  await shot("execution-copied");
});

test("a multipart copy's progress advances before it finishes", async () => {
  const uploaded = upload(BIG_KEY, path.join(dir, "big.bin"));
  await page.goto(consoleUrl + "#/");
  await page.waitForSelector('body[data-loaded="executions"]');
  const r = await row(BIG_KEY);
  await waitFor("the multipart execution to appear", async () => (await r.count()) > 0);
  await r.click();
  await page.waitForSelector('body[data-loaded="execution"]');
  const seen = [];
  await waitFor("the copy to finish", async () => {
    const p = page.locator("[data-testid=progress][data-parts-total]");
    if (await p.count()) {
      const done = Number(await p.getAttribute("data-parts-done"));
      const total = Number(await p.getAttribute("data-parts-total"));
      if (!seen.length || seen[seen.length - 1].done !== done) seen.push({ done, total });
      if (seen.length === 2) await shot("execution-progress");
    }
    return (await page.locator("[data-testid=exec-status]").textContent()) === "SUCCEEDED";
  }, 120_000);
  await uploaded;
  const advancing = seen.filter((s) => s.done > 0 && s.done < s.total);
  assert.ok(advancing.length >= 2, "progress seen: " + JSON.stringify(seen));
  assert.ok(advancing[1].done > advancing[0].done);
  assert.ok(advancing.every((s) => s.total === 20), "progress seen: " + JSON.stringify(seen));
  await page.waitForSelector("[data-testid=copy-card]");
  assert.equal(await page.locator("[data-testid=copy-method]").textContent(), "multipart, 20 parts of 5.00 MiB");
  assert.equal(await page.locator("[data-testid=exec-outcome]").textContent(), "Copied");
  // up printed the copy's start and its progress while it ran.
  assert.match(upOutput, /→ copying Big\/2020-04-06\/13\/big\.bin: 100\.0 MiB, multipart in parts of 5\.0 MiB/);
  assert.match(upOutput, /… Big\/2020-04-06\/13\/big\.bin: \d+\/20 parts/);
});

test("a stopped copy redriven from the console ends Copied", async () => {
  const uploaded = upload(STOPPED_KEY, path.join(dir, "big.bin"));
  const running = await waitFor("the copy to be running", async () => {
    const page = await consoleApi("/api/executions?keyPrefix=" + encodeURIComponent(STOPPED_KEY));
    const r = page.rows[0];
    if (!r || r.status !== "RUNNING") return null;
    const detail = await consoleApi("/api/execution?arn=" + encodeURIComponent(r.arn));
    return detail.path.includes("CopyObject") ? r : null;
  });
  await uploaded;
  await aws("stepfunctions", "stop-execution", "--execution-arn", running.arn);
  await openExecutionOf(STOPPED_KEY);
  assert.equal(await page.locator("[data-testid=exec-status]").textContent(), "ABORTED");
  assert.equal(await page.locator('g.node[data-state="CopyObject"]').getAttribute("data-status"), "failed");
  await shot("execution-aborted");
  await page.locator("[data-testid=redrive]").click();
  await waitFor("the redriven copy to succeed", async () =>
    (await page.locator("[data-testid=exec-status]").textContent()) === "SUCCEEDED", 120_000);
  assert.equal(await page.locator("[data-testid=exec-outcome]").textContent(), "Copied");
  const d = await aws("stepfunctions", "describe-execution", "--execution-arn", running.arn);
  assert.equal(d.redriveCount, 1);
});

test("a rejected key copied again after fixing the rule ends Copied", async () => {
  // Fix the setting: a pattern that also accepts a flat file name. up reads settings at start.
  await stopUp();
  writeSettings("[^/]+|" + settings.keys.pattern);
  await startUp();
  await openExecutionOf(REJECTED_KEY);
  assert.equal(await page.locator("[data-testid=exec-outcome]").textContent(), "KeyRejected");
  // Redrive re-enters the Fail state, as on AWS: the page says so and points to Copy again.
  await page.locator("[data-testid=redrive]").click();
  const said = await page.locator("[data-testid=action-result]").textContent();
  assert.match(said, /a redrive re-enters it and fails again/);
  await page.locator("[data-testid=copy-again]").click();
  await page.waitForFunction(() => document.body.dataset.loaded === "execution" && location.hash.includes("-again-"));
  await waitFor("the new execution to succeed", async () => {
    await page.reload();
    await page.waitForSelector('body[data-loaded="execution"]');
    return (await page.locator("[data-testid=exec-status]").textContent()) === "SUCCEEDED";
  });
  assert.equal(await page.locator("[data-testid=exec-outcome]").textContent(), "Copied");
  assert.equal(await page.locator("[data-testid=exec-key]").textContent(), REJECTED_KEY);
  const copied = await aws("s3api", "head-object", "--bucket", "copyflow-destination", "--key", REJECTED_KEY);
  assert.ok(copied.ContentLength > 0);
  await shot("execution-copy-again");
});
