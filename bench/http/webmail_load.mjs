// The webmail's first load in headless chromium (issue 16's benchmark row: under 300 KB
// transferred, interactive under 500 ms on loopback). Prints figures, asserts nothing.
//   node bench/http/webmail_load.mjs URL [USER PASSWORD] [-n RUNS]
// Each run is a fresh browser context (cold cache): bytes on the wire (CDP
// encodedDataLength, headers included) and requests, DOMContentLoaded and load, the login
// form usable; with USER/PASSWORD also sign in and time until the message list shows.
// A last run reloads in the same context (warm cache: ETag revalidation).
import {chromium} from 'playwright-core';

const args = process.argv.slice(2);
let runs = 5;
const nIdx = args.indexOf('-n');
if (nIdx >= 0) { runs = Number(args[nIdx + 1]); args.splice(nIdx, 2); }
const [url, user, password] = args;
if (!url) { console.error('usage: webmail_load.mjs URL [USER PASSWORD] [-n RUNS]'); process.exit(2); }

const browser = await chromium.launch({executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage']});

async function measure(page, cdp, action) {
  let bytes = 0;
  let requests = 0;
  const onDone = (e) => { bytes += e.encodedDataLength; requests++; };
  cdp.on('Network.loadingFinished', onDone);
  const t0 = Date.now();
  await action();
  const ms = Date.now() - t0;
  cdp.off('Network.loadingFinished', onDone);
  return {bytes, requests, ms};
}

const rows = [];
let context = null;
let page = null;
for (let i = 0; i < runs; i++) {
  if (context) await context.close();
  context = await browser.newContext();
  page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', {cacheDisabled: false});
  const first = await measure(page, cdp, async () => {
    await page.goto(url, {waitUntil: 'load'});
    await page.locator('#login-user').waitFor();
  });
  const timing = await page.evaluate(() => {
    const n = performance.getEntriesByType('navigation')[0];
    return {dcl: n.domContentLoadedEventEnd, load: n.loadEventEnd};
  });
  const row = {run: i + 1, first_load_bytes: first.bytes, requests: first.requests,
    dom_content_loaded_ms: Math.round(timing.dcl), load_ms: Math.round(timing.load), login_form_ms: first.ms};
  if (user) {
    const signIn = await measure(page, cdp, async () => {
      await page.fill('#login-user', user);
      await page.fill('#login-pass', password);
      await page.click('#login-submit');
      await page.locator('#message-list li').first().waitFor();
    });
    row.sign_in_to_list_ms = signIn.ms;
    row.sign_in_bytes = signIn.bytes;
  }
  rows.push(row);
}
// Warm: reload in the last context (revalidation with If-None-Match).
const cdp = await context.newCDPSession(page);
await cdp.send('Network.enable');
const warm = await measure(page, cdp, async () => {
  await page.reload({waitUntil: 'load'});
  await page.locator(user ? '#message-list li' : '#login-user').first().waitFor();
});
await browser.close();

console.log(['run', ...Object.keys(rows[0]).slice(1)].join('\t'));
for (const r of rows) console.log(Object.values(r).join('\t'));
const med = (k) => { const v = rows.map((r) => r[k]).sort((a, b) => a - b); return v[Math.floor(v.length / 2)]; };
console.log(`median: first load ${med('first_load_bytes')} bytes in ${med('requests')} requests, ` +
  `DOMContentLoaded ${med('dom_content_loaded_ms')} ms, load ${med('load_ms')} ms, login form ${med('login_form_ms')} ms` +
  (user ? `, sign-in to message list ${med('sign_in_to_list_ms')} ms` : ''));
console.log(`warm reload: ${warm.bytes} bytes in ${warm.requests} requests, ${warm.ms} ms`);
