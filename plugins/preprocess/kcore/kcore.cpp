// preprocess/kcore (rows): the k-core of the user–item interaction graph. Repeatedly drops the rows
// of users with fewer than k_user rows and of items with fewer than k_item rows until every
// remaining user and item has enough (dropping an item's rows can push a user below k_user, so one
// pass is not enough). Ids may be text or numbers. Reports the rows dropped, the passes that
// dropped rows, and the users and items left.
// Errors: DataError "preprocess kcore: ..." for an unknown column (listing the columns) or a
// missing id (naming the source line; run drop_missing first).
#include "framework/data/dataset.h"
#include "framework/registry/registry.h"

#include <string_view>
#include <unordered_map>

namespace attnlab::plugins {

struct KCoreConfig {
  std::string user_col = "user";
  std::string item_col = "item";
  std::int64_t k_user = 5;
  std::int64_t k_item = 5;
  template <class V>
  void visit(V& v) {
    v("user_col", user_col).doc("column of the user id");
    v("item_col", item_col).doc("column of the item id");
    v("k_user", k_user).min(1).doc("fewest rows a kept user has");
    v("k_item", k_item).min(1).doc("fewest rows a kept item has");
  }
};

class KCore : public data::Preprocess {
 public:
  KCore(const KCoreConfig& c, const Context&) : c_(c) {}
  Stage stage() const override { return Stage::kRows; }

  void apply_rows(data::Table& table, data::DataReport& report) override {
    const auto users = dense_ids(table, c_.user_col), items = dense_ids(table, c_.item_col);
    std::vector<std::int64_t> user_rows(users.count, 0), item_rows(items.count, 0);
    for (std::size_t r = 0; r < users.id.size(); ++r) ++user_rows[users.id[r]], ++item_rows[items.id[r]];
    std::vector<std::uint8_t> keep(users.id.size(), 1);
    int passes = 0;
    // Each pass judges every row by the counts at its start, so the pass count does not depend on
    // the row order (the fixed point, the k-core, never does).
    std::vector<std::size_t> drop;
    for (;;) {
      drop.clear();
      for (std::size_t r = 0; r < keep.size(); ++r)
        if (keep[r] && (user_rows[users.id[r]] < c_.k_user || item_rows[items.id[r]] < c_.k_item)) drop.push_back(r);
      if (drop.empty()) break;
      for (auto r : drop) {
        keep[r] = 0;
        --user_rows[users.id[r]], --item_rows[items.id[r]];
      }
      ++passes;
    }
    auto alive = [](const std::vector<std::int64_t>& rows) {
      std::int64_t k = 0;
      for (auto x : rows) k += x > 0;
      return k;
    };
    const std::int64_t n = table.rows();
    table.filter(keep);
    report.lines.push_back(
        fmt::format("kcore: k_user {}, k_item {}: {} of {} rows dropped in {} passes; {} users, {} items left",
                    c_.k_user, c_.k_item, n - table.rows(), n, passes, alive(user_rows), alive(item_rows)));
  }

 private:
  struct Ids {
    std::vector<std::size_t> id;  // per row
    std::size_t count = 0;
  };
  // Numbers each distinct value of a column 0..count-1.
  static Ids dense_ids(const data::Table& table, const std::string& name) {
    const std::string who = "preprocess kcore";
    const auto& col = table.column(name, who);
    Ids out;
    out.id.resize(static_cast<std::size_t>(table.rows()));
    std::unordered_map<double, std::size_t> by_num;
    std::unordered_map<std::string_view, std::size_t> by_str;
    for (std::size_t r = 0; r < out.id.size(); ++r) {
      if (col.missing(static_cast<std::int64_t>(r)))
        throw data::DataError(
            fmt::format("{}: {}:{}: column '{}' has no value (run drop_missing first)", who, table.source,
                        r < table.line.size() ? table.line[r] : static_cast<std::int64_t>(r + 1), name));
      out.id[r] = col.numeric ? by_num.try_emplace(col.num[r], by_num.size()).first->second
                              : by_str.try_emplace(col.str[r], by_str.size()).first->second;
    }
    out.count = col.numeric ? by_num.size() : by_str.size();
    return out;
  }

  KCoreConfig c_;
};

}  // namespace attnlab::plugins

ATTNLAB_REGISTER_PLUGIN(
    attnlab::data::Preprocess, kcore, attnlab::plugins::KCore, attnlab::plugins::KCoreConfig,
    "keeps the k-core of the user-item graph (users and items with enough rows), iterated to a fixed point");
