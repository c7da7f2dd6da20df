#include "framework/store/ledger.h"

#include "framework/store/durable.h"
#include "framework/store/h5.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

namespace attnlab::store {

namespace {

[[noreturn]] void io_fail(const std::filesystem::path& path, std::string_view what, int err) {
  if (is_storage_errno(err)) throw StoreError::storage(path.string(), err);
  throw StoreError(path.string(), "", fmt::format("{}: {}", what, std::strerror(err)));
}

void write_all(int fd, const std::string& text, const std::filesystem::path& path) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      io_fail(path, "cannot append", errno);
    }
    done += static_cast<std::size_t>(n);
  }
}

bool is_time(std::string_view t) {
  // YYYY-MM-DDTHH:MM:SS.mmmZ
  if (t.size() != 24 || t[4] != '-' || t[7] != '-' || t[10] != 'T' || t[13] != ':' || t[16] != ':' || t[19] != '.' ||
      t[23] != 'Z')
    return false;
  for (std::size_t i : {0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, 20, 21, 22})
    if (t[i] < '0' || t[i] > '9') return false;
  return true;
}

}  // namespace

std::string escape_field(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string unescape_field(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\' || i + 1 == text.size()) {
      out += text[i];
      continue;
    }
    const char n = text[++i];
    switch (n) {
      case '\\':
        out += '\\';
        break;
      case 't':
        out += '\t';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      default:
        out += '\\';
        out += n;
    }
  }
  return out;
}

std::string utc_now() {
  const auto now = std::chrono::system_clock::now();
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
}

Ledger::Ledger(const std::filesystem::path& path) : path_(path) {
  // O_EXCL: exactly one process creates the file and writes the header.
  fd_ = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd_ >= 0) {
    write_all(fd_, std::string(kLedgerHeader) + "\n", path_);
    if (::fsync(fd_) != 0) io_fail(path_, "cannot fsync", errno);
    const std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
    fsync_path(dir);
    return;
  }
  if (errno != EEXIST) io_fail(path_, "cannot create the ledger", errno);
  fd_ = ::open(path.c_str(), O_RDWR | O_APPEND | O_CLOEXEC);
  if (fd_ < 0) io_fail(path_, "cannot open the ledger", errno);
  struct stat st {};
  if (::fstat(fd_, &st) != 0) io_fail(path_, "cannot stat the ledger", errno);
  if (st.st_size > 0) {
    char last = '\n';
    if (::pread(fd_, &last, 1, st.st_size - 1) != 1) io_fail(path_, "cannot read the ledger", errno);
    if (last != '\n') {
      write_all(fd_, "\n", path_);
      if (::fdatasync(fd_) != 0) io_fail(path_, "cannot fsync", errno);
    }
  }
}

Ledger::~Ledger() {
  if (fd_ >= 0) ::close(fd_);
}

void Ledger::append(std::string_view trial, TrialState state, std::string_view message) {
  const std::string line =
      fmt::format("{}\t{}\t{}\t{}\n", utc_now(), escape_field(trial), name_of(state), escape_field(message));
  std::lock_guard<std::mutex> lock(mutex_);
  write_all(fd_, line, path_);
  if (::fdatasync(fd_) != 0) io_fail(path_, "cannot fsync", errno);
}

LedgerContents read_ledger(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::error_code ec;
    throw StoreError(
        path.string(), "",
        std::filesystem::exists(path, ec) ? "cannot read the ledger" : "cannot read the ledger: no such file");
  }
  std::stringstream buf;
  buf << in.rdbuf();
  const std::string text = buf.str();
  LedgerContents out;
  std::size_t pos = 0;
  std::int64_t number = 0;
  while (pos < text.size()) {
    ++number;
    const std::size_t nl = text.find('\n', pos);
    const auto where = [&](std::string_view why) { return fmt::format("{}:{}: {}", path.string(), number, why); };
    if (nl == std::string::npos) {
      out.ignored.push_back(where("torn last line (no newline; a write was interrupted), ignored"));
      break;
    }
    const std::string_view line(text.data() + pos, nl - pos);
    pos = nl + 1;
    if (line == kLedgerHeader) continue;
    std::vector<std::string_view> f;
    std::size_t start = 0;
    for (;;) {
      const std::size_t tab = line.find('\t', start);
      f.push_back(line.substr(start, tab == std::string_view::npos ? std::string_view::npos : tab - start));
      if (tab == std::string_view::npos) break;
      start = tab + 1;
    }
    if (f.size() != 4) {
      out.ignored.push_back(where(fmt::format("{} fields instead of 4, ignored", f.size())));
      continue;
    }
    const auto state = parse_state(f[2]);
    if (!is_time(f[0]) || f[1].empty() || !state) {
      out.ignored.push_back(where("malformed record (time, trial or state), ignored"));
      continue;
    }
    LedgerEntry e{std::string(f[0]), unescape_field(f[1]), *state, unescape_field(f[3]), number};
    out.last[e.trial] = e;
    out.entries.push_back(std::move(e));
  }
  return out;
}

}  // namespace attnlab::store
