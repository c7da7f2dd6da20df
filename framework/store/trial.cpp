#include "framework/store/trial.h"

#include "framework/store/durable.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

namespace attnlab::store {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

bool valid_component(std::string_view name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string_view::npos;
}

void check_component(const std::filesystem::path& file, const std::string& object, std::string_view what,
                     std::string_view name) {
  if (!valid_component(name))
    throw StoreError(
        file.string(), object,
        fmt::format("invalid {} name '{}': must be one path component (non-empty, no '/', not '.' or '..')", what,
                    name));
}

// Cuts a message to at most `max` bytes at a UTF-8 character boundary, marking the cut.
std::string clip_message(std::string_view message, std::size_t max) {
  if (message.size() <= max) return std::string(message);
  std::size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(message[n]) & 0xC0) == 0x80) --n;
  return fmt::format("{}... [{} bytes cut]", message.substr(0, n), message.size() - n);
}

}  // namespace

std::filesystem::path trial_path(const std::filesystem::path& dir, const std::string& id) { return dir / (id + ".h5"); }
std::filesystem::path progress_path(const std::filesystem::path& dir, const std::string& id) {
  return dir / (id + ".progress.yaml");
}
std::filesystem::path trial_temp_path(const std::filesystem::path& dir, const std::string& id) {
  return dir / (id + ".h5.tmp");
}

// One epoch axis (/curves/epoch or /timing/epoch) and the series aligned with it.
struct TrialWriter::Axis {
  struct Line {
    std::vector<double> values;
    std::optional<h5::Dataset> ds;
  };
  std::string root;
  std::vector<std::int64_t> epochs;
  std::optional<h5::Dataset> epoch_ds;
  std::map<std::string, Line> lines;  // key relative to root ("train/loss")

  bool empty() const { return epochs.empty() && lines.empty(); }
  void release() {
    epoch_ds.reset();
    for (auto& [k, l] : lines) l.ds.reset();
  }
};

TrialWriter::TrialWriter(const std::filesystem::path& dir, std::string id)
    : id_(std::move(id)), temp_(trial_temp_path(dir, id_)), final_(trial_path(dir, id_)),
      curves_(std::make_unique<Axis>()), timing_(std::make_unique<Axis>()) {
  check_component(temp_, "", "trial id", id_);
  curves_->root = "curves";
  timing_->root = "timing";
  file_.emplace(h5::File::create(temp_));
  file_->set_attr("format", kTrialFormat);
  file_->set_attr("format_version", kTrialFormatVersion);
  file_->set_attr("trial_id", id_);
  h5::Group status = file_->group("status");
  status.set_attr("state", name_of(TrialState::running));
  status.set_attr("message", "");
  status.set_attr("failed_at", "");
  file_->flush();
}

TrialWriter::~TrialWriter() {
  curves_->release();
  timing_->release();
  file_.reset();  // closes; errors ignored, the .tmp stays
}

h5::File& TrialWriter::file() {
  if (!file_) throw StoreError(temp_.string(), "", "the trial file is finished and closed");
  return *file_;
}

void TrialWriter::once(const std::string& what) {
  file();
  if (std::find(written_.begin(), written_.end(), what) != written_.end())
    throw StoreError(temp_.string(), what, "already written");
  written_.push_back(what);
}

void TrialWriter::write_config(std::string_view yaml, std::string_view hash) {
  once("/config");
  h5::Group g = file_->group("config");
  g.write_string("yaml", yaml);
  g.set_attr("hash", hash);
}

void TrialWriter::write_env(const std::map<std::string, std::string>& env) {
  once("/env");
  h5::Group g = file_->group("env");
  for (const auto& [k, v] : env) {
    if (k.empty()) throw StoreError(temp_.string(), "/env", "empty key");
    g.set_attr(k, v);
  }
}

void TrialWriter::write_data(const DataRecord& data) {
  once("/data");
  h5::Group g = file_->group("data");
  g.write_string("protocol", data.protocol);
  h5::Group sizes = g.group("split_sizes");
  for (const auto& [split, n] : data.split_sizes) {
    check_component(temp_, "/data/split_sizes", "split", split);
    sizes.write_scalar(split, n);
  }
  g.write_strings("report", data.report);
  if (!data.tokens.empty()) g.write_strings("tokens", data.tokens);
  if (!data.labels.empty()) {
    h5::Group labels = g.group("labels");
    for (const auto& l : data.labels) {
      check_component(temp_, "/data/labels", "task", l.task);
      h5::Group t = labels.group(l.task);
      if (!l.names.empty()) t.write_strings("names", l.names);
      for (const auto& [split, counts] : l.splits) {
        check_component(temp_, t.path(), "split", split);
        t.write(split, counts);
      }
    }
  }
  h5::Group fitted = g.group("fitted");
  for (const auto& [step, arrays] : data.fitted) {
    check_component(temp_, "/data/fitted", "step", step);
    if (fitted.exists(step)) throw StoreError(temp_.string(), "/data/fitted/" + step, "step listed twice");
    h5::Group s = fitted.group(step);
    for (const auto& [name, values] : arrays) {
      check_component(temp_, s.path(), "array", name);
      s.write(name, values);
    }
  }
}

