// The sweep ledger: records read back unescaped, the last state per trial wins, torn and malformed
// lines are ignored (and reported), concurrent appends never interleave.
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "framework/store/h5.h"
#include "framework/store/ledger.h"
#include "tests/support/expect.h"
#include "tests/support/temp_dir.h"

using namespace attnlab;
using namespace attnlab::store;
namespace fs = std::filesystem;

namespace {

using testing::TempDir;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void append_raw(const fs::path& p, const std::string& text) {
  std::ofstream(p, std::ios::binary | std::ios::app) << text;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(ledger)

BOOST_AUTO_TEST_CASE(escaping_round_trips) {
  BOOST_TEST(escape_field("a\tb\nc\\d\re") == "a\\tb\\nc\\\\d\\re");
  BOOST_TEST(unescape_field("a\\tb\\nc\\\\d\\re") == "a\tb\nc\\d\re");
  BOOST_TEST(unescape_field("odd \\x and trailing \\") == "odd \\x and trailing \\");
  const std::string nasty = "\\t is not a tab\t\\\n\\\\";
  BOOST_TEST(unescape_field(escape_field(nasty)) == nasty);
  const std::string t = utc_now();
  BOOST_TEST(t.size() == 24u);
  BOOST_TEST(t[10] == 'T');
  BOOST_TEST(t.back() == 'Z');
}

BOOST_AUTO_TEST_CASE(records_read_back_with_the_last_state_per_trial) {
  TempDir dir("ledger");
  const fs::path p = dir.path / "ledger.tsv";
  {
    Ledger l(p);
    l.append("a1", TrialState::planned);
    l.append("b2", TrialState::planned);
    l.append("a1", TrialState::running);
    l.append("b2", TrialState::running);
    l.append("a1", TrialState::done);
    l.append("b2", TrialState::failed, "loss is NaN\tat epoch 3\nbatch 17 \\ step 2");
  }
  const std::string text = slurp(p);
  BOOST_TEST(text.rfind("time\ttrial\tstate\tmessage\n", 0) == 0u);  // the header
  // 7 lines, each record on one line despite the tab and newline in the message.
  BOOST_TEST(std::count(text.begin(), text.end(), '\n') == 7);
  BOOST_TEST(text.find("loss is NaN\\tat epoch 3\\nbatch 17 \\\\ step 2\n") != std::string::npos);

  const LedgerContents c = read_ledger(p);
  BOOST_TEST(c.ignored.empty());
  BOOST_TEST(c.entries.size() == 6u);
  BOOST_TEST(c.last.size() == 2u);
  BOOST_TEST((c.last.at("a1").state == TrialState::done));
  BOOST_TEST(c.last.at("a1").line == 6);
  BOOST_TEST((c.last.at("b2").state == TrialState::failed));
  BOOST_TEST(c.last.at("b2").message == "loss is NaN\tat epoch 3\nbatch 17 \\ step 2");
  BOOST_TEST(c.last.at("b2").line == 7);
  BOOST_TEST((c.entries[0].state == TrialState::planned));
  BOOST_TEST(c.entries[0].trial == "a1");

  // Reopening appends after what is there (no second header).
  {
    Ledger l(p);
    l.append("a1", TrialState::running, "rerun");
  }
  const LedgerContents again = read_ledger(p);
  BOOST_TEST(again.entries.size() == 7u);
  BOOST_TEST((again.last.at("a1").state == TrialState::running));
  BOOST_TEST(again.ignored.empty());
}

BOOST_AUTO_TEST_CASE(a_torn_last_line_is_ignored) {
  TempDir dir("torn");
  const fs::path p = dir.path / "ledger.tsv";
  {
    Ledger l(p);
    l.append("a1", TrialState::running);
  }
  // A kill -9 in the middle of the next write: part of a record, no newline.
  append_raw(p, "2026-11-24T08:31:28.123Z\ta1\tdo");
  LedgerContents c = read_ledger(p);
  BOOST_TEST((c.last.at("a1").state == TrialState::running));
  BOOST_TEST(c.entries.size() == 1u);
  BOOST_TEST_REQUIRE(c.ignored.size() == 1u);
  BOOST_TEST(c.ignored[0].find("ledger.tsv:3: torn last line") != std::string::npos, c.ignored[0]);

  // The resumed sweep opens the ledger again: the fragment is terminated, new records stay whole.
  {
    Ledger l(p);
    l.append("a1", TrialState::done);
  }
  c = read_ledger(p);
  BOOST_TEST((c.last.at("a1").state == TrialState::done));
  BOOST_TEST(c.entries.size() == 2u);
  BOOST_TEST_REQUIRE(c.ignored.size() == 1u);
  BOOST_TEST(c.ignored[0].find("ledger.tsv:3: 3 fields instead of 4") != std::string::npos, c.ignored[0]);
}

BOOST_AUTO_TEST_CASE(malformed_lines_are_ignored_and_reported) {
  TempDir dir("malformed");
  const fs::path p = dir.path / "ledger.tsv";
  std::ofstream(p, std::ios::binary) << kLedgerHeader << "\n"
                                     << "2026-11-24T08:31:28.123Z\tx1\tplanned\t\n"
                                     << "garbage\n"
                                     << "2026-11-24T08:31:28.123Z\tx1\tfinished\t\n"  // unknown state
                                     << "yesterday\tx1\tdone\t\n"                     // bad time
                                     << "2026-11-24T08:31:28.123Z\t\tdone\t\n"        // no trial
                                     << "2026-11-24T08:31:29.000Z\tx1\tdone\tok\n";
  const LedgerContents c = read_ledger(p);
  BOOST_TEST(c.entries.size() == 2u);
  BOOST_TEST((c.last.at("x1").state == TrialState::done));
  BOOST_TEST(c.last.at("x1").message == "ok");
  BOOST_TEST(c.ignored.size() == 4u);
  BOOST_TEST(c.ignored[0].find(":3: 1 fields instead of 4") != std::string::npos, c.ignored[0]);
  BOOST_TEST(c.ignored[1].find(":4: malformed record") != std::string::npos, c.ignored[1]);
  testing::expect_error<StoreError>([&] { (void)read_ledger(dir.path / "none.tsv"); }, {"none.tsv", "no such file"});
  testing::expect_error<StoreError>([&] { Ledger l(dir.path / "no" / "ledger.tsv"); }, {"cannot create the ledger"});
}

BOOST_AUTO_TEST_CASE(concurrent_appends_never_interleave) {
  TempDir dir("ledger_threads");
  const fs::path p = dir.path / "ledger.tsv";
  Ledger l(p);
  const std::string long_message(3000, 'm');  // several lines' worth per write
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) l.append(fmt::format("t{}_{}", t, i), TrialState::done, long_message);
    });
  for (auto& t : threads) t.join();
  const LedgerContents c = read_ledger(p);
  BOOST_TEST(c.ignored.empty());
  BOOST_TEST(c.entries.size() == 100u);
  BOOST_TEST(c.last.size() == 100u);
  for (const auto& e : c.entries) BOOST_TEST(e.message == long_message);
}

BOOST_AUTO_TEST_SUITE_END()
