// The webmail app: login, folders, message list (paging, threads, search), reader,
// compose/reply/forward/drafts, flags, move, delete, push and keyboard shortcuts, all
// over JMAP (jmap.js). Mail bodies are shown by render.js (DOMPurify + sandboxed frame).
import {Jmap, JmapError, login, storedToken, forgetToken} from './jmap.js';
import {showHtml, showText} from './render.js';
import {el, $, clear, formatAddress, formatAddresses, shortName, parseAddresses, formatDate, formatSize} from './dom.js';

const PAGE = 50;
const ROLE_ORDER = ['inbox', 'drafts', 'sent', 'archive', 'junk', 'trash'];
const LIST_PROPS = ['threadId', 'mailboxIds', 'keywords', 'from', 'to', 'subject', 'receivedAt', 'preview', 'hasAttachment', 'size'];
const READ_PROPS = [...LIST_PROPS, 'cc', 'bcc', 'replyTo', 'sentAt', 'messageId', 'inReplyTo', 'references',
  'bodyValues', 'textBody', 'htmlBody', 'attachments'];

const S = {
  jmap: null, mailboxes: [], byId: {}, current: null, search: '', position: 0, total: 0,
  items: [], threadCounts: {}, snippets: {}, selected: -1, open: null, identities: [], es: null, view: 'list', refreshTimer: null,
};
window.__webmail = S;  // for tests and debugging: read-only use

function status(text, isError = false) {
  const s = $('status');
  s.textContent = text;
  s.className = isError ? 'error' : '';
  clearTimeout(status.timer);
  if (text) status.timer = setTimeout(() => { s.textContent = ''; }, isError ? 8000 : 3000);
}

async function guarded(fn) {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof JmapError && e.message === 'unauthorized') { signOut(); return undefined; }
    console.error(e);
    status(e.message || String(e), true);
    return undefined;
  }
}

function setError(e) {
  if (!e) return '';
  return [e.type, e.description, e.properties && e.properties.length ? `(${e.properties.join(', ')})` : ''].filter(Boolean).join(' ');
}

// ---------------------------------------------------------------- login
function showLogin(message = '') {
  $('main').hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = message;
  $('login-user').focus();
}

$('login-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  $('login-error').textContent = '';
  $('login-submit').disabled = true;
  try {
    await login($('login-user').value.trim(), $('login-pass').value);
    $('login-pass').value = '';
    await boot();
  } catch (e) {
    $('login-error').textContent = e.message || String(e);
  } finally {
    $('login-submit').disabled = false;
  }
});

function signOut() {
  forgetToken();
  if (S.es) S.es.close();
  S.es = null;
  S.jmap = null;
  showLogin();
}
$('logout-btn').addEventListener('click', signOut);

async function boot() {
  const token = storedToken();
  if (!token) { showLogin(); return; }
  const jmap = new Jmap(token);
  try {
    await jmap.connect();
  } catch (e) {
    forgetToken();
    showLogin(e.message === 'unauthorized' ? '' : e.message);
    return;
  }
  S.jmap = jmap;
  $('login').hidden = true;
  $('main').hidden = false;
  // The login field keeps the focus when hidden: give the keys to the shortcuts.
  if (document.activeElement && document.activeElement !== document.body) document.activeElement.blur();
  $('whoami').textContent = jmap.username;
  await guarded(async () => {
    const r = await jmap.call([['Identity/get', {ids: null}, 'i']]);
    S.identities = r.i.list || [];
  });
  await loadMailboxes();
  const inbox = byRole('inbox') || S.mailboxes[0];
  if (inbox) await selectMailbox(inbox.id);
  S.es = jmap.push(onPush);
}

// ---------------------------------------------------------------- mailboxes
function byRole(role) { return S.mailboxes.find((m) => m.role === role); }

function mailboxRank(m) {
  const i = ROLE_ORDER.indexOf(m.role);
  return i < 0 ? ROLE_ORDER.length : i;
}

async function loadMailboxes() {
  await guarded(async () => {
    const r = await S.jmap.call([['Mailbox/get', {ids: null,
      properties: ['name', 'role', 'totalEmails', 'unreadEmails', 'parentId', 'sortOrder']}, 'm']]);
    S.mailboxes = (r.m.list || []).slice().sort((a, b) =>
      mailboxRank(a) - mailboxRank(b) || (a.sortOrder || 0) - (b.sortOrder || 0) || a.name.localeCompare(b.name));
    for (const m of S.mailboxes) if (m.role === 'inbox' && m.name.toUpperCase() === 'INBOX') m.name = 'Inbox';
    S.byId = Object.fromEntries(S.mailboxes.map((m) => [m.id, m]));
    renderFolders();
  });
}

