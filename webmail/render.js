// Showing a message body safely. HTML is sanitized with DOMPurify and shown in an
// <iframe sandbox> (no allow-scripts, no allow-same-origin: an opaque origin that cannot
// run script or reach the app) through srcdoc, under a meta Content-Security-Policy that
// allows inline styles and data: images only; remote images (http:, https:) only after
// the user asks. Plain text is put in a <pre> as text, never parsed as HTML.
const CSP_BLOCKED = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";
const CSP_IMAGES = "default-src 'none'; style-src 'unsafe-inline'; img-src https: http: data:";
const REMOTE = /^\s*(https?:)?\/\//i;

let hooked = false;
let remoteSeen = 0;

function purifier() {
  const p = window.DOMPurify;
  if (!p || !p.isSupported) throw new Error('DOMPurify is not loaded');
  if (!hooked) {
    hooked = true;
    p.addHook('afterSanitizeAttributes', (node) => {
      if (node.tagName === 'A' && node.hasAttribute('href')) {
        node.setAttribute('target', '_blank');
        node.setAttribute('rel', 'noopener noreferrer');
      }
      for (const attr of ['src', 'background', 'poster', 'srcset']) {
        if (node.hasAttribute && node.hasAttribute(attr) && REMOTE.test(node.getAttribute(attr))) remoteSeen++;
      }
      if (node.hasAttribute && node.hasAttribute('style') && /url\(\s*['"]?\s*(https?:)?\/\//i.test(node.getAttribute('style'))) remoteSeen++;
    });
    p.addHook('uponSanitizeElement', (node, data) => {
      if (data.tagName === 'style' && /url\(\s*['"]?\s*(https?:)?\/\//i.test(node.textContent || '')) remoteSeen++;
    });
  }
  return p;
}

// {html, remote}: the sanitized body and how many remote references it has.
export function sanitize(html) {
  const p = purifier();
  remoteSeen = 0;
  const clean = p.sanitize(html, {
    FORCE_BODY: true,
    FORBID_TAGS: ['form', 'input', 'button', 'textarea', 'select', 'option', 'base', 'meta', 'link'],
    FORBID_ATTR: ['action', 'formaction'],
  });
  return {html: clean, remote: remoteSeen};
}

export function frameDocument(cleanHtml, showImages) {
  const csp = showImages ? CSP_IMAGES : CSP_BLOCKED;
  return '<!doctype html><html><head><meta charset="utf-8">' +
    `<meta http-equiv="Content-Security-Policy" content="${csp}">` +
    '<meta name="referrer" content="no-referrer">' +
    '<style>body{font-family:system-ui,sans-serif;font-size:14px;margin:8px;word-wrap:break-word}img{max-width:100%}</style>' +
    `</head><body>${cleanHtml}</body></html>`;
}

// A sandboxed frame showing `html` (untrusted mail HTML); `container` receives the frame
// and, when the mail refers to remote images, a "Show images" bar.
export function showHtml(container, html) {
  const {html: clean, remote} = sanitize(html);
  const frame = document.createElement('iframe');
  frame.className = 'mail-frame';
  frame.setAttribute('sandbox', 'allow-popups allow-popups-to-escape-sandbox');
  frame.setAttribute('referrerpolicy', 'no-referrer');
  frame.title = 'Message body';
  if (remote > 0) {
    const bar = document.createElement('div');
    bar.className = 'images-bar';
    bar.textContent = `Remote images are blocked (${remote}). `;
    const btn = document.createElement('button');
    btn.id = 'show-images';
    btn.textContent = 'Show images';
    btn.addEventListener('click', () => {
      frame.srcdoc = frameDocument(clean, true);
      bar.remove();
    });
    bar.appendChild(btn);
    container.appendChild(bar);
  }
  frame.srcdoc = frameDocument(clean, false);
  container.appendChild(frame);
  return frame;
}

export function showText(container, text) {
  const pre = document.createElement('pre');
  pre.className = 'mail-text';
  pre.textContent = text;
  container.appendChild(pre);
  return pre;
}
