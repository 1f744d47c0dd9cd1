// WebmailAssets and its routes (see header). Must not: serve a file without nosniff and
// the CSP, send gzip to a client that did not accept it, or let a path name a file
// outside the embedded table (names are looked up, never joined to a directory).
#include "node/http/webmail_routes.h"

#include <zlib.h>

#include <cstdint>
#include <memory>

namespace mail::node {
namespace {

constexpr std::size_t kGzipMinBytes = 1024;

bool ends_with(std::string_view s, std::string_view suffix) { return s.ends_with(suffix); }

bool is_text(std::string_view type) {
  return type.starts_with("text/") || type.starts_with("application/javascript") ||
         type.starts_with("application/json") || type.starts_with("image/svg");
}

// gzip (RFC 1952) of `in` at the best level, or "" on failure.
std::string gzip(std::string_view in) {
  z_stream z{};
  if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK) return {};
  std::string out(deflateBound(&z, static_cast<uLong>(in.size())) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return rc == Z_STREAM_END ? out : std::string{};
}

// FNV-1a 64 of the bytes, as a strong entity tag (RFC 9110 §8.8.3).
std::string etag_of(std::string_view bytes) {
  std::uint64_t h = 14695981039346656037ull;
  for (const char c : bytes) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (int shift = 60; shift >= 0; shift -= 4) out += kHex[(h >> shift) & 0xf];
  out += '"';
  return out;
}

// Whether If-None-Match `value` matches `etag` ("*" or a list of tags, weak or not).
bool none_match_hits(std::string_view value, std::string_view etag) {
  if (value == "*") return true;
  std::size_t pos = 0;
  while (pos < value.size()) {
    std::size_t comma = value.find(',', pos);
    if (comma == std::string_view::npos) comma = value.size();
    std::string_view tag = value.substr(pos, comma - pos);
    while (!tag.empty() && tag.front() == ' ') tag.remove_prefix(1);
    while (!tag.empty() && tag.back() == ' ') tag.remove_suffix(1);
    if (tag.starts_with("W/")) tag.remove_prefix(2);
    if (tag == etag) return true;
    pos = comma + 1;
  }
  return false;
}

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

}  // namespace

std::string_view webmail_content_type(std::string_view name) {
  if (ends_with(name, ".html")) return "text/html; charset=utf-8";
  if (ends_with(name, ".js") || ends_with(name, ".mjs")) return "application/javascript; charset=utf-8";
  if (ends_with(name, ".css")) return "text/css; charset=utf-8";
  if (ends_with(name, ".svg")) return "image/svg+xml";
  if (ends_with(name, ".png")) return "image/png";
  if (ends_with(name, ".ico")) return "image/x-icon";
  if (ends_with(name, ".json")) return "application/json";
  return "application/octet-stream";
}

bool accepts_gzip(std::string_view value) {
  std::size_t pos = 0;
  while (pos < value.size()) {
    std::size_t comma = value.find(',', pos);
    if (comma == std::string_view::npos) comma = value.size();
    std::string item(value.substr(pos, comma - pos));
    for (char& c : item) c = lower(c);
    pos = comma + 1;
    std::string coding = item.substr(0, item.find(';'));
    while (!coding.empty() && coding.front() == ' ') coding.erase(0, 1);
    while (!coding.empty() && coding.back() == ' ') coding.pop_back();
    if (coding != "gzip" && coding != "x-gzip") continue;
    const std::size_t q = item.find("q=");
    if (q == std::string::npos) return true;
    // q=0, q=0.0, q=0.00...: refused; anything else accepts (RFC 9110 §12.4.2).
    std::string_view qv = std::string_view(item).substr(q + 2);
    while (!qv.empty() && qv.back() == ' ') qv.remove_suffix(1);
    return qv.find_first_not_of("0.") != std::string_view::npos;
  }
  return false;
}

WebmailAssets::WebmailAssets(std::span<const webmail::EmbeddedFile> files) {
  for (const webmail::EmbeddedFile& f : files) {
    Asset a;
    a.bytes = f.bytes;
    a.content_type = std::string(webmail_content_type(f.name));
    a.etag = etag_of(f.bytes);
    if (is_text(a.content_type) && f.bytes.size() >= kGzipMinBytes) {
      std::string z = gzip(f.bytes);
      if (!z.empty() && z.size() < f.bytes.size()) a.gzipped = std::move(z);
    }
    files_.emplace(std::string(f.name), std::move(a));
  }
}

http::Response WebmailAssets::answer(std::string_view name, const http::Request& request) const {
  const auto it = files_.find(name);
  if (it == files_.end()) return http::text_response(404, "Not found\n");
  const Asset& a = it->second;
  http::Response r;
  r.headers.push_back(http::Header{"Content-Type", a.content_type});
  r.headers.push_back(http::Header{"Cache-Control", "no-cache"});
  r.headers.push_back(http::Header{"ETag", a.etag});
  r.headers.push_back(http::Header{"X-Content-Type-Options", "nosniff"});
  r.headers.push_back(http::Header{"Referrer-Policy", "no-referrer"});
  r.headers.push_back(http::Header{"Content-Security-Policy", std::string(kWebmailCsp)});
  if (!a.gzipped.empty()) r.headers.push_back(http::Header{"Vary", "Accept-Encoding"});
  if (const auto inm = request.header("If-None-Match"); inm && none_match_hits(*inm, a.etag)) {
    r.status = 304;  // RFC 9110 §15.4.5: no body
    return r;
  }
  const auto ae = request.header("Accept-Encoding");
  if (!a.gzipped.empty() && ae && accepts_gzip(*ae)) {
    r.headers.push_back(http::Header{"Content-Encoding", "gzip"});
    r.body = a.gzipped;
  } else {
    r.body = std::string(a.bytes);
  }
  return r;
}

void add_webmail_routes(HttpRouter& router) {
  auto assets = std::make_shared<const WebmailAssets>(webmail::embedded_files());
  router.add("GET", "/", [assets](http::Request request) -> rt::Task<http::Response> {
    co_return assets->answer("index.html", request);
  });
  router.add_prefix("GET", "/assets/", [assets](http::Request request) -> rt::Task<http::Response> {
    std::string_view name = request.path();
    name.remove_prefix(std::string_view("/assets/").size());
    if (name == "index.html") co_return http::text_response(404, "Not found\n");
    co_return assets->answer(name, request);
  });
}

}  // namespace mail::node
