// `attnlab watch`: progress files read into rows, stalled trials, the sparkline, the table.
#include <boost/test/unit_test.hpp>

#include "framework/experiment/watch.h"
#include "tests/support/temp_dir.h"

#include <chrono>
#include <fstream>

using namespace attnlab;

BOOST_AUTO_TEST_SUITE(watch)

BOOST_AUTO_TEST_CASE(sparkline_scales_the_last_values_to_eight_levels) {
  BOOST_TEST(experiment::sparkline({0.1, 0.5, 0.9}) == "▁▅█");
  BOOST_TEST(experiment::sparkline({0.7, 0.7}) == "▅▅");  // flat: the middle
  BOOST_TEST(experiment::sparkline({1.0, std::nan(""), 2.0}) == "▁ █");
  BOOST_TEST(experiment::sparkline({5, 1, 2, 3}, 2) == "▁█");  // the last two only
  BOOST_TEST(experiment::sparkline({}).empty());
}

BOOST_AUTO_TEST_CASE(rows_follow_sweep_yaml_and_name_waiting_and_stalled_trials) {
  testing::TempDir d("watch");
  std::ofstream(d.path / "sweep.yaml")
      << "# fingerprint: x\n# trials: aaaaaaaaaaaa bbbbbbbbbbbb cccccccccccc\nname: s\n";
  const auto now =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  std::ofstream(d.path / "bbbbbbbbbbbb.progress.yaml")
      << "id: 'bbbbbbbbbbbb'\nlabel: train.seed=2\nstatus: running\nepoch: 2\nepochs: 5\nselect: auc\nbest: 0.75\n"
         "valid: [0.7, 0.75]\nseconds: 20\nupdated: "
      << now << "\n";
  std::ofstream(d.path / "cccccccccccc.progress.yaml")
      << "id: 'cccccccccccc'\nstatus: running\nepoch: 1\nepochs: 5\nselect: auc\nbest: .nan\nvalid: [.nan]\n"
         "seconds: 10\nupdated: "
      << now - 3600 << "\n";
  std::ofstream(d.path / "broken.progress.yaml") << "id: [unterminated\n";
  const auto rows = experiment::read_watch(d.path);
  BOOST_REQUIRE_EQUAL(rows.size(), 3u);
  BOOST_TEST(rows[0].id == "aaaaaaaaaaaa");
  BOOST_TEST(rows[0].status == "waiting");
  BOOST_TEST(rows[1].status == "running");
  BOOST_TEST(rows[1].best == 0.75);
  BOOST_TEST(rows[1].valid.size() == 2u);
  BOOST_TEST(rows[2].status == "stalled?");  // no update for an hour
  const std::string table = experiment::render_watch(rows);
  BOOST_TEST(table.starts_with("3 trials: 0 done, 1 running, 0 failed, 1 waiting, 1 stalled?\n"), table);
  BOOST_TEST(table.find("bbbbbbbbbbbb  running       2/5      0.7500  ▁█") != std::string::npos, table);
  BOOST_TEST(table.find("train.seed=2") != std::string::npos, table);
}

BOOST_AUTO_TEST_SUITE_END()
