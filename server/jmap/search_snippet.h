// RFC 8621 §5 SearchSnippet: the subject and a piece of the body of a message with the
// filter's text marked. Both are HTML: '&', '<' and '>' become entities and every
// case-insensitive match (search_text.h fold_case: ASCII, Latin, Greek, Cyrillic) of a term
// is wrapped in <mark></mark>. Pure: no I/O.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mail::jmap {

inline constexpr std::size_t kSnippetPreviewOctetsMax = 255;  // RFC 8621 §5 preview

struct SearchSnippet {
  std::optional<std::string> subject;  // nullopt (JSON null) when no term matches the subject
  std::optional<std::string> preview;  // nullopt when no term matches the body text
};

// The snippet of `message` for the filter's text `terms` (empty terms are ignored). The
// preview is at most kSnippetPreviewOctetsMax octets including markup, starts shortly
// before the first match in the textBody text (HTML converted to text, white space
// collapsed) and never cuts an entity, a mark or a UTF-8 character.
[[nodiscard]] SearchSnippet search_snippet(std::string_view message, const std::vector<std::string>& terms);

// `text` HTML-escaped with the matches of `terms` marked; nullopt when nothing matches.
// With `octets_max` (0: no limit) the result is at most that long and starts a few words
// before the first match.
[[nodiscard]] std::optional<std::string> mark_matches(std::string_view text, const std::vector<std::string>& terms,
                                                      std::size_t octets_max = 0);

}  // namespace mail::jmap
