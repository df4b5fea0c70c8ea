// Escaping for roff (man(7)) output.
#pragma once

#include <string>
#include <string_view>

namespace pw::cli::roff {

// Running text: '\' becomes \e, '-' becomes \- (so options copy and paste as ASCII), a '.' or '\''
// at the start of a line is guarded with \& (it would start a request), and non-ASCII UTF-8 becomes
// \[uXXXX] (so output does not depend on the reader's locale; invalid bytes become U+FFFD).
std::string text(std::string_view s);

// The same inside a double-quoted macro argument, where '"' is written \(dq.
std::string quoted(std::string_view s);

// \fBtext\fR and \fItext\fR with the text escaped.
std::string bold(std::string_view s);
std::string italic(std::string_view s);

}  // namespace pw::cli::roff