function depth(m) {
  let d = 0;
  for (let p = m.parentId; p && S.byId[p] && d < 10; p = S.byId[p].parentId) d++;
  return d;
}

function ordered() {
  // Parents first, each followed by its children.
  const out = [];
  const visit = (parentId) => {
    for (const m of S.mailboxes.filter((x) => (x.parentId || null) === parentId)) { out.push(m); visit(m.id); }
  };
  visit(null);
  for (const m of S.mailboxes) if (!out.includes(m)) out.push(m);
  return out;
}

function renderFolders() {
  const ul = clear($('folder-list'));
  for (const m of ordered()) {
    ul.appendChild(el('li', {
      class: `folder${m.id === S.current ? ' current' : ''}${m.unreadEmails ? ' has-unread' : ''}`,
      'data-id': m.id, 'data-role': m.role || '', style: `padding-left:${0.6 + depth(m)}em`,
      onclick: () => guarded(() => selectMailbox(m.id)),
    }, el('span', {class: 'folder-name', text: m.name}),
    m.unreadEmails ? el('span', {class: 'count', text: String(m.unreadEmails)}) : null));
  }
  ul.appendChild(el('li', {class: 'folder new-folder', id: 'new-folder', onclick: () => guarded(newFolder)}, '+ New folder'));
  const inbox = byRole('inbox');
  document.title = inbox && inbox.unreadEmails ? `(${inbox.unreadEmails}) Cloudsdial Mail` : 'Cloudsdial Mail';
}

async function newFolder() {
  const name = (window.prompt('Name of the new folder') || '').trim();
  if (!name) return;
  const r = await S.jmap.call([['Mailbox/set', {create: {f: {name, parentId: null}}}, 'm']]);
  if (r.m.notCreated && r.m.notCreated.f) throw new Error(`Folder not created: ${r.m.notCreated.f.type} ${r.m.notCreated.f.description || ''}`);
  status(`Folder ${name} created`);
  await loadMailboxes();
}

async function selectMailbox(id) {
  S.current = id;
  S.position = 0;
  S.selected = -1;
  S.search = '';
  $('search').value = '';
  closeReader();
  renderFolders();
  await loadList();
}

// ---------------------------------------------------------------- message list
function listFilter() {
  const f = {inMailbox: S.current};
  if (S.search) f.text = S.search;
  return f;
}

async function loadList() {
  await guarded(async () => {
    const r = await S.jmap.call([
      ['Email/query', {filter: listFilter(), sort: [{property: 'receivedAt', isAscending: false}],
        collapseThreads: true, position: S.position, limit: PAGE, calculateTotal: true}, 'q'],
      ['Email/get', {'#ids': {resultOf: 'q', name: 'Email/query', path: '/ids'}, properties: LIST_PROPS}, 'g'],
      ['Thread/get', {'#ids': {resultOf: 'g', name: 'Email/get', path: '/list/*/threadId'}}, 't'],
    ]);
    const byId = Object.fromEntries((r.g.list || []).map((e) => [e.id, e]));
    S.items = (r.q.ids || []).map((id) => byId[id]).filter(Boolean);
    S.total = r.q.total ?? S.items.length;
    S.threadCounts = Object.fromEntries((r.t.list || []).map((t) => [t.id, (t.emailIds || []).length]));
    if (S.open) S.selected = S.items.findIndex((e) => e.id === S.open.id);
    if (S.selected >= S.items.length) S.selected = S.items.length - 1;
    S.snippets = {};
    renderList();
    if (S.search && S.items.length) await loadSnippets();
  });
}

// Search results show the matched words (SearchSnippet/get, RFC 8621 §5): the server sends
// escaped text with <mark>; only <mark> is kept (DOMPurify) before it becomes markup.
async function loadSnippets() {
  try {
    const r = await S.jmap.call([['SearchSnippet/get', {filter: listFilter(), emailIds: S.items.map((e) => e.id)}, 's']]);
    S.snippets = Object.fromEntries((r.s.list || []).map((x) => [x.emailId, x]));
    renderList();
  } catch (e) {
    console.warn('SearchSnippet/get', e);  // the plain previews stay
  }
}

