// Python views of the store inspection (store_view.h), shared by _core.World and
// _core.EmbeddedServer: one dict per folder (name, special_use, subscribed, selectable,
// uidvalidity, uidnext, highestmodseq, messages: one dict per message with uid, flags,
// keywords, modseq, internal_date, size, content_id, data). cloudsdial/store.py wraps them.
#pragma once

#include <vector>

#include <pybind11/pybind11.h>

#include "store_view.h"

namespace mail::py {

pybind11::list folders_to_python(const std::vector<StoreFolderView>& folders);

}  // namespace mail::py