void TrialWriter::write_attention_probe(const std::map<std::string, core::Tensor>& arrays) {
  once("/attention/probe");
  h5::Group g = file_->group("attention/probe");
  for (const auto& [name, t] : arrays) {
    check_component(temp_, g.path(), "probe array", name);
    g.write(name, t, {.deflate = 4, .chunk = {}, .shuffle = true});
  }
}

void TrialWriter::append_on(Axis& axis, const std::string& key, std::int64_t epoch, double value) {
  h5::File& f = file();
  const std::string object = "/" + axis.root + "/" + key;
  if (!axis.epochs.empty() && epoch < axis.epochs.back())
    throw StoreError(temp_.string(), object,
                     fmt::format("epoch {} comes after epoch {}: epochs must not go back", epoch, axis.epochs.back()));
  auto it = axis.lines.find(key);
  const bool new_epoch = axis.epochs.empty() || epoch > axis.epochs.back();
  if (!new_epoch && it != axis.lines.end() && it->second.values.size() == axis.epochs.size())
    throw StoreError(temp_.string(), object, fmt::format("already has a value for epoch {}", epoch));
  if (it == axis.lines.end()) {
    h5::Dataset ds = f.create_extendible(object, h5::Kind::f64);
    it = axis.lines.emplace(key, Axis::Line{{}, std::move(ds)}).first;
  }
  if (new_epoch) {
    if (!axis.epoch_ds) axis.epoch_ds = f.create_extendible("/" + axis.root + "/epoch", h5::Kind::i64);
    axis.epoch_ds->append(epoch);
    axis.epochs.push_back(epoch);
  }
  Axis::Line& line = it->second;
  std::vector<double> add(axis.epochs.size() - 1 - line.values.size(), kNaN);
  add.push_back(value);
  line.ds->append(std::span<const double>(add));
  line.values.insert(line.values.end(), add.begin(), add.end());
}

void TrialWriter::append_curve(std::string_view split, std::string_view name, std::int64_t epoch, double value) {
  check_component(temp_, "/curves", "split", split);
  check_component(temp_, fmt::format("/curves/{}", split), "curve", name);
  if (split == "epoch") throw StoreError(temp_.string(), "/curves/epoch", "'epoch' is reserved, not a split name");
  append_on(*curves_, fmt::format("{}/{}", split, name), epoch, value);
}

void TrialWriter::append_epoch_time(std::int64_t epoch, double seconds, double samples_per_second,
                                    double faults_per_step) {
  if (!timing_->epochs.empty() && epoch <= timing_->epochs.back())
    throw StoreError(temp_.string(), "/timing/epoch",
                     fmt::format("epoch {} after epoch {}: epochs must increase", epoch, timing_->epochs.back()));
  append_on(*timing_, "epoch_seconds", epoch, seconds);
  append_on(*timing_, "epoch_samples_per_second", epoch, samples_per_second);
  append_on(*timing_, "epoch_faults_per_step", epoch, faults_per_step);
}

void TrialWriter::write_final(std::string_view split, std::string_view metric, double value) {
  check_component(temp_, "/final", "split", split);
  check_component(temp_, fmt::format("/final/{}", split), "metric", metric);
  file().write_scalar(fmt::format("final/{}/{}", split, metric), value);
}

void TrialWriter::write_timing(const TrialTotals& t) {
  once("/timing (totals)");
  h5::Group g = file_->group("timing");
  g.write_scalar("total_seconds", t.total_seconds);
  g.write_scalar("samples_per_second", t.samples_per_second);
  g.write_scalar("peak_rss_bytes", t.peak_rss_bytes);
  g.set_attr("peak_rss_scope", t.peak_rss_scope);
  g.set_attr("peak_tensor_bytes", t.peak_tensor_bytes);
  g.set_attr("best_epoch", t.best_epoch);
  g.set_attr("epochs_run", t.epochs_run);
}