function marked(className, escapedHtml, fallback) {
  const span = el('span', {class: className});
  if (escapedHtml && window.DOMPurify) span.innerHTML = window.DOMPurify.sanitize(escapedHtml, {ALLOWED_TAGS: ['mark'], ALLOWED_ATTR: []});
  else span.textContent = fallback;
  return span;
}

function renderList() {
  const m = S.byId[S.current];
  $('list-title').textContent = S.search ? `Search “${S.search}” in ${m ? m.name : ''}` : (m ? m.name : '');
  $('list-range').textContent = S.total ? `${S.position + 1}–${S.position + S.items.length} of ${S.total}` : '';
  $('prev-page').disabled = S.position === 0;
  $('next-page').disabled = S.position + PAGE >= S.total;
  const ul = clear($('message-list'));
  if (!S.items.length) { ul.appendChild(el('li', {class: 'empty', text: S.search ? 'No messages match.' : 'No messages.'})); return; }
  const role = m ? m.role : null;
  S.items.forEach((e, i) => {
    const kw = e.keywords || {};
    const count = S.threadCounts[e.threadId] || 1;
    const who = role === 'sent' || role === 'drafts' ? 'To: ' + shortName(e.to) : shortName(e.from);
    ul.appendChild(el('li', {
      class: `msg${kw.$seen ? '' : ' unread'}${kw.$flagged ? ' flagged' : ''}${i === S.selected ? ' selected' : ''}`,
      'data-id': e.id, onclick: () => guarded(() => openIndex(i)),
    },
    el('span', {class: 'flag', title: kw.$flagged ? 'Flagged' : '', text: kw.$flagged ? '★' : ''}),
    el('span', {class: 'from', text: who}),
    count > 1 ? el('span', {class: 'thread-count', title: `${count} messages in thread`, text: String(count)}) : null,
    marked('subject', (S.snippets[e.id] || {}).subject, e.subject || '(no subject)'),
    marked('preview', (S.snippets[e.id] || {}).preview, e.preview || ''),
    e.hasAttachment ? el('span', {class: 'clip', title: 'Attachment', 'aria-label': 'Attachment'}) : null,
    el('span', {class: 'date', text: formatDate(e.receivedAt)})));
  });
}

$('prev-page').addEventListener('click', () => guarded(async () => { S.position = Math.max(0, S.position - PAGE); S.selected = -1; await loadList(); }));
$('next-page').addEventListener('click', () => guarded(async () => { S.position += PAGE; S.selected = -1; await loadList(); }));
$('search-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  S.search = $('search').value.trim();
  S.position = 0;
  S.selected = -1;
  closeReader();
  guarded(loadList);
});

// ---------------------------------------------------------------- reader
function closeReader() {
  S.open = null;
  S.view = 'list';
  clear($('reader'));
  document.body.classList.remove('reading');
}

async function openIndex(i) {
  if (i < 0 || i >= S.items.length) return;
  S.selected = i;
  renderList();
  const li = $('message-list').children[i];
  if (li && li.scrollIntoView) li.scrollIntoView({block: 'nearest'});
  await openEmail(S.items[i].id);
}

async function openEmail(id) {
  const r = await S.jmap.call([['Email/get', {ids: [id], properties: READ_PROPS,
    fetchHTMLBodyValues: true, fetchTextBodyValues: true, maxBodyValueBytes: 1 << 20}, 'g']]);
  const email = (r.g.list || [])[0];
  if (!email) { status('That message is gone', true); return; }
  S.open = email;
  S.view = 'read';
  let thread = [];
  if ((S.threadCounts[email.threadId] || 1) > 1) {
    const t = await S.jmap.call([
      ['Thread/get', {ids: [email.threadId]}, 't'],
      ['Email/get', {'#ids': {resultOf: 't', name: 'Thread/get', path: '/list/*/emailIds'},
        properties: ['from', 'subject', 'receivedAt', 'keywords', 'mailboxIds']}, 'e']]);
    thread = t.e.list || [];
  }
  renderReader(email, thread);
  if (!(email.keywords || {}).$seen) {
    await S.jmap.call([['Email/set', {update: {[id]: {'keywords/$seen': true}}}, 's']]);
    email.keywords = {...email.keywords, $seen: true};
    const item = S.items.find((e) => e.id === id);
    if (item) item.keywords = {...item.keywords, $seen: true};
    renderList();
    await loadMailboxes();
  }
}

