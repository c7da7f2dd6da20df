// Internal to framework/config: what its translation units share (not part of the API).
#pragma once

#include "framework/config/value.h"

#include <string>
#include <string_view>

namespace attnlab::config {

/// Parses YAML text named `source_name` in marks; `empty` is set for a document with no content.
Value parse_impl(std::string_view text, const std::string& source_name, bool& empty);

}  // namespace attnlab::config
