// The sweep index: external links reach every trial file (also after the directory moves), and the
// summary table reads back with its columns and roles.
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "framework/store/index.h"
#include "framework/store/trial.h"
#include "tests/support/expect.h"
#include "tests/support/temp_dir.h"

using namespace attnlab;
using namespace attnlab::store;
namespace fs = std::filesystem;

namespace {

using testing::TempDir;

void make_trial(const fs::path& dir, const std::string& id, double acc, bool fail) {
  TrialWriter w(dir, id);
  w.append_curve("train", "loss", 1, 0.5);
  if (fail) {
    w.finish_failed("diverged", "epoch 1");
    return;
  }
  w.write_final("valid", "accuracy", acc);
  if (id == "t1") w.write_final("test", "ndcg@10", 0.25);
  w.finish_done();
}

const SummaryColumn& column(const std::vector<SummaryColumn>& cols, const std::string& name) {
  for (const auto& c : cols)
    if (c.column.name == name) return c;
  BOOST_FAIL("no column " << name);
  return cols.front();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(sweep_index)

BOOST_AUTO_TEST_CASE(links_resolve_and_the_summary_reads_back) {
  TempDir dir("index");
  const fs::path sweep = dir.path / "sweep";
  fs::create_directories(sweep);
  make_trial(sweep, "t1", 0.75, false);
  make_trial(sweep, "t2", 0.5, false);
  make_trial(sweep, "t3", 0, true);
  std::vector<IndexRow> rows;
  rows.push_back(index_row(trial_path(sweep, "t1"), {{"model.attention.type", "additive"}, {"train.lr", "0.001"}}));
  rows.push_back(index_row(trial_path(sweep, "t2"), {{"model.attention.type", "seed_self"}, {"train.lr", "1.0e-4"}}));
  rows.push_back(index_row(trial_path(sweep, "t3"), {{"model.attention.type", "none"}, {"train.seed", "2"}}));
  IndexRow planned;
  planned.id = "t4";
  planned.params = {{"model.attention.type", "multi_head"}, {"train.lr", "0.01"}};
  rows.push_back(planned);  // not run yet: a row without a link
  BOOST_TEST((rows[0].status == TrialState::done));
  BOOST_TEST((rows[2].status == TrialState::failed));
  BOOST_TEST(rows[0].file == "t1.h5");
  BOOST_TEST(rows[0].finals.at("valid/accuracy") == 0.75);
  write_index(sweep, rows);
  BOOST_TEST(!fs::exists(sweep / "index.h5.tmp"));

  auto check_links = [](const fs::path& index) {
    const h5::File f = h5::File::open(index);
    BOOST_TEST(f.attr_string("format") == "attnlab-index");
    BOOST_TEST(f.open_dataset("trials/t1/final/valid/accuracy").read_scalar<double>() == 0.75);
    BOOST_TEST(f.open_group("trials/t2").open_dataset("final/valid/accuracy").read_scalar<double>() == 0.5);
    BOOST_TEST(f.open_group("trials/t3/status").attr_string("state") == "failed");
    BOOST_TEST(!f.exists("trials/t4"));
    BOOST_TEST(f.open_group("trials").list() == (std::vector<std::string>{"t1", "t2", "t3"}),
               boost::test_tools::per_element());
  };
  check_links(sweep / "index.h5");
  // The links are relative: the moved directory still works.
  fs::rename(sweep, dir.path / "moved");
  check_links(dir.path / "moved" / "index.h5");

  const auto cols = read_summary(dir.path / "moved" / "index.h5");
  std::vector<std::string> names, roles;
  for (const auto& c : cols) {
    names.push_back(c.column.name);
    roles.push_back(c.role);
  }
  const std::vector<std::string> want_names = {"id",         "status",       "model.attention.type", "train.lr",
                                               "train.seed", "test/ndcg@10", "valid/accuracy"};
  const std::vector<std::string> want_roles = {"id", "status", "param", "param", "param", "final", "final"};
  BOOST_TEST(names == want_names, boost::test_tools::per_element());
  BOOST_TEST(roles == want_roles, boost::test_tools::per_element());
  BOOST_TEST(column(cols, "id").column.text == (std::vector<std::string>{"t1", "t2", "t3", "t4"}),
             boost::test_tools::per_element());
  BOOST_TEST(column(cols, "status").column.text == (std::vector<std::string>{"done", "done", "failed", "planned"}),
             boost::test_tools::per_element());
  const auto& type = column(cols, "model.attention.type").column;
  BOOST_TEST(!type.numeric);
  BOOST_TEST(type.text == (std::vector<std::string>{"additive", "seed_self", "none", "multi_head"}),
             boost::test_tools::per_element());
  const auto& lr = column(cols, "train.lr").column;
  BOOST_TEST(lr.numeric);
  BOOST_TEST(lr.number[0] == 0.001);
  BOOST_TEST(lr.number[1] == 1.0e-4);
  BOOST_TEST(std::isnan(lr.number[2]));
  BOOST_TEST(lr.number[3] == 0.01);
  const auto& seed = column(cols, "train.seed").column;
  BOOST_TEST(seed.numeric);
  BOOST_TEST(std::isnan(seed.number[0]));
  BOOST_TEST(seed.number[2] == 2.0);
  const auto& acc = column(cols, "valid/accuracy").column;
  BOOST_TEST(acc.number[0] == 0.75);
  BOOST_TEST(acc.number[1] == 0.5);
  BOOST_TEST(std::isnan(acc.number[2]));  // the failed trial has no finals
  BOOST_TEST(std::isnan(acc.number[3]));
  const auto& ndcg = column(cols, "test/ndcg@10").column;
  BOOST_TEST(ndcg.number[0] == 0.25);
  BOOST_TEST(std::isnan(ndcg.number[1]));
  // Without a direction function the directions are empty (the analysis scripts then guess).
  BOOST_TEST(h5::File::open(dir.path / "moved" / "index.h5").attr_strings("summary_better") ==
                 (std::vector<std::string>(7, "")),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(the_index_records_which_way_each_final_metric_improves) {
  TempDir dir("better");
  make_trial(dir.path, "t1", 0.75, false);
  // A direction function stands for the metric table here: only finals are asked.
  std::vector<std::string> asked;
  write_index(dir.path, {index_row(trial_path(dir.path, "t1"), {{"train.lr", "0.1"}})}, [&](std::string_view figure) {
    asked.emplace_back(figure);
    return figure == "valid/accuracy";
  });
  const auto better = h5::File::open(dir.path / "index.h5").attr_strings("summary_better");
  BOOST_TEST(better == (std::vector<std::string>{"", "", "", "higher", "lower"}), boost::test_tools::per_element());
  BOOST_TEST(asked == (std::vector<std::string>{"test/ndcg@10", "valid/accuracy"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(rewriting_replaces_the_index) {
  TempDir dir("reindex");
  make_trial(dir.path, "t1", 0.75, false);
  IndexRow r = index_row(trial_path(dir.path, "t1"), {});
  write_index(dir.path, {});
  BOOST_TEST(read_summary(dir.path / "index.h5")[0].column.text.empty());  // an empty sweep: 0 rows
  write_index(dir.path, {r});
  BOOST_TEST(read_summary(dir.path / "index.h5")[0].column.text == std::vector<std::string>{"t1"},
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(bad_rows_are_refused) {
  TempDir dir("badindex");
  make_trial(dir.path, "t1", 0.75, false);
  const IndexRow r = index_row(trial_path(dir.path, "t1"), {});
  testing::expect_error<StoreError>(
      [&] {
        write_index(dir.path, {r, r});
      },
      {"index.h5:/trials/t1:", "trial listed twice"});
  IndexRow missing = r;
  missing.id = "t9";
  missing.file = "t9.h5";
  testing::expect_error<StoreError>([&] { write_index(dir.path, {missing}); }, {"t9.h5 does not exist"});
  IndexRow clash = r;
  clash.params = {{"status", "x"}};
  testing::expect_error<StoreError>([&] { write_index(dir.path, {clash}); }, {"column 'status' appears twice"});
  IndexRow slash = r;
  slash.id = "a/b";
  slash.file.clear();
  testing::expect_error<StoreError>([&] { write_index(dir.path, {slash}); }, {"invalid trial id 'a/b'"});
  BOOST_TEST(!fs::exists(dir.path / "index.h5"));
  BOOST_TEST(!fs::exists(dir.path / "index.h5.tmp"));
  testing::expect_error<StoreError>([&] { (void)read_summary(trial_path(dir.path, "t1")); },
                                    {"not an attnlab index file"});
}

BOOST_AUTO_TEST_SUITE_END()