function bodyOf(email, parts) {
  return (parts || []).map((p) => (email.bodyValues || {})[p.partId]).filter(Boolean).map((v) => v.value).join('\n');
}

function isHtml(email) {
  return (email.htmlBody || []).some((p) => p.type === 'text/html' && (email.bodyValues || {})[p.partId]);
}

function renderReader(email, thread) {
  const r = clear($('reader'));
  document.body.classList.add('reading');
  const kw = email.keywords || {};
  const moveSelect = el('select', {id: 'move-to', 'aria-label': 'Move to', onchange: (ev) => {
    const target = ev.target.value;
    if (target) guarded(() => moveOpen(target));
  }}, el('option', {value: '', text: 'Move to…'}),
  ordered().filter((m) => !email.mailboxIds[m.id]).map((m) => el('option', {value: m.id, text: m.name})));
  const isDraft = !!kw.$draft;
  r.appendChild(el('div', {class: 'toolbar'},
    el('button', {id: 'back-btn', title: 'Back (u)', onclick: () => { closeReader(); renderList(); }, text: '← Back'}),
    isDraft ? el('button', {id: 'edit-draft-btn', onclick: () => editDraft(email), text: 'Edit draft'}) : null,
    el('button', {id: 'reply-btn', title: 'Reply (r)', onclick: () => openReply(false), text: 'Reply'}),
    el('button', {id: 'reply-all-btn', title: 'Reply all (a)', onclick: () => openReply(true), text: 'Reply all'}),
    el('button', {id: 'forward-btn', title: 'Forward (f)', onclick: () => openForward(), text: 'Forward'}),
    el('button', {id: 'flag-btn', title: 'Flag (s)', onclick: () => guarded(toggleFlag), text: kw.$flagged ? 'Unflag' : 'Flag'}),
    el('button', {id: 'unread-btn', onclick: () => guarded(markUnread), text: 'Mark unread'}),
    moveSelect,
    el('button', {id: 'delete-btn', title: 'Delete (#)', onclick: () => guarded(deleteOpen), text: 'Delete'})));
  r.appendChild(el('h2', {class: 'subject', id: 'reader-subject', text: email.subject || '(no subject)'}));
  const hdr = el('dl', {class: 'headers'});
  const row = (k, v) => { if (v) hdr.append(el('dt', {text: k}), el('dd', {text: v})); };
  row('From', formatAddresses(email.from));
  row('To', formatAddresses(email.to));
  row('Cc', formatAddresses(email.cc));
  row('Date', email.sentAt ? new Date(email.sentAt).toLocaleString() : new Date(email.receivedAt).toLocaleString());
  r.appendChild(hdr);
  if (thread.length > 1) {
    r.appendChild(el('ol', {class: 'thread', id: 'thread-list'}, thread.map((t) => el('li', {
      class: t.id === email.id ? 'current' : '', onclick: () => guarded(() => openEmail(t.id)),
    }, el('span', {class: 'from', text: shortName(t.from)}), ' ', el('span', {class: 'date', text: formatDate(t.receivedAt)}),
    ' ', el('span', {class: 'mbox', text: Object.keys(t.mailboxIds || {}).map((id) => (S.byId[id] || {}).name).join(', ')})))));
  }
  if (email.attachments && email.attachments.length) {
    r.appendChild(el('ul', {class: 'attachments', id: 'attachments'}, email.attachments.map((a) => el('li', {},
      el('a', {href: S.jmap.downloadUrl(a.blobId, a.name, a.type), download: a.name || 'attachment',
        text: a.name || '(unnamed)'}), ` ${a.type || ''} ${a.size != null ? formatSize(a.size) : ''}`))));
  }
  const body = el('div', {class: 'body', id: 'reader-body'});
  r.appendChild(body);
  if (isHtml(email)) showHtml(body, bodyOf(email, email.htmlBody));
  else showText(body, bodyOf(email, email.textBody));
}

async function toggleFlag() {
  const e = S.open || S.items[S.selected];
  if (!e) return;
  const on = !(e.keywords || {}).$flagged;
  await S.jmap.call([['Email/set', {update: {[e.id]: {'keywords/$flagged': on ? true : null}}}, 'f']]);
  e.keywords = {...e.keywords, $flagged: on};
  if (!on) delete e.keywords.$flagged;
  const item = S.items.find((x) => x.id === e.id);
  if (item && item !== e) item.keywords = {...e.keywords};
  renderList();
  const btn = $('flag-btn');
  if (btn && S.open && S.open.id === e.id) btn.textContent = on ? 'Unflag' : 'Flag';
  status(on ? 'Flagged' : 'Unflagged');
}