void TrialWriter::write_attention(std::string_view layer, std::int64_t epoch, const core::Tensor& weights) {
  check_component(temp_, "/attention", "layer", layer);
  const std::string path = fmt::format("attention/{}/epoch_{}", layer, epoch);
  if (layer == "probe") throw StoreError(temp_.string(), "/attention/probe", "'probe' is reserved, not a layer name");
  if (!weights.defined() || weights.dtype() != core::DType::f32)
    throw StoreError(temp_.string(), "/" + path, "attention weights must be a defined f32 tensor");
  h5::Dataset d = file().write(path, weights, {.deflate = 4, .chunk = {}, .shuffle = true});
  d.set_attr("epoch", epoch);
}

void TrialWriter::flush() { file().flush(); }

void TrialWriter::finish(TrialState state, std::string_view message, std::string_view failed_at) {
  h5::File& f = file();
  for (Axis* axis : {curves_.get(), timing_.get()}) {
    for (auto& [key, line] : axis->lines) {
      if (line.values.size() == axis->epochs.size()) continue;
      std::vector<double> pad(axis->epochs.size() - line.values.size(), kNaN);
      line.ds->append(std::span<const double>(pad));
      line.values.insert(line.values.end(), pad.begin(), pad.end());
    }
  }
  {
    h5::Group status = f.open_group("status");
    status.set_attr("state", name_of(state));
    status.set_attr("message", clip_message(message, kMaxStatusMessage));
    status.set_attr("failed_at", clip_message(failed_at, kMaxStatusMessage));
  }
  curves_->release();
  timing_->release();
  finished_ = true;
  h5::File closing = std::move(*file_);
  file_.reset();
  closing.close();
  publish(temp_, final_);
}

void TrialWriter::finish_done() { finish(TrialState::done, "", ""); }
void TrialWriter::finish_failed(std::string_view message, std::string_view failed_at) {
  finish(TrialState::failed, message, failed_at);
}

Series TrialWriter::series() const {
  Series out;
  for (const Axis* axis : {curves_.get(), timing_.get()}) {
    if (axis->epochs.empty()) continue;
    out[axis->root + "/epoch"] = std::vector<double>(axis->epochs.begin(), axis->epochs.end());
    for (const auto& [key, line] : axis->lines) out[axis->root + "/" + key] = line.values;
  }
  return out;
}

void TrialWriter::restore_series(const Series& series) {
  h5::File& f = file();
  if (!curves_->empty() || !timing_->empty())
    throw StoreError(temp_.string(), "", "restore_series: series were appended already");
  // Check everything before writing anything.
  for (const auto& [key, values] : series) {
    const auto slash = key.find('/');
    const std::string root = key.substr(0, slash);
    const std::string rest = slash == std::string::npos ? "" : key.substr(slash + 1);
    const std::string object = "/" + key;
    if (root != "curves" && root != "timing")
      throw StoreError(temp_.string(), object, "restore_series: keys start with curves/ or timing/");
    if (rest == "epoch") {
      for (std::size_t i = 0; i < values.size(); ++i) {
        const double e = values[i];
        if (!(std::floor(e) == e && std::abs(e) < 0x1p53) || (i > 0 && e <= values[i - 1]))
          throw StoreError(temp_.string(), object, "restore_series: epochs must be increasing integers");
      }
      continue;
    }
    const auto parts = rest.find('/');
    const bool ok = root == "curves" ? parts != std::string::npos && valid_component(rest.substr(0, parts)) &&
                                           valid_component(rest.substr(parts + 1)) && rest.substr(0, parts) != "epoch"
                                     : valid_component(rest);
    if (!ok) throw StoreError(temp_.string(), object, "restore_series: not a series of the trial layout");
    const auto axis_it = series.find(root + "/epoch");
    const std::size_t n = axis_it == series.end() ? 0 : axis_it->second.size();
    if (values.size() > n)
      throw StoreError(temp_.string(), object,
                       fmt::format("restore_series: {} values for {} epochs", values.size(), n));
  }
  for (const auto& [key, values] : series) {
    const auto slash = key.find('/');
    Axis& axis = key.substr(0, slash) == "curves" ? *curves_ : *timing_;
    const std::string rest = key.substr(slash + 1);
    if (rest == "epoch") {
      axis.epochs.assign(values.begin(), values.end());
      axis.epoch_ds = f.create_extendible("/" + key, h5::Kind::i64);
      axis.epoch_ds->append(std::span<const std::int64_t>(axis.epochs));
    } else {
      Axis::Line line{values, f.create_extendible("/" + key, h5::Kind::f64)};
      line.ds->append(std::span<const double>(values));
      axis.lines.emplace(rest, std::move(line));
    }
  }
}

