// Queue reports: what `cloudsdial queue list/show` prints, built once for both paths — a
// running server answering on its control socket (control_server.h) and the CLI reading a
// stopped server's queue directly. JSON (one document, no newline) and the plain-text table
// rendered from the same summaries. Pure: no I/O, no clock (times are arguments).
#pragma once

#include <string>
#include <vector>

#include "core/time.h"
#include "node/queue_manager.h"
#include "store/queue_record.h"

namespace mail::node {

// The list line of one message (`active` is false: only the running server knows).
QueueSummary summarize(const store::QueuedMessage& message);

// {"ok":true,"messages":[{...}, ...]}
std::string queue_list_json(const std::vector<QueueSummary>& messages);
// {"ok":true,"message":{...,"recipients":[...]}}
std::string queue_show_json(const store::QueuedMessage& message);
// {"ok":true} and {"ok":true,"note":"..."}
std::string ok_json(std::string_view note = {});

}  // namespace mail::node