async function markUnread() {
  const e = S.open;
  if (!e) return;
  await S.jmap.call([['Email/set', {update: {[e.id]: {'keywords/$seen': null}}}, 'u']]);
  closeReader();
  await loadMailboxes();
  await loadList();
}

async function moveOpen(targetId) {
  const e = S.open || S.items[S.selected];
  if (!e) return;
  const res = await S.jmap.call([['Email/set', {update: {[e.id]: {mailboxIds: {[targetId]: true}}}}, 'm']]);
  if (res.m.notUpdated && res.m.notUpdated[e.id]) throw new Error(`Move failed: ${res.m.notUpdated[e.id].type}`);
  status(`Moved to ${(S.byId[targetId] || {}).name}`);
  closeReader();
  await loadMailboxes();
  await loadList();
}

async function deleteOpen() {
  const e = S.open || S.items[S.selected];
  if (!e) return;
  const trash = byRole('trash');
  if (trash && S.current !== trash.id) { await moveOpen(trash.id); return; }
  const res = await S.jmap.call([['Email/set', {destroy: [e.id]}, 'd']]);
  if (res.d.notDestroyed && res.d.notDestroyed[e.id]) throw new Error(`Delete failed: ${res.d.notDestroyed[e.id].type}`);
  status('Deleted');
  closeReader();
  await loadMailboxes();
  await loadList();
}

// ---------------------------------------------------------------- compose
function quote(text) { return text.split('\n').map((l) => '> ' + l).join('\n'); }

function prefixed(prefix, subject) {
  const s = subject || '';
  return s.toLowerCase().startsWith(prefix.toLowerCase()) ? s : `${prefix} ${s}`;
}

function plainOf(email) {
  if ((email.textBody || []).length && bodyOf(email, email.textBody)) return bodyOf(email, email.textBody);
  if (isHtml(email)) {
    const doc = new DOMParser().parseFromString(bodyOf(email, email.htmlBody), 'text/html');
    return doc.body ? doc.body.textContent : '';
  }
  return '';
}

function myAddresses() { return new Set(S.identities.map((i) => (i.email || '').toLowerCase())); }

function openReply(all) {
  const e = S.open;
  if (!e) return;
  const mine = myAddresses();
  const to = (e.replyTo && e.replyTo.length ? e.replyTo : e.from) || [];
  const cc = all ? [...(e.to || []), ...(e.cc || [])].filter((a) => !mine.has((a.email || '').toLowerCase())) : [];
  const when = new Date(e.sentAt || e.receivedAt).toLocaleString();
  openCompose({
    to: formatAddresses(to), cc: formatAddresses(cc), subject: prefixed('Re:', e.subject),
    body: `\n\nOn ${when}, ${formatAddress((e.from || [])[0])} wrote:\n${quote(plainOf(e))}\n`,
    inReplyTo: e.messageId || null, references: [...(e.references || []), ...(e.messageId || [])],
  });
}

function openForward() {
  const e = S.open;
  if (!e) return;
  openCompose({
    to: '', cc: '', subject: prefixed('Fwd:', e.subject),
    body: `\n\n---------- Forwarded message ----------\nFrom: ${formatAddresses(e.from)}\nDate: ${new Date(e.sentAt || e.receivedAt).toLocaleString()}\n` +
      `Subject: ${e.subject || ''}\nTo: ${formatAddresses(e.to)}\n\n${plainOf(e)}\n`,
    attachments: (e.attachments || []).map((a) => ({blobId: a.blobId, type: a.type, name: a.name, disposition: 'attachment', copy: true})),
  });
}

function editDraft(e) {
  openCompose({to: formatAddresses(e.to), cc: formatAddresses(e.cc), subject: e.subject || '', body: plainOf(e),
    draftId: e.id, inReplyTo: e.inReplyTo || null, references: e.references || [],
    attachments: (e.attachments || []).map((a) => ({blobId: a.blobId, type: a.type, name: a.name, disposition: 'attachment', copy: true}))});
}