// ---- TrialReader -------------------------------------------------------------------------------------

TrialReader::TrialReader(const std::filesystem::path& path) : file_(h5::File::open(path)) {
  const std::string name = path.string();
  if (!file_.has_attr("format") || file_.attr_string("format") != kTrialFormat)
    throw StoreError(name, "",
                     fmt::format("not an attnlab trial file (no root attribute format = \"{}\")", kTrialFormat));
  version_ = file_.attr_int("format_version");
  if (version_ < 1 || version_ > kTrialFormatVersion)
    throw StoreError(name, "",
                     fmt::format("trial file format_version {} is not supported (this attnlab reads 1 to {})", version_,
                                 kTrialFormatVersion));
  id_ = file_.attr_string("trial_id");
  h5::Group status = file_.open_group("status");
  const std::string state = status.attr_string("state");
  const auto parsed = parse_state(state);
  if (!parsed || *parsed == TrialState::planned)
    throw StoreError(name, "/status", fmt::format("invalid state '{}' (running, done or failed)", state));
  state_ = *parsed;
  message_ = status.attr_string("message");
  failed_at_ = status.attr_string("failed_at");
}

std::string TrialReader::config_hash() const { return file_.open_group("config").attr_string("hash"); }
std::string TrialReader::config_yaml() const { return file_.open_dataset("config/yaml").read_string(); }

std::map<std::string, std::string> TrialReader::env() const {
  std::map<std::string, std::string> out;
  const h5::Group g = file_.open_group("env");
  for (const auto& k : g.attr_names()) out[k] = g.attr_string(k);
  return out;
}

DataRecord TrialReader::data() const {
  DataRecord d;
  const h5::Group g = file_.open_group("data");
  d.protocol = g.open_dataset("protocol").read_string();
  const h5::Group sizes = g.open_group("split_sizes");
  for (const auto& s : sizes.list()) d.split_sizes.emplace_back(s, sizes.open_dataset(s).read_scalar<std::int64_t>());
  d.report = g.open_dataset("report").read_strings();
  if (g.exists("tokens")) d.tokens = g.open_dataset("tokens").read_strings();
  if (g.exists("labels")) {
    const h5::Group labels = g.open_group("labels");
    for (const auto& task : labels.list()) {
      const h5::Group t = labels.open_group(task);
      DataRecord::LabelCounts l;
      l.task = task;
      for (const auto& name : t.list()) {
        if (name == "names")
          l.names = t.open_dataset(name).read_strings();
        else
          l.splits.emplace_back(name, t.open_dataset(name).read<std::int64_t>());
      }
      d.labels.push_back(std::move(l));
    }
  }
  const h5::Group fitted = g.open_group("fitted");
  for (const auto& step : fitted.list()) {
    const h5::Group s = fitted.open_group(step);
    std::map<std::string, std::vector<double>> arrays;
    for (const auto& name : s.list()) arrays[name] = s.open_dataset(name).read<double>();
    d.fitted.emplace_back(step, std::move(arrays));
  }
  return d;
}

std::map<std::string, std::map<std::string, double>> TrialReader::finals() const {
  std::map<std::string, std::map<std::string, double>> out;
  if (!file_.exists("final")) return out;
  const h5::Group g = file_.open_group("final");
  for (const auto& split : g.list()) {
    const h5::Group s = g.open_group(split);
    for (const auto& m : s.list()) out[split][m] = s.open_dataset(m).read_scalar<double>();
  }
  return out;
}

std::optional<double> TrialReader::final_value(std::string_view split, std::string_view metric) const {
  const std::string path = fmt::format("final/{}/{}", split, metric);
  if (!valid_component(split) || !valid_component(metric) || !file_.exists(path)) return std::nullopt;
  return file_.open_dataset(path).read_scalar<double>();
}

std::vector<std::int64_t> TrialReader::epochs() const {
  if (!file_.exists("curves/epoch")) return {};
  return file_.open_dataset("curves/epoch").read<std::int64_t>();
}

std::vector<double> TrialReader::curve(std::string_view split, std::string_view name) const {
  return file_.open_dataset(fmt::format("curves/{}/{}", split, name)).read<double>();
}

std::map<std::string, std::vector<std::string>> TrialReader::curve_names() const {
  std::map<std::string, std::vector<std::string>> out;
  if (!file_.exists("curves")) return out;
  const h5::Group g = file_.open_group("curves");
  for (const auto& split : g.list())
    if (split != "epoch") out[split] = g.open_group(split).list();
  return out;
}

