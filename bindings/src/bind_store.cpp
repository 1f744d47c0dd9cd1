// Python views of the store inspection (see bind_store.h).
#include "bind_store.h"

#include <pybind11/stl.h>

namespace mail::py {

namespace pyb = pybind11;
using namespace pybind11::literals;

pyb::list folders_to_python(const std::vector<StoreFolderView>& folders) {
  pyb::list out;
  for (const StoreFolderView& f : folders) {
    pyb::list messages;
    for (const StoreMessageView& m : f.messages) {
      pyb::object data = pyb::none();
      if (m.data) data = pyb::bytes(m.data->data(), m.data->size());
      messages.append(pyb::dict("uid"_a = m.info.uid, "flags"_a = system_flag_names(m.info.flags.system),
                                "keywords"_a = m.info.flags.keywords, "modseq"_a = m.info.modseq,
                                "internal_date"_a = m.info.internal_date, "size"_a = m.info.size,
                                "content_id"_a = m.info.content_id, "data"_a = data));
    }
    out.append(pyb::dict("name"_a = f.info.name, "special_use"_a = special_use_name(f.info.special_use),
                         "subscribed"_a = f.info.subscribed, "selectable"_a = f.info.selectable,
                         "uidvalidity"_a = f.status.uidvalidity, "uidnext"_a = f.status.uidnext,
                         "highestmodseq"_a = f.status.highestmodseq, "messages"_a = messages));
  }
  return out;
}

}  // namespace mail::py
