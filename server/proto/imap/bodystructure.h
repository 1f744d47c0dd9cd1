// The IMAP BODY and BODYSTRUCTURE of a message or of one part (RFC 9051 §7.5.2, grammar
// `body`): media type, parameters, id, description, encoding, octets, lines, the envelope
// and body of message/rfc822 and message/global parts, and with `extensible` the extension
// data (md5, disposition, language, location). Parts the tree left as leaves are rendered as
// basic; a multipart without parts gets one empty text/plain part so the grammar (1*body)
// holds. Pure: no I/O.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "proto/message/mime.h"

namespace mail::imap {

// Appends the `body` production of tree.parts[part]: BODYSTRUCTURE when `extensible`, BODY
// otherwise. `message` is the text the tree was parsed from.
void append_body(std::string& out, std::string_view message, const message::MimeTree& tree,
                 std::size_t part, bool extensible);
// The `body` production of the whole message.
[[nodiscard]] std::string bodystructure(std::string_view message, const message::MimeTree& tree,
                                        bool extensible);

}  // namespace mail::imap
