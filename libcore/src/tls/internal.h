// Shared between context.cpp and stream.cpp; not part of the public API.
#pragma once

#include <string>

namespace pw::tls::detail {

// SSL ex_data slot holding a `const std::string*`: the client session cache key ("host:port")
// of the connection, read by the new-session callback.
int session_key_index() noexcept;

}  // namespace pw::tls::detail
