// The webmail single-page app over HTTP: GET / answers index.html, GET /assets/<name> the
// other embedded files (webmail_assets.h), each with its Content-Type, a strong ETag
// (If-None-Match -> 304, RFC 9110 §13.1.2), Cache-Control: no-cache (names carry no
// content hash, so every use revalidates), X-Content-Type-Options: nosniff,
// Referrer-Policy: no-referrer, and the page's Content-Security-Policy. Text files are
// gzipped once at start and sent so when Accept-Encoding allows it (RFC 9110 §12.5.3),
// with Vary: Accept-Encoding. The app speaks JMAP only (node/http/jmap_routes).
// Sans-IO: WebmailAssets::answer is a pure function of the request.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "http/message.h"
#include "node/http/router.h"
#include "node/http/webmail_assets.h"

namespace mail::node {

// The page's policy: scripts and styles from us only (the reading pane's inline styles
// come from the sanitized mail, shown in a sandboxed srcdoc frame that inherits this
// policy: hence style-src 'unsafe-inline' and remote img-src, which the frame's own,
// stricter meta policy narrows until the user asks for remote images).
inline constexpr std::string_view kWebmailCsp =
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: https: http:; connect-src 'self'; frame-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

class WebmailAssets {
 public:
  explicit WebmailAssets(std::span<const webmail::EmbeddedFile> files);
  // The answer to GET/HEAD `request` for the file `name` ("index.html"); 404 if unknown.
  [[nodiscard]] http::Response answer(std::string_view name, const http::Request& request) const;
  [[nodiscard]] bool contains(std::string_view name) const { return files_.contains(std::string(name)); }

 private:
  struct Asset {
    std::string_view bytes;
    std::string gzipped;  // empty: not worth it (binary, small, or no gain)
    std::string content_type;
    std::string etag;
  };
  std::map<std::string, Asset, std::less<>> files_;
};

// The Content-Type of a file name by its extension (application/octet-stream if unknown).
std::string_view webmail_content_type(std::string_view name);
// Whether Accept-Encoding `value` accepts gzip (a q=0 refuses it, RFC 9110 §12.5.3).
bool accepts_gzip(std::string_view value);

// Adds GET / and GET /assets/ (prefix) over the embedded files to `router`.
void add_webmail_routes(HttpRouter& router);

}  // namespace mail::node