function openCompose(init = {}) {
  S.view = 'compose';
  S.compose = {draftId: init.draftId || null, inReplyTo: init.inReplyTo || null, references: init.references || [],
    attachments: init.attachments || []};
  const r = clear($('reader'));
  document.body.classList.add('reading');
  const idSelect = el('select', {id: 'compose-from', 'aria-label': 'From'},
    S.identities.map((i) => el('option', {value: i.id, text: formatAddress(i)})));
  const form = el('form', {id: 'compose-form', class: 'compose', onsubmit: (ev) => { ev.preventDefault(); guarded(sendCompose); }},
    el('label', {}, 'From ', idSelect),
    el('label', {}, 'To ', el('input', {id: 'compose-to', value: init.to || '', autocomplete: 'off'})),
    el('label', {}, 'Cc ', el('input', {id: 'compose-cc', value: init.cc || '', autocomplete: 'off'})),
    el('label', {}, 'Subject ', el('input', {id: 'compose-subject', value: init.subject || ''})),
    el('div', {class: 'compose-attachments'},
      el('ul', {id: 'compose-attachment-list'}),
      el('label', {class: 'attach'}, 'Attach files ', el('input', {type: 'file', id: 'compose-files', multiple: true,
        onchange: (ev) => guarded(() => attachFiles(ev.target))}))),
    el('textarea', {id: 'compose-body', rows: '18', 'aria-label': 'Message'}),
    el('div', {class: 'toolbar'},
      el('button', {type: 'submit', id: 'send-btn', text: 'Send'}),
      el('button', {type: 'button', id: 'save-draft-btn', onclick: () => guarded(saveDraft), text: 'Save draft'}),
      el('button', {type: 'button', id: 'discard-btn', onclick: () => { closeReader(); renderList(); }, text: 'Discard'})));
  r.appendChild(form);
  renderComposeAttachments();
  $('compose-body').value = init.body || '';
  (init.to ? $('compose-body') : $('compose-to')).focus();
  if (init.to) $('compose-body').setSelectionRange(0, 0);
}

function renderComposeAttachments() {
  const ul = clear($('compose-attachment-list'));
  S.compose.attachments.forEach((a, i) => ul.appendChild(el('li', {}, `${a.name || '(unnamed)'} `,
    el('button', {type: 'button', class: 'remove-attachment', title: 'Remove', onclick: () => {
      S.compose.attachments.splice(i, 1);
      renderComposeAttachments();
    }, text: '×'}))));
}

async function attachFiles(input) {
  for (const file of Array.from(input.files || [])) {
    status(`Uploading ${file.name}…`);
    const up = await S.jmap.upload(file, file.type || 'application/octet-stream');
    S.compose.attachments.push({blobId: up.blobId, type: up.type || file.type || 'application/octet-stream',
      name: file.name, disposition: 'attachment'});
  }
  input.value = '';
  renderComposeAttachments();
  status('');
}

// Attachments taken from another message (forward) are copied into uploaded blobs first:
// an Email is built from uploaded blobs (RFC 8620 §6.1).
async function uploadedAttachments() {
  const out = [];
  for (const a of S.compose.attachments) {
    if (!a.copy) { out.push(a); continue; }
    const bytes = await S.jmap.download(a.blobId, a.name, a.type);
    const up = await S.jmap.upload(bytes, a.type || 'application/octet-stream');
    out.push({blobId: up.blobId, type: a.type || up.type, name: a.name, disposition: 'attachment'});
  }
  S.compose.attachments = out;
}

function draftEmail() {
  const drafts = byRole('drafts');
  const identity = S.identities.find((i) => i.id === $('compose-from').value) || S.identities[0];
  if (!identity) throw new Error('This account has no identity to send from');
  const home = drafts || byRole('sent') || byRole('inbox');
  const email = {
    mailboxIds: {[home.id]: true},
    keywords: {$draft: true, $seen: true},
    from: [{name: identity.name || null, email: identity.email}],
    to: parseAddresses($('compose-to').value),
    cc: parseAddresses($('compose-cc').value),
    subject: $('compose-subject').value,
    textBody: [{partId: 'body', type: 'text/plain'}],
    bodyValues: {body: {value: $('compose-body').value}},
  };
  if (!email.to.length) delete email.to;
  if (!email.cc.length) delete email.cc;
  if (S.compose.inReplyTo) email.inReplyTo = S.compose.inReplyTo;
  if (S.compose.references.length) email.references = S.compose.references;
  if (S.compose.attachments.length) email.attachments = S.compose.attachments;
  return {email, identity, home};
}

