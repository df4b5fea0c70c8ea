// parse_json: nlohmann's parser, with positions computed from its byte offset and a check for
// duplicate keys.
#include <functional>
#include <set>

#include "pw/base/strings.h"
#include "pw/config/diagnostics.h"
#include "pw/config/source.h"

namespace pw::config {

TextPosition position_of(std::string_view text, std::size_t offset) noexcept {
  TextPosition p;
  if (offset > text.size()) offset = text.size();
  for (std::size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++p.line;
      p.column = 1;
    } else {
      ++p.column;
    }
  }
  return p;
}

namespace {
// nlohmann's what() is "[json.exception.parse_error.101] parse error at line 3, column 14:
// syntax error while parsing object key - unexpected '}'; expected string literal". Keep the
// part after " - ", which says what was found and expected; our own prefix gives the position.
std::string short_reason(std::string_view what) {
  auto dash = what.find(" - ");
  if (dash != std::string_view::npos) return "syntax error: " + std::string(what.substr(dash + 3));
  auto colon = what.find(": ");
  if (colon != std::string_view::npos) return std::string(what.substr(colon + 2));
  return std::string(what);
}
}  // namespace

namespace {
// nlohmann keeps the last of duplicate keys silently; in a config that hides a mistake, so a
// parser callback tracks the open containers and reports each duplicate with its path.
class DuplicateKeyFinder {
 public:
  bool operator()(int, nlohmann::json::parse_event_t ev, nlohmann::json& parsed) {
    using E = nlohmann::json::parse_event_t;
    switch (ev) {
      case E::object_start: frames_.push_back({true}); break;
      case E::array_start: frames_.push_back({false}); break;
      case E::key: {
        auto& f = frames_.back();
        f.key = parsed.get<std::string>();
        if (!f.keys.insert(f.key).second) found_.push_back({pointer(), f.key});
        break;
      }
      case E::object_end:
      case E::array_end:
        frames_.pop_back();
        [[fallthrough]];
      case E::value:
        if (!frames_.empty() && !frames_.back().is_object) ++frames_.back().index;
        break;
    }
    return true;
  }
  // (path of the object, key) per duplicate.
  const std::vector<std::pair<std::string, std::string>>& found() const { return found_; }

 private:
  struct Frame {
    bool is_object;
    std::set<std::string> keys{};
    std::string key{};
    std::size_t index = 0;
  };
  std::string pointer() const {
    std::string p;
    for (std::size_t i = 0; i + 1 < frames_.size(); ++i)
      p += '/' + (frames_[i].is_object ? escape_pointer_token(frames_[i].key) : std::to_string(frames_[i].index));
    return p;
  }
  std::vector<Frame> frames_;
  std::vector<std::pair<std::string, std::string>> found_;
};
}  // namespace

Result<nlohmann::json> parse_json(std::string_view text, std::string_view file) {
  try {
    DuplicateKeyFinder dups;
    auto doc = nlohmann::json::parse(text.begin(), text.end(), std::ref(dups));
    if (dups.found().empty()) return doc;
    Diagnostics diags;
    for (const auto& [path, key] : dups.found()) diags.add(path, "duplicate field \"" + escape_for_log(key) + "\"");
    return make_error(Errc::invalid_argument, diags.format(file));
  } catch (const nlohmann::json::parse_error& e) {
    // e.byte counts the characters read, so the offending byte is at e.byte - 1 (0-based).
    std::size_t offset = e.byte > 0 ? e.byte - 1 : 0;
    if (offset > text.size()) offset = text.size();
    TextPosition p = position_of(text, offset);
    std::string msg(file);
    msg += ':' + std::to_string(p.line) + ':' + std::to_string(p.column) + " (byte " +
           std::to_string(offset) + "): " + short_reason(e.what());
    return make_error(Errc::parse_error, std::move(msg));
  } catch (const nlohmann::json::exception& e) {
    // out_of_range 406 "number overflow parsing '1e999'" carries no position.
    std::string what = e.what();
    auto bracket = what.find("] ");
    return make_error(Errc::parse_error,
                      std::string(file) + ": " + (bracket == std::string::npos ? what : what.substr(bracket + 2)));
  }
}

}  // namespace pw::config
