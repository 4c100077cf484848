// The console's page load time, in a real browser: navigation to the executions page having
// its first page of rows, then to an execution page with its graph drawn. Median of 5.
// node tests/console/measure-load.mjs http://127.0.0.1:8084/
import { chromium } from "playwright-core";

const url = process.argv[2] || "http://127.0.0.1:8084/";
const browser = await chromium.launch({
  executablePath: process.env.COPYFLOW_CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
});
const page = await browser.newPage();
const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const list = [];
const detail = [];
for (let i = 0; i < 5; i++) {
  let t = Date.now();
  await page.goto(url + "#/", { waitUntil: "commit" });
  await page.waitForSelector('body[data-loaded="executions"]');
  list.push(Date.now() - t);
  const arn = await page.locator("[data-testid=exec-row]").first().getAttribute("data-arn");
  t = Date.now();
  await page.goto(url + "#/execution/" + encodeURIComponent(arn), { waitUntil: "commit" });
  await page.waitForSelector('body[data-loaded="execution"]');
  detail.push(Date.now() - t);
}
const rows = await page.evaluate(async () => (await (await fetch("/api/executions")).json()).rows.length);
console.log(`executions page: ${median(list)} ms (median of 5; ${rows} rows), execution page: ${median(detail)} ms`);
await browser.close();
