// DOM helpers: elements are built with textContent and attributes, never innerHTML, so
// mail data (names, subjects, previews) is always text.
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else if (k === 'text') node.textContent = v;
    else node.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    node.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
  }
  return node;
}

export function $(id) { return document.getElementById(id); }

export function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); return node; }

export function formatAddress(a) {
  if (!a) return '';
  return a.name ? `${a.name} <${a.email}>` : a.email;
}

export function formatAddresses(list) { return (list || []).map(formatAddress).join(', '); }

export function shortName(list) {
  const a = (list || [])[0];
  if (!a) return '(nobody)';
  return a.name || a.email;
}

// "Ann <ann@x.test>, bob@y.test" -> [{name, email}]
export function parseAddresses(text) {
  const out = [];
  for (const raw of text.split(/[,;]/)) {
    const s = raw.trim();
    if (!s) continue;
    const m = s.match(/^(.*)<([^>]+)>$/);
    if (m) {
      const name = m[1].trim().replace(/^"|"$/g, '');
      out.push({name: name || null, email: m[2].trim()});
    } else {
      out.push({name: null, email: s});
    }
  }
  return out;
}

export function formatDate(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  const now = new Date();
  if (d.toDateString() === now.toDateString()) return d.toLocaleTimeString([], {hour: '2-digit', minute: '2-digit'});
  return d.toLocaleDateString([], {year: 'numeric', month: 'short', day: 'numeric'});
}

export function formatSize(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${Math.round(n / 1024)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}