async function saveDraft() {
  await uploadedAttachments();
  const {email} = draftEmail();
  const args = {create: {draft: email}};
  if (S.compose.draftId) args.destroy = [S.compose.draftId];
  const r = await S.jmap.call([['Email/set', args, 'd']]);
  if (r.d.notCreated && r.d.notCreated.draft) throw new Error(`Draft not saved: ${setError(r.d.notCreated.draft)}`);
  S.compose.draftId = r.d.created.draft.id;
  status('Draft saved');
  await loadMailboxes();
  await loadList();
}

async function sendCompose() {
  await uploadedAttachments();
  const {email, identity, home} = draftEmail();
  if (!(email.to || []).length && !(email.cc || []).length) throw new Error('Add a recipient');
  const sent = byRole('sent');
  const set = {create: {draft: email}};
  if (S.compose.draftId) set.destroy = [S.compose.draftId];
  const submission = {create: {send: {identityId: identity.id, emailId: '#draft'}}};
  if (sent) {
    submission.onSuccessUpdateEmail = {'#send': {[`mailboxIds/${home.id}`]: null, [`mailboxIds/${sent.id}`]: true, 'keywords/$draft': null}};
  } else {
    submission.onSuccessDestroyEmail = ['#send'];
  }
  $('send-btn').disabled = true;
  try {
    const r = await S.jmap.call([['Email/set', set, 'd'], ['EmailSubmission/set', submission, 's']]);
    if (r.d.notCreated && r.d.notCreated.draft) throw new Error(`Not sent: ${setError(r.d.notCreated.draft)}`);
    if (r.s.notCreated && r.s.notCreated.send) {
      S.compose.draftId = r.d.created.draft.id;  // kept as a draft
      throw new Error(`Not sent: ${setError(r.s.notCreated.send)}`);
    }
  } finally {
    const btn = $('send-btn');
    if (btn) btn.disabled = false;
  }
  status('Message sent');
  closeReader();
  await loadMailboxes();
  await loadList();
}

$('compose-btn').addEventListener('click', () => openCompose());

// ---------------------------------------------------------------- push
function onPush(changed) {
  if (!changed.Email && !changed.Mailbox && !changed.Thread) return;
  clearTimeout(S.refreshTimer);
  S.refreshTimer = setTimeout(() => guarded(async () => { await loadMailboxes(); await loadList(); }), 200);
}

// ---------------------------------------------------------------- keyboard
const SHORTCUTS = [['j / k', 'next / previous message'], ['u, Esc', 'back to the list'], ['r', 'reply'],
  ['a', 'reply all'], ['f', 'forward'], ['c', 'compose'], ['/', 'search'], ['s', 'flag or unflag'],
  ['#', 'delete'], ['?', 'this help']];

function toggleHelp() {
  const old = $('shortcut-help');
  if (old) { old.remove(); return; }
  document.body.appendChild(el('div', {id: 'shortcut-help', role: 'dialog', 'aria-label': 'Keyboard shortcuts',
    onclick: () => toggleHelp()}, el('h3', {text: 'Keyboard shortcuts'}),
  el('dl', {}, SHORTCUTS.map(([k, v]) => [el('dt', {}, el('kbd', {text: k})), el('dd', {text: v})]))));
}

document.addEventListener('keydown', (ev) => {
  if (!S.jmap || ev.ctrlKey || ev.metaKey || ev.altKey) return;
  const t = ev.target;
  if (t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT' || t.isContentEditable)) {
    if (ev.key === 'Escape') t.blur();
    return;
  }
  const act = {
    j: () => openIndex(Math.min(S.selected + 1, S.items.length - 1)),
    k: () => openIndex(Math.max(S.selected - 1, 0)),
    r: () => openReply(false),
    a: () => openReply(true),
    f: () => openForward(),
    c: () => openCompose(),
    '/': () => $('search').focus(),
    '#': () => deleteOpen(),
    s: () => toggleFlag(),
    u: () => { closeReader(); renderList(); },
    '?': () => toggleHelp(),
    Escape: () => { if ($('shortcut-help')) toggleHelp(); else { closeReader(); renderList(); } },
  }[ev.key];
  if (!act) return;
  if (S.view === 'compose' && ev.key !== 'Escape') return;
  ev.preventDefault();
  guarded(act);
});

boot();
