// YAML in: text and files to Value trees with file:line:col marks (the only yaml-cpp reader).
#include "framework/config/detail.h"
#include "framework/config/value.h"

#include <fmt/format.h>
#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unordered_map>

namespace attnlab::config {

namespace fs = std::filesystem;

// ---- parsing ---------------------------------------------------------------------------------------

namespace {

// yaml-cpp would follow a recursive alias (`&a [*a]`) forever, and nested aliases can expand
// exponentially; both limits are far beyond any real spec.
constexpr int kMaxDepth = 256;
constexpr std::size_t kMaxNodes = 100'000;

struct Converter {
  std::shared_ptr<const std::string> file;
  Problems problems;
  std::size_t nodes = 0;
  bool aborted = false;

  Mark mark_of(const YAML::Node& n) const {
    const YAML::Mark m = n.Mark();
    if (m.is_null()) return Mark{file, 0, 0};
    return Mark{file, m.line + 1, m.column + 1};
  }

  std::string key_text(const YAML::Node& k, const std::string& path, int depth) {
    if (k.IsScalar()) return k.Scalar();
    if (k.IsNull()) return "null";
    return canonical(convert(k, path, depth + 1));
  }

  Value convert(const YAML::Node& n, const std::string& path, int depth) {
    const Mark mark = mark_of(n);
    if (aborted) return Value::null(mark);
    if (depth > kMaxDepth || ++nodes > kMaxNodes) {
      problems.add(mark, path.size() > 80 ? path.substr(0, 60) + "..." : path,
                   depth > kMaxDepth ? fmt::format("nesting deeper than {} levels (a recursive alias?)", kMaxDepth)
                                     : fmt::format("more than {} nodes (aliases expanding too far?)", kMaxNodes));
      aborted = true;
      return Value::null(mark);
    }
    switch (n.Type()) {
      case YAML::NodeType::Scalar: {
        const std::string& tag = n.Tag();
        // Plain scalars have the non-specific tag "?"; quoted and block scalars have "!".
        const bool quoted = tag == "!" || tag == "tag:yaml.org,2002:str";
        return Value::scalar(n.Scalar(), mark, quoted);
      }
      case YAML::NodeType::Sequence: {
        Value s = Value::sequence(mark);
        std::size_t i = 0;
        for (const auto& item : n) s.push_back(convert(item, fmt::format("{}[{}]", path, i++), depth + 1));
        return s;
      }
      case YAML::NodeType::Map: {
        Value m = Value::map(mark);
        std::unordered_map<std::string, Mark> seen;
        for (const auto& kv : n) {
          const Mark key_mark = mark_of(kv.first);
          std::string key = key_text(kv.first, path, depth);
          const std::string child_path = join_path(path, key);
          Value v = convert(kv.second, child_path, depth + 1);
          // An empty value ("key:" at the end of a line) gets the position of the next token;
          // the key is where the user looks.
          if (v.is_null() && (v.mark().line != key_mark.line || v.mark().line == 0)) v.set_mark(key_mark);
          auto [it, fresh] = seen.emplace(key, key_mark);
          if (!fresh) {
            problems.add(key_mark, child_path, fmt::format("duplicate key '{}' (first at {})", key, it->second.str()));
            continue;
          }
          m.entries().push_back({std::move(key), key_mark, std::move(v)});
        }
        return m;
      }
      case YAML::NodeType::Null:
      case YAML::NodeType::Undefined:
        break;
    }
    return Value::null(mark);
  }
};

}  // namespace

namespace {

/// The text of line `line` (0-based) of `text`.
std::string_view line_of(std::string_view text, int line) {
  std::size_t from = 0;
  for (int i = 0; i < line && from != std::string_view::npos; ++i) {
    from = text.find('\n', from);
    if (from != std::string_view::npos) ++from;
  }
  if (from == std::string_view::npos || from > text.size()) return {};
  const std::size_t to = text.find('\n', from);
  return text.substr(from, to == std::string_view::npos ? std::string_view::npos : to - from);
}

/// yaml-cpp's message with what it leaves out: a tab in the indentation, the alias's name.
std::string explain(const std::string& msg, std::string_view text, const YAML::Mark& mark) {
  if (mark.is_null()) return msg;
  const std::string_view line = line_of(text, mark.line);
  const std::size_t indent_end = line.find_first_not_of(" \t");
  if (line.substr(0, indent_end).find('\t') != std::string_view::npos)
    return msg + " (this line is indented with a tab; YAML indents with spaces only)";
  if (msg.find("anchor is not defined") != std::string::npos) {
    const std::size_t star = line.find('*', static_cast<std::size_t>(std::max(0, mark.column)));
    const std::size_t at = star == std::string_view::npos ? line.rfind('*') : star;
    if (at != std::string_view::npos) {
      const std::size_t end = line.find_first_of(" \t,]}", at);
      return fmt::format("alias '{}' refers to no anchor (define it first with &{})",
                         line.substr(at, end == std::string_view::npos ? std::string_view::npos : end - at),
                         line.substr(at + 1, end == std::string_view::npos ? std::string_view::npos : end - at - 1));
    }
  }
  return msg;
}

// Counts a text's documents without building them. yaml-cpp 0.7's LoadAll never returns on some
// malformed input (a stray ',' line after a comment ending in '---'): its parser yields empty
// documents forever and LoadAll collects them until memory runs out. Counting stops at kMaxDocuments.
struct DocumentCounter : YAML::EventHandler {
  static constexpr int kMaxDocuments = 100;
  int documents = 0;
  YAML::Mark second = YAML::Mark::null_mark();
  void OnDocumentStart(const YAML::Mark& mark) override {
    if (++documents == 2) second = mark;
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

}  // namespace

Value parse_impl(std::string_view text, const std::string& source_name, bool& empty) {
  auto file = std::make_shared<const std::string>(source_name);
  YAML::Node doc;
  DocumentCounter counter;
  try {
    std::istringstream in{std::string(text)};
    YAML::Parser parser(in);
    while (counter.documents < DocumentCounter::kMaxDocuments && parser.HandleNextDocument(counter)) {}
    if (counter.documents > 0) doc = YAML::Load(std::string(text));  // the first document only
  } catch (const YAML::Exception& e) {
    Mark m{file, 0, 0};
    if (!e.mark.is_null()) m = Mark{file, e.mark.line + 1, e.mark.column + 1};
    // yaml-cpp says "bad file" when brackets nest deeper than its parser allows.
    if (const auto* deep = dynamic_cast<const YAML::DeepRecursion*>(&e))
      throw ConfigError({Problem{m,
                                 "",
                                 fmt::format("brackets nested deeper than {} levels (the parser's limit); a spec "
                                             "nests a few levels: is this file a spec?",
                                             deep->depth()),
                                 {}}});
    throw ConfigError({Problem{m, "", explain(e.msg, text, e.mark), {}}});
  }
  empty = counter.documents == 0;
  if (empty) return Value::map(Mark{file, 1, 1});
  Converter c{file, {}, 0, false};
  if (counter.documents > 1) {
    const Mark m =
        counter.second.is_null() ? Mark{file, 0, 0} : Mark{file, counter.second.line + 1, counter.second.column + 1};
    c.problems.add(m, "",
                   counter.documents >= DocumentCounter::kMaxDocuments
                       ? std::string("the YAML parser makes no progress from here (a line starting with ',' outside "
                                     "brackets?)")
                       : fmt::format("expected one YAML document, found {} ('---' starts another)", counter.documents));
  }
  Value v = c.convert(doc, "", 0);
  c.problems.check();
  return v;
}

Value parse(std::string_view text, const std::string& source_name) {
  bool empty = false;
  return parse_impl(text, source_name, empty);
}

Value load_file(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec))
    throw ConfigError(
        {Problem{Mark{std::make_shared<const std::string>(path), 0, 0}, "", "cannot read: is a directory", {}}});
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw ConfigError({Problem{Mark{std::make_shared<const std::string>(path), 0, 0},
                               "",
                               fmt::format("cannot read: {}", std::strerror(errno)),
                               {}}});
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse(ss.str(), path);
}

}  // namespace attnlab::config
