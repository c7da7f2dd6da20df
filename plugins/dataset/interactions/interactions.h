// dataset/interactions: user–item interaction logs (CSV/TSV, plain or gzip) as next-item examples
// for sequential recommendation (GRU4Rec, SASRec, BERT4Rec-style models).
//
// Input, one interaction per line:
//   format: table    a delimited table with a header (or `names`); columns user_col, item_col and,
//                    optionally, time_col and rating_col (others are skipped, not stored).
//   format: sasrec   SASRec's files (Kang & McAuley, ICDM 2018): "user item" per line, separated by
//                    blanks, already in time order within each user, no header, no time column.
//
// load() returns the raw Table (columns user_col, item_col [, time_col] [, rating_col]) so that row
// steps (kcore, implicit, ...) can filter it; build() then:
//   1. drops (on_error: drop, counted in the report) or rejects (fail) rows with a missing user,
//      item or time;
//   2. groups rows by user in (time, row order) order — equal timestamps keep the file's order —
//      and numbers users 0..U-1 and items 1..I by first appearance in the time-sorted rows
//      (make_sequences, framework/data/sequences.h); 0 is the padding item;
//   3. makes one example per (user, position p >= min_history): history = the user's first p items
//      (a range of Examples::tokens, which holds every interaction once), target = item p;
//   4. splits by leave_one_out (per user: last target test, second-to-last valid, earlier train;
//      users with < 3 interactions all train) or temporal (global time quantiles of the targets).
//
// Examples: tokens, begin/end, vocab = I + 1, users/num_users, times (target's time; empty for
// sasrec), targets (only with fill_targets), labels:
//   "next_item"  kItem, classes = I + 1, the target item (always)
//   "rating"     kValue, the target interaction's rating (when rating_col is set)
//   "click"      kBinary, rating >= click_threshold (when click_threshold is set)
// Built::protocol names the split and its parameters (and the cut times of a temporal split).
//
// Errors (DataError, "dataset interactions: ..."): the reader's (missing file, missing column with
// the list of columns, malformed rows), "<file>:<line>: column 'user' is missing", "no examples"
// when no user has more than min_history interactions, temporal split without a time column.
#pragma once

#include "framework/data/dataset.h"

#include <optional>
#include <string>
#include <vector>

namespace attnlab::plugins {

struct InteractionsConfig {
  std::string path;
  std::string format = "table";
  std::string delimiter = ",";
  bool header = true;
  std::vector<std::string> names{};
  std::string quote = "\"";
  std::string comment{};
  std::string user_col = "user";
  std::string item_col = "item";
  std::string time_col = "timestamp";
  std::string rating_col{};
  std::optional<double> click_threshold{};
  std::string split = "leave_one_out";
  double q_train = 0.8;
  double q_valid = 0.9;
  std::int64_t min_history = 1;
  std::string on_error = "fail";
  bool fill_targets = false;
  std::int64_t max_train_per_user = 0;

  /// The file layout, for `attnlab plugins dataset/interactions` (registry.h); datasets/README.md says the same.
  static constexpr const char* kFormat =
      "one interaction per line. format: table (default): a delimited table (delimiter ','), a header naming\n"
      "the columns (or names); user_col, item_col, time_col (user, item, timestamp) and rating_col pick them:\n"
      "  user,item,timestamp,rating\n"
      "  u17,i42,1300000000,4.5\n"
      "format: sasrec: 'user item' separated by blanks, in time order within each user, no header:\n"
      "  1 17\n"
      "  1 254";

  template <class V>
  void visit(V& v) {
    v.required("path", path)
        .doc("interactions file (plain or .gz); relative paths are resolved against the spec's directory");
    v("format", format)
        .choices({"table", "sasrec"})
        .doc("table: delimited columns; sasrec: 'user item' per line, time-ordered, no header");
    v("delimiter", delimiter).doc("table: one character (',' '\\t' ';'), 'tab', or 'whitespace' (runs of blanks)");
    v("header", header).doc("table: the first line names the columns (else give names)");
    v("names", names).doc("table: column names (required without a header; with one, they replace its names)");
    v("quote", quote).doc("table: quote character, or '' for none (TSV files written without quoting)");
    v("comment", comment).doc("lines starting with this prefix are skipped ('' = none)");
    v("user_col", user_col).doc("column of the user id (any text)");
    v("item_col", item_col).doc("column of the item id (any text)");
    v("time_col", time_col).doc("table: column of the numeric timestamp; '' = none (the row order is the time order)");
    v("rating_col", rating_col).doc("numeric rating column: adds the 'rating' value label ('' = none)");
    v("click_threshold", click_threshold).doc("adds the 'click' binary label: rating >= this (needs rating_col)");
    v("split", split)
        .choices({"leave_one_out", "temporal"})
        .doc("leave_one_out: per user last target test, second-to-last valid; temporal: global time quantiles");
    v("q_train", q_train)
        .range(0.0, 1.0)
        .doc("temporal: targets with time <= the q_train quantile of target times train");
    v("q_valid", q_valid)
        .range(0.0, 1.0)
        .doc("temporal: targets with time <= the q_valid quantile (and > the q_train one) validate; later ones test");
    v("min_history", min_history).min(1).doc("shortest history of an example (targets at positions >= this)");
    v("on_error", on_error)
        .choices({"fail", "drop"})
        .doc("malformed rows and rows missing user/item/time: fail, or drop them (counted in the log)");
    v("max_train_per_user", max_train_per_user)
        .min(0)
        .doc("keep only each user's most recent N training targets (0: all); valid and test are unchanged");
    v("fill_targets", fill_targets)
        .doc(
            "fill Examples::targets with the target item (for rating/click models with query: target; leaks the "
            "next_item label)");
  }
};

class InteractionsDataset : public data::Dataset {
 public:
  /// Throws DataError on an inconsistent config (click_threshold without rating_col, q_train > q_valid,
  /// a quote of more than one character, temporal split of sasrec data).
  InteractionsDataset(const InteractionsConfig& c, const Context& ctx);
  data::Table load(data::DataReport& report) override;
  data::Built build(data::Table table, data::DataReport& report) override;

 private:
  InteractionsConfig c_;
  std::string path_;  // resolved
};

}  // namespace attnlab::plugins
