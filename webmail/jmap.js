// A small JMAP client (RFC 8620 core, RFC 8621 mail): login for a bearer token, the
// Session resource, batched method calls with result references, download URLs and
// push over EventSource (RFC 8620 §7.3). Tokens live in sessionStorage only.
export const USING = ['urn:ietf:params:jmap:core', 'urn:ietf:params:jmap:mail', 'urn:ietf:params:jmap:submission'];
const TOKEN_KEY = 'cloudsdial.token';

export class JmapError extends Error {
  constructor(message, detail) { super(message); this.detail = detail; }
}

export async function login(username, password) {
  const r = await fetch('/jmap/login', {
    method: 'POST', headers: {'Content-Type': 'application/json'},
    body: JSON.stringify({username, password}), credentials: 'omit',
  });
  if (r.status === 401 || r.status === 403) throw new JmapError('Wrong user name or password');
  if (!r.ok) throw new JmapError(`Login failed (${r.status})`);
  const body = await r.json();
  if (!body.accessToken) throw new JmapError('Login answered no token');
  sessionStorage.setItem(TOKEN_KEY, body.accessToken);
  return body.accessToken;
}

export function storedToken() { return sessionStorage.getItem(TOKEN_KEY); }
export function forgetToken() { sessionStorage.removeItem(TOKEN_KEY); }

export class Jmap {
  constructor(token) { this.token = token; this.session = null; this.accountId = null; }

  headers(extra = {}) { return {Authorization: `Bearer ${this.token}`, ...extra}; }

  async connect() {
    const r = await fetch('/.well-known/jmap', {headers: this.headers(), credentials: 'omit'});
    if (r.status === 401) throw new JmapError('unauthorized');
    if (!r.ok) throw new JmapError(`Session: HTTP ${r.status}`);
    this.session = await r.json();
    const primary = this.session.primaryAccounts || {};
    this.accountId = primary['urn:ietf:params:jmap:mail'] || Object.keys(this.session.accounts || {})[0];
    if (!this.accountId) throw new JmapError('The session has no mail account');
    return this.session;
  }

  get username() { return this.session ? this.session.username : ''; }

  // calls: [[name, args, callId], ...]; accountId is filled in. Returns {callId: args};
  // a method "error" response throws.
  async call(calls) {
    const methodCalls = calls.map(([name, args, id]) => [name, {accountId: this.accountId, ...args}, id]);
    const r = await fetch(this.session.apiUrl, {
      method: 'POST', credentials: 'omit',
      headers: this.headers({'Content-Type': 'application/json'}),
      body: JSON.stringify({using: USING, methodCalls}),
    });
    if (r.status === 401) throw new JmapError('unauthorized');
    if (!r.ok) {
      let detail = null;
      try { detail = await r.json(); } catch (e) { /* not JSON */ }
      throw new JmapError(`JMAP: HTTP ${r.status}${detail && detail.detail ? ': ' + detail.detail : ''}`, detail);
    }
    const body = await r.json();
    const out = {};
    for (const [name, args, id] of body.methodResponses) {
      if (name === 'error') throw new JmapError(`${id}: ${args.type}${args.description ? ' (' + args.description + ')' : ''}`, args);
      out[id] = args;
    }
    return out;
  }

  downloadUrl(blobId, name, type) {
    const url = this.session.downloadUrl
      .replace('{accountId}', encodeURIComponent(this.accountId))
      .replace('{blobId}', encodeURIComponent(blobId))
      .replace('{name}', encodeURIComponent(name || 'attachment'))
      .replace('{type}', encodeURIComponent(type || 'application/octet-stream'));
    return url + (url.includes('?') ? '&' : '?') + 'access_token=' + encodeURIComponent(this.token);
  }

  // Uploads bytes (a Blob or File) as a blob (RFC 8620 §6.1): {blobId, type, size}.
  async upload(data, type) {
    const url = this.session.uploadUrl.replace('{accountId}', encodeURIComponent(this.accountId));
    const r = await fetch(url, {method: 'POST', credentials: 'omit',
      headers: this.headers({'Content-Type': type || 'application/octet-stream'}), body: data});
    if (r.status === 401) throw new JmapError('unauthorized');
    if (!r.ok) throw new JmapError(`Upload failed: HTTP ${r.status}`);
    return r.json();
  }

  // The bytes of a blob (RFC 8620 §6.2) as a Blob.
  async download(blobId, name, type) {
    const r = await fetch(this.downloadUrl(blobId, name, type), {credentials: 'omit'});
    if (!r.ok) throw new JmapError(`Download of ${name || blobId} failed: HTTP ${r.status}`);
    return r.blob();
  }

  // Calls onChange(changed) for each StateChange pushed; returns the EventSource.
  push(onChange) {
    if (!this.session.eventSourceUrl) return null;
    let url = this.session.eventSourceUrl
      .replace('{types}', '*').replace('{closeafter}', 'no').replace('{ping}', '30');
    url += (url.includes('?') ? '&' : '?') + 'access_token=' + encodeURIComponent(this.token);
    const es = new EventSource(url);
    es.addEventListener('state', (ev) => {
      try {
        const data = JSON.parse(ev.data);
        onChange((data.changed || {})[this.accountId] || {});
      } catch (e) { /* a malformed event is ignored */ }
    });
    return es;
  }
}
