// The sweep ledger: <sweep dir>/ledger.tsv, an append-only log of trial state changes. It is the
// sweep's source of truth for "what has been planned, started and ended", written so that a crash
// at any moment loses at most the line being written.
//
// Format (tab-separated, UTF-8, one record per line, a header line first):
//   time<TAB>trial<TAB>state<TAB>message
//   2026-11-24T08:31:28.123Z<TAB>3fa2c81b9d0e<TAB>failed<TAB>loss is NaN at epoch 3 batch 17
// time is UTC with milliseconds; state is planned | running | done | failed. A trial that was cut
// short (Ctrl-C, SIGTERM, a lost MPI rank, or found by a re-run after a kill) gets a running record
// whose message starts with "interrupted"; it resumes from its checkpoint. In the trial and
// message fields, '\' '\t' '\n' '\r' are written as \\ \t \n \r, so a record never spans lines.
// pandas: pd.read_csv(p, sep="\t", quoting=csv.QUOTE_NONE, keep_default_na=False).
//
// Durability. Each append is ONE write(2) of the whole line to a descriptor opened with O_APPEND,
// then fdatasync(2), under a mutex: lines from threads of one process never interleave, lines of
// several processes appending to one ledger (MPI ranks) neither on a local file system. A process
// killed mid-write can leave a last line without its '\n' (a torn line); readers ignore it, and the
// next Ledger opened on the file first terminates it with '\n' so later records stay intact (the
// fragment then reads as one malformed line, also ignored).
#pragma once

#include "framework/store/state.h"

#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace attnlab::store {

/// The header line (without '\n').
inline constexpr std::string_view kLedgerHeader = "time\ttrial\tstate\tmessage";

struct LedgerEntry {
  std::string time;
  std::string trial;
  TrialState state = TrialState::planned;
  std::string message{};  ///< unescaped
  std::int64_t line = 0;  ///< 1-based line in the file
};

class Ledger {
 public:
  /// Opens `path` for appending, creating it with the header line when absent (the directory must
  /// exist). Terminates a torn last line. Throws StoreError naming the path and errno's text.
  explicit Ledger(const std::filesystem::path& path);
  ~Ledger();
  Ledger(const Ledger&) = delete;
  Ledger& operator=(const Ledger&) = delete;

  /// Appends one record, durable when this returns (see the header comment). Thread-safe.
  /// Throws StoreError when writing or syncing fails.
  void append(std::string_view trial, TrialState state, std::string_view message = {});
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  int fd_ = -1;
  std::mutex mutex_;
};

struct LedgerContents {
  std::map<std::string, LedgerEntry> last{};  ///< the last record of each trial
  std::vector<LedgerEntry> entries{};         ///< every valid record, in file order
  /// Lines ignored, as "<path>:<line>: <reason>": a torn last line, malformed lines.
  std::vector<std::string> ignored{};
};

/// Reads a ledger. Tolerates a torn last line and malformed lines (listed in `ignored`). Throws
/// StoreError when the file is missing or unreadable.
LedgerContents read_ledger(const std::filesystem::path& path);

/// The ledger's escaping of one field, and its inverse (an unknown escape is kept as is).
std::string escape_field(std::string_view text);
std::string unescape_field(std::string_view text);
/// Now as "YYYY-MM-DDTHH:MM:SS.mmmZ" (UTC).
std::string utc_now();

}  // namespace attnlab::store