Series TrialReader::series() const {
  Series out;
  for (const auto& [split, names] : curve_names())
    for (const auto& n : names) out[fmt::format("curves/{}/{}", split, n)] = curve(split, n);
  for (const char* path : {"curves/epoch", "timing/epoch"}) {
    if (!file_.exists(path)) continue;
    const std::vector<std::int64_t> e = file_.open_dataset(path).read<std::int64_t>();
    out[path] = std::vector<double>(e.begin(), e.end());
  }
  for (const char* path : {"timing/epoch_seconds", "timing/epoch_samples_per_second", "timing/epoch_faults_per_step"})
    if (file_.exists(path)) out[path] = file_.open_dataset(path).read<double>();
  return out;
}

Timing TrialReader::timing() const {
  Timing t;
  if (!file_.exists("timing")) return t;
  const h5::Group g = file_.open_group("timing");
  if (g.exists("epoch")) t.epochs = g.open_dataset("epoch").read<std::int64_t>();
  if (g.exists("epoch_seconds")) t.epoch_seconds = g.open_dataset("epoch_seconds").read<double>();
  if (g.exists("epoch_samples_per_second"))
    t.epoch_samples_per_second = g.open_dataset("epoch_samples_per_second").read<double>();
  if (g.exists("epoch_faults_per_step"))
    t.epoch_faults_per_step = g.open_dataset("epoch_faults_per_step").read<double>();
  if (g.exists("total_seconds")) t.total_seconds = g.open_dataset("total_seconds").read_scalar<double>();
  if (g.exists("samples_per_second")) t.samples_per_second = g.open_dataset("samples_per_second").read_scalar<double>();
  if (g.exists("peak_rss_bytes")) t.peak_rss_bytes = g.open_dataset("peak_rss_bytes").read_scalar<std::int64_t>();
  if (g.has_attr("peak_rss_scope")) t.peak_rss_scope = g.attr_string("peak_rss_scope");
  if (g.has_attr("peak_tensor_bytes")) t.peak_tensor_bytes = g.attr_int("peak_tensor_bytes");
  if (g.has_attr("best_epoch")) t.best_epoch = g.attr_int("best_epoch");
  if (g.has_attr("epochs_run")) t.epochs_run = g.attr_int("epochs_run");
  return t;
}

std::vector<std::string> TrialReader::attention_layers() const {
  std::vector<std::string> out;
  if (!file_.exists("attention")) return out;
  for (auto& n : file_.open_group("attention").list())
    if (n != "probe") out.push_back(n);
  return out;
}

std::vector<std::int64_t> TrialReader::attention_epochs(std::string_view layer) const {
  std::vector<std::int64_t> out;
  for (const auto& n : file_.open_group(fmt::format("attention/{}", layer)).list()) {
    std::int64_t e = 0;
    const char* b = n.data() + 6;
    if (n.rfind("epoch_", 0) == 0 && std::from_chars(b, n.data() + n.size(), e).ptr == n.data() + n.size())
      out.push_back(e);
  }
  std::sort(out.begin(), out.end());
  return out;
}

core::Tensor TrialReader::attention(std::string_view layer, std::int64_t epoch) const {
  return file_.open_dataset(fmt::format("attention/{}/epoch_{}", layer, epoch)).read_tensor();
}

std::map<std::string, core::Tensor> TrialReader::attention_probe() const {
  std::map<std::string, core::Tensor> out;
  if (!file_.exists("attention/probe")) return out;
  const h5::Group g = file_.open_group("attention/probe");
  for (const auto& n : g.list()) out[n] = g.open_dataset(n).read_tensor();
  return out;
}

TrialFileStatus inspect_trial(const std::filesystem::path& dir, const std::string& id) {
  std::error_code ec;
  const auto done = trial_path(dir, id);
  if (!std::filesystem::exists(done, ec))
    return {std::filesystem::exists(trial_temp_path(dir, id), ec) ? TrialFileStatus::Kind::unfinished
                                                                  : TrialFileStatus::Kind::missing,
            ""};
  try {
    TrialReader r(done);
    if (r.state() == TrialState::done) return {TrialFileStatus::Kind::done, ""};
    if (r.state() == TrialState::failed) return {TrialFileStatus::Kind::failed, r.message()};
    return {TrialFileStatus::Kind::unreadable, "a finished file says running"};
  } catch (const StoreError& e) {
    return {TrialFileStatus::Kind::unreadable, e.what()};
  }
}

}  // namespace attnlab::store
