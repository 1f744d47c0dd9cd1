// Directory helpers the file stores share (MaildirStore, OutboundQueue): the configured data
// directory in its one normal form, and making or syncing several directories at once. All
// file access through Env::Disk; no layout knowledge here (maildir.h and outbound_queue.h
// own their paths).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "runtime/env.h"
#include "runtime/task.h"

namespace mail::store {

// data_dir as configured: "" -> ".", runs of '/' -> one, no trailing '/' ("/" stays "/").
// Never empty, never contains "//".
std::string normal_data_dir(std::string_view data_dir);

// mkdir -p of every one of `dirs` (all started at once); the first failure in `dirs` order,
// else ok. Completes only after every operation has.
rt::Task<Status> make_dirs_all(rt::Disk& disk, std::vector<std::string> dirs);

// sync_dir of every one of `dirs` (all started at once); the first failure in `dirs` order,
// else ok. Completes only after every operation has.
rt::Task<Status> sync_dirs_all(rt::Disk& disk, std::vector<std::string> dirs);

}  // namespace mail::store
