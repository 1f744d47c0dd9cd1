// The webmail in a real browser: playwright-core drives Debian's /usr/bin/chromium
// headless against a running cloudsdial (started by tests/integration/test_webmail_browser.py,
// which also delivered the mail by SMTP and checks the store with IMAP afterwards).
// Environment: WEBMAIL_URL, WEBMAIL_USER, WEBMAIL_PASS, CANARY_URL (a loopback server
// that records every request: what a mail's script or onerror would reach),
// ARTIFACT_DIR (screenshots), CHROMIUM (default /usr/bin/chromium), SMTP_PORT (to
// deliver a message while the page is idle).
// Steps: log in; read the plain mail; open the hostile HTML mail (its <script> and
// onerror must not run, its remote image must not load until "Show images"); flag; move
// to Archive; download an attachment, forward it, delete it (to Trash); search; compose
// and send to ourselves and see it arrive; a message delivered by SMTP while the page is
// idle appears without reload (push); save a reply as a draft. Prints one JSON line of
// results; exits 1 on the first failed check.
import {chromium} from 'playwright-core';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

const URL_ = process.env.WEBMAIL_URL;
const USER = process.env.WEBMAIL_USER;
const PASS = process.env.WEBMAIL_PASS;
const CANARY = process.env.CANARY_URL;
const ARTIFACTS = process.env.ARTIFACT_DIR || 'artifacts';
const TIMEOUT = 15000;
fs.mkdirSync(ARTIFACTS, {recursive: true});

const results = {steps: [], consoleErrors: [], cspViolations: 0};
let shot = 0;
async function step(page, name, fn) {
  try {
    await fn();
    results.steps.push(name);
  } catch (e) {
    await page.screenshot({path: path.join(ARTIFACTS, `FAILED-${name}.png`), fullPage: true}).catch(() => {});
    fs.writeFileSync(path.join(ARTIFACTS, `FAILED-${name}.html`), await page.content().catch(() => ''));
    console.log(JSON.stringify({...results, failed: name, error: String(e && e.stack || e)}));
    process.exit(1);
  }
  shot++;
  await page.screenshot({path: path.join(ARTIFACTS, `${String(shot).padStart(2, '0')}-${name}.png`)});
}
function check(cond, what) { if (!cond) throw new Error(`check failed: ${what}`); }
// Delivers one message over SMTP (RFC 5321) to the server under test: a mail that arrives
// while the page sits idle.
function smtpDeliver(port, to, subject, body) {
  return new Promise((resolve, reject) => {
    const script = ['EHLO browser.test', 'MAIL FROM:<carol@remote.test>', `RCPT TO:<${to}>`, 'DATA',
      `From: Carol <carol@remote.test>\r\nTo: ${to}\r\nSubject: ${subject}\r\n\r\n${body}\r\n.`, 'QUIT'];
    const sock = net.connect(port, '127.0.0.1');
    let buf = '';
    let sent = 0;
    sock.setTimeout(TIMEOUT, () => { sock.destroy(); reject(new Error('SMTP timeout')); });
    sock.on('data', (d) => {
      buf += d.toString();
      // Wait for each complete reply (last line "NNN text"), then send the next command.
      while (/^\d{3} [^\n]*\r?\n/m.test(buf)) {
        const m = buf.match(/^(\d{3}) [^\n]*\r?\n/m);
        const code = Number(m[1]);
        buf = buf.slice(buf.indexOf(m[0]) + m[0].length);
        if (code >= 400) { sock.destroy(); reject(new Error(`SMTP ${code}`)); return; }
        if (sent < script.length) sock.write(script[sent++] + '\r\n');
      }
    });
    sock.on('close', () => resolve());
    sock.on('error', reject);
  });
}
async function canaryHits() { return (await (await fetch(`${CANARY}/__hits`)).json()); }

const browser = await chromium.launch({executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage']});
const context = await browser.newContext({viewport: {width: 1280, height: 800}});
const page = await context.newPage();
page.setDefaultTimeout(TIMEOUT);
page.on('console', (m) => {
  if (m.type() === 'error') results.consoleErrors.push(m.text());
  if (/Content Security Policy/.test(m.text())) results.cspViolations++;
});
page.on('pageerror', (e) => results.consoleErrors.push('pageerror: ' + e.message));
const row = (subject) => page.locator('#message-list li.msg', {hasText: subject});

await step(page, 'login', async () => {
  await page.goto(URL_);
  await page.fill('#login-user', USER);
  await page.fill('#login-pass', 'wrong-' + PASS);
  await page.click('#login-submit');
  await page.locator('#login-error', {hasText: /wrong|failed/i}).waitFor();
  await page.fill('#login-pass', PASS);
  await page.click('#login-submit');
  await page.locator('#folder-list li.folder[data-role="inbox"]').waitFor();
  await row('Plain hello').waitFor();
  const unread = await page.locator('#folder-list li.folder[data-role="inbox"] .count').textContent();
  check(Number(unread) >= 3, `inbox unread count shown (${unread})`);
  await page.keyboard.press('?');
  await page.locator('#shortcut-help', {hasText: 'reply all'}).waitFor();
  await page.keyboard.press('Escape');
  await page.locator('#shortcut-help').waitFor({state: 'detached'});
});

await step(page, 'read-plain', async () => {
  await row('Plain hello').click();
  await page.locator('#reader-subject', {hasText: 'Plain hello'}).waitFor();
  const text = await page.locator('#reader-body pre.mail-text').textContent();
  check(text.includes('PLAIN-BODY-MARKER'), 'plain body shown');
  check(text.includes('<b>not html</b>'), 'plain text is shown as text, not parsed');
  await page.locator('#message-list li.msg.selected:not(.unread)', {hasText: 'Plain hello'}).waitFor();
});

await step(page, 'read-hostile-html', async () => {
  await row('Hostile HTML').click();
  await page.locator('#reader-subject', {hasText: 'Hostile HTML'}).waitFor();
  const frame = page.locator('iframe.mail-frame');
  await frame.waitFor();
  check((await frame.getAttribute('sandbox')) === 'allow-popups allow-popups-to-escape-sandbox', 'frame is sandboxed without scripts or same-origin');
  const srcdoc = await frame.getAttribute('srcdoc');
  check(!/<script/i.test(srcdoc), 'no <script> in the sanitized document');
  check(!/onerror/i.test(srcdoc), 'no onerror handler in the sanitized document');
  check(srcdoc.includes("img-src data:"), 'strict CSP in the frame');
  const inner = page.frameLocator('iframe.mail-frame');
  await inner.locator('text=HTML-BODY-MARKER').waitFor();
  await page.waitForTimeout(500);  // give a script (if any had survived) a chance to run
  check(!(await page.title()).includes('PWNED'), 'the mail script did not change the title');
  const hits = await canaryHits();
  check(!hits.some((h) => h.startsWith('/script') || h.startsWith('/onerror')), `no script ran: ${JSON.stringify(hits)}`);
  check(!hits.some((h) => h.startsWith('/remote-image')), `remote image blocked: ${JSON.stringify(hits)}`);
  await page.locator('#show-images').waitFor();
});

await step(page, 'show-images', async () => {
  await page.click('#show-images');
  const deadline = Date.now() + TIMEOUT;
  let hits = [];
  while (Date.now() < deadline) {
    hits = await canaryHits();
    if (hits.some((h) => h.startsWith('/remote-image'))) break;
    await page.waitForTimeout(100);
  }
  check(hits.some((h) => h.startsWith('/remote-image')), 'remote image loaded after Show images');
  check(!hits.some((h) => h.startsWith('/script') || h.startsWith('/onerror')), `still no script: ${JSON.stringify(hits)}`);
});

await step(page, 'flag', async () => {
  await row('Plain hello').click();
  await page.locator('#reader-subject', {hasText: 'Plain hello'}).waitFor();
  await page.keyboard.press('s');  // shortcut: flag
  await page.locator('#message-list li.msg.flagged', {hasText: 'Plain hello'}).waitFor();
});

await step(page, 'move', async () => {
  await row('Move me').click();
  await page.locator('#reader-subject', {hasText: 'Move me'}).waitFor();
  const archive = await page.locator('#folder-list li.folder', {hasText: 'Archive'}).getAttribute('data-id');
  await page.selectOption('#move-to', archive);
  await row('Move me').waitFor({state: 'detached'});
  await page.locator('#folder-list li.folder', {hasText: 'Archive'}).click();
  await row('Move me').waitFor();
  await page.locator('#folder-list li.folder[data-role="inbox"]').click();
  await row('Plain hello').waitFor();
});

await step(page, 'search', async () => {
  await page.keyboard.press('/');
  await page.keyboard.type('zebracorn');
  await page.keyboard.press('Enter');
  await page.locator('#list-title', {hasText: 'zebracorn'}).waitFor();
  await row('Needle').waitFor();
  const n = await page.locator('#message-list li.msg').count();
  check(n === 1, `search finds exactly the one match (${n})`);
  // SearchSnippet/get (RFC 8621 §5): the matched word is marked in the preview.
  await page.locator('#message-list li.msg mark', {hasText: /zebracorn/i}).waitFor();
  await page.screenshot({path: path.join(ARTIFACTS, 'search-results.png')});
  await page.fill('#search', '');
  await page.keyboard.press('Enter');
  await row('Plain hello').waitFor();
});

await step(page, 'attachment-forward-delete', async () => {
  await row('With attachment').click();
  await page.locator('#reader-subject', {hasText: 'With attachment'}).waitFor();
  const link = page.locator('#attachments a', {hasText: 'notes.txt'});
  await link.waitFor();
  const href = await link.getAttribute('href');
  // The link carries ?access_token= (a download cannot send Authorization).
  const body = await page.evaluate(async (u) => (await fetch(u)).text(), href);
  check(body.includes('ATTACHMENT-CONTENT'), `attachment downloads (${body.slice(0, 80)})`);
  // Forward it with its attachment (copied through download and upload, RFC 8620 §6).
  await page.keyboard.press('f');
  await page.fill('#compose-to', `${USER}@example.test`);
  await page.click('#send-btn');
  await page.locator('#status', {hasText: 'Message sent'}).waitFor();
  await page.locator('#message-list li.msg', {hasText: 'Fwd: With attachment'}).locator('.clip').waitFor({timeout: 30000});
  await row('With attachment').first().waitFor();
  await page.locator('#message-list li.msg', {hasText: /^(?!.*Fwd:).*With attachment/}).click();
  await page.locator('#reader-subject', {hasText: /^With attachment$/}).waitFor();
  await page.keyboard.press('#');  // shortcut: delete = move to Trash
  await page.locator('#message-list li.msg', {hasText: /^(?!.*Fwd:).*With attachment/}).waitFor({state: 'detached'});
  await page.locator('#folder-list li.folder[data-role="trash"]').click();
  await row('With attachment').waitFor();
  await page.locator('#folder-list li.folder[data-role="inbox"]').click();
  await row('Plain hello').waitFor();
});

await step(page, 'compose-send', async () => {
  await page.locator('#message-list').click({position: {x: 5, y: 5}}).catch(() => {});
  await page.keyboard.press('Escape');
  await page.click('#compose-btn');
  await page.fill('#compose-to', `${USER}@example.test`);
  await page.fill('#compose-subject', 'Sent from the webmail');
  await page.fill('#compose-body', 'WEBMAIL-SENT-MARKER\nHello from chromium.');
  await page.click('#send-btn');
  await page.locator('#status', {hasText: 'Message sent'}).waitFor();
});

await step(page, 'sent-arrives', async () => {
  // No reload and no click: the sent message shows up in the inbox.
  await row('Sent from the webmail').waitFor({timeout: 30000});
  await row('Sent from the webmail').click();
  const text = await page.locator('#reader-body pre.mail-text').textContent();
  check(text.includes('WEBMAIL-SENT-MARKER'), 'sent body arrived');
});

await step(page, 'new-mail-by-push', async () => {
  // The page is left alone; a message delivered by SMTP must show up (EventSource push).
  await page.locator('#folder-list li.folder[data-role="inbox"]').click();
  await row('Plain hello').waitFor();
  await smtpDeliver(Number(process.env.SMTP_PORT), `${USER}@example.test`, 'Pushed while idle', 'PUSH-MARKER');
  await row('Pushed while idle').waitFor({timeout: 30000});
  await row('Sent from the webmail').click();
  await page.locator('#reader-subject', {hasText: 'Sent from the webmail'}).waitFor();
});

await step(page, 'reply-draft', async () => {
  await page.keyboard.press('r');
  await page.locator('#compose-subject').waitFor();
  check((await page.inputValue('#compose-subject')).startsWith('Re: Sent from the webmail'), 'reply subject');
  check((await page.inputValue('#compose-body')).includes('> WEBMAIL-SENT-MARKER'), 'reply quotes');
  await page.click('#save-draft-btn');
  await page.locator('#status', {hasText: 'Draft saved'}).waitFor();
  await page.locator('#discard-btn').click();
  await page.locator('#folder-list li.folder[data-role="drafts"]').click();
  await row('Re: Sent from the webmail').waitFor();
  await page.locator('#folder-list li.folder[data-role="inbox"]').click();
});

results.ok = true;
console.log(JSON.stringify(results));
await browser.close();
