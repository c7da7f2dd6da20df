#include "framework/store/h5.h"

#include <fcntl.h>
#include <hdf5.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <type_traits>

namespace attnlab::store {

static_assert(std::is_same_v<hid_t, h5::hid>, "h5::hid must be hid_t");
static_assert(std::is_same_v<herr_t, int>, "h5::Id::Closer must match herr_t");

StoreError::StoreError(std::string file, std::string object, const std::string& message)
    : Error(object.empty() ? fmt::format("{}: {}", file, message) : fmt::format("{}:{}: {}", file, object, message)),
      file_(std::move(file)), object_(std::move(object)) {}

StoreError::StoreError(Storage, std::string file, int err, bool writing)
    : Error(fmt::format(
          "{} {} {}",
          [&] {
            std::string text = std::strerror(err);
            if (!text.empty()) text[0] = static_cast<char>(std::tolower(text[0]));
            return text;
          }(),
          writing ? "writing" : "reading", file)),
      file_(std::move(file)), storage_errno_(err) {}

StoreError StoreError::storage(std::string file, int err, bool writing) {
  return StoreError(Storage{}, std::move(file), err, writing);
}

bool is_storage_errno(int err) { return err == ENOSPC || err == EDQUOT || err == EIO || err == EROFS || err == EFBIG; }

int storage_errno_of(const std::exception& e) {
  const auto* s = dynamic_cast<const StoreError*>(&e);
  return s ? s->storage_errno() : 0;
}

std::recursive_mutex& hdf5_mutex() {
  static std::recursive_mutex m;
  return m;
}

namespace {

// Shutting HDF5 down. HDF5 closes what is still open from an atexit handler it registers on its first
// call. After a write failed on a full disk, a file whose close failed stays in HDF5's table with its
// memory already freed, and that handler crashed the process at exit (SIGSEGV in H5F__close_cb,
// or a hang). So the store registers its own handler instead: it shuts HDF5 down when every close
// succeeded and leaves a damaged library to the operating system otherwise (every file the store
// wrote completely is closed already: handles are RAII, trial files are published by rename).
std::atomic<bool> g_close_failed{false};
void shut_down_hdf5() {
  if (!g_close_failed.load()) H5close();
}
const bool g_exit_handler = [] {
  H5dont_atexit();  // before any other HDF5 call: this runs at static initialisation
  std::atexit(shut_down_hdf5);
  return true;
}();

// Holds the store's HDF5 mutex and turns HDF5's automatic error printing off for this thread (a
// thread-safe HDF5 keeps one error stack, and its printing setting, per thread).
struct Guard {
  std::lock_guard<std::recursive_mutex> lock{hdf5_mutex()};
  Guard() {
    thread_local bool silenced = false;
    if (!silenced) {
      H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
      silenced = true;
    }
  }
};

struct ErrorStack {
  std::vector<std::string> parts;
  int err = 0;         // "errno = N" of the innermost system call HDF5 reports
  bool write = false;  // the failed system call was a write
};

herr_t collect_error(unsigned, const H5E_error2_t* e, void* data) {
  auto* stack = static_cast<ErrorStack*>(data);
  auto* out = &stack->parts;
  std::string text = e->desc ? e->desc : "";
  // HDF5's POSIX driver describes a failed read/write as "file write failed: ..., errno = 28, ...".
  if (const auto at = text.find("errno = "); at != std::string::npos) {
    stack->err = std::atoi(text.c_str() + at + 8);
    stack->write = text.find("write") != std::string::npos;
  }
  char minor[256] = {0};
  auto lower = [](std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  };
  if (H5Eget_msg(e->min_num, nullptr, minor, sizeof minor) > 0 && lower(text).find(lower(minor)) == std::string::npos)
    text = text.empty() ? minor : fmt::format("{} ({})", text, minor);
  if (!text.empty()) out->push_back(std::move(text));
  return 0;
}

// HDF5's error stack of this thread as one line: the outermost description, then the innermost
// one (which carries the actual cause: "truncated file", "file signature not found", errno...).
std::string hdf5_reason(ErrorStack* out = nullptr) {
  ErrorStack stack;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, collect_error, &stack);
  H5Eclear2(H5E_DEFAULT);
  const auto& parts = stack.parts;
  if (out) *out = stack;
  if (parts.empty()) return "HDF5 call failed";
  if (parts.size() == 1 || parts.front() == parts.back()) return parts.front();
  return fmt::format("{}: {}", parts.front(), parts.back());
}

// True when the file system holding `file` has no space left for an ordinary user.
bool no_space_for(const std::string& file) {
  if (file.empty()) return false;
  std::filesystem::path dir = std::filesystem::path(file).parent_path();
  if (dir.empty()) dir = ".";
  struct statvfs fs {};
  return ::statvfs(dir.c_str(), &fs) == 0 && fs.f_bavail == 0;
}

// Whether a failed action could have been refused for want of space: not reading, opening, listing.
bool may_write(std::string_view action) {
  for (const std::string_view read : {"cannot read", "cannot open", "cannot query", "cannot list"})
    if (action.starts_with(read)) return false;
  return true;
}

// Throws the StoreError for the failed HDF5 call: a storage failure (its errno in HDF5's stack; for an
// action that writes, also errno right after the call or a file system with no space left) as one
// line, anything else with HDF5's reason. A read is never taken for a full disk: errno may be stale
// and a nearly full disk says nothing about a corrupt file.
[[noreturn]] void hdf5_fail(const std::string& file, const std::string& object, std::string_view action,
                            int call_errno = 0) {
  ErrorStack stack;
  const std::string reason = hdf5_reason(&stack);
  const bool writes = may_write(action);
  int err = is_storage_errno(stack.err) ? stack.err : writes && is_storage_errno(call_errno) ? call_errno : 0;
  if (err == 0 && writes && no_space_for(file)) err = ENOSPC;
  if (err != 0) throw StoreError::storage(file, err, stack.err == 0 || stack.write);
  throw StoreError(file, object, fmt::format("{}: {}", action, reason));
}

template <class T>
T check(T result, const std::string& file, const std::string& object, std::string_view action) {
  if (result < 0) hdf5_fail(file, object, action, errno);
  return result;
}

int close_file(hid_t id) { return H5Fclose(id); }
int close_group(hid_t id) { return H5Gclose(id); }
int close_dataset(hid_t id) { return H5Dclose(id); }
int close_attr(hid_t id) { return H5Aclose(id); }
int close_space(hid_t id) { return H5Sclose(id); }
int close_type(hid_t id) { return H5Tclose(id); }
int close_plist(hid_t id) { return H5Pclose(id); }
int close_object(hid_t id) { return H5Oclose(id); }

h5::Id space_id(hid_t id) { return {id, close_space}; }
h5::Id type_id(hid_t id) { return {id, close_type}; }
h5::Id plist_id(hid_t id) { return {id, close_plist}; }

std::vector<hsize_t> to_hsize(std::span<const std::int64_t> dims) {
  std::vector<hsize_t> out;
  for (auto d : dims) out.push_back(static_cast<hsize_t>(d));
  return out;
}

// A variable-length UTF-8 string type.
h5::Id vlen_string_type() {
  h5::Id t = type_id(H5Tcopy(H5T_C_S1));
  H5Tset_size(t.get(), H5T_VARIABLE);
  H5Tset_cset(t.get(), H5T_CSET_UTF8);
  return t;
}

h5::Id simple_space(std::span<const std::int64_t> dims) {
  if (dims.empty()) return space_id(H5Screate(H5S_SCALAR));
  auto d = to_hsize(dims);
  return space_id(H5Screate_simple(static_cast<int>(d.size()), d.data(), nullptr));
}

std::vector<std::int64_t> dims_of(hid_t space, const std::string& file, const std::string& object) {
  const int rank = check(H5Sget_simple_extent_ndims(space), file, object, "cannot read the shape");
  std::vector<hsize_t> d(static_cast<std::size_t>(rank));
  if (rank > 0) check(H5Sget_simple_extent_dims(space, d.data(), nullptr), file, object, "cannot read the shape");
  return {d.begin(), d.end()};
}

void reclaim(hid_t type, hid_t space, void* buf) {
// 1.10.8's header declares H5Treclaim but its library does not export it.
#if H5_VERSION_GE(1, 12, 0)
  H5Treclaim(type, space, H5P_DEFAULT, buf);
#else
  H5Dvlen_reclaim(type, space, H5P_DEFAULT, buf);
#endif
}

// Strings of a string-typed dataset or attribute (variable- or fixed-length), read by `read`
// (H5Dread or H5Aread into a buffer of the given memory type).
template <class Read>
std::vector<std::string> read_string_data(hid_t file_type, hid_t space, std::size_t n, Read&& read,
                                          const std::string& file, const std::string& object) {
  std::vector<std::string> out;
  out.reserve(n);
  if (H5Tis_variable_str(file_type) > 0) {
    h5::Id mem = vlen_string_type();
    H5Tset_cset(mem.get(), H5Tget_cset(file_type));
    std::vector<char*> buf(n, nullptr);
    if (read(mem.get(), static_cast<void*>(buf.data())) < 0) hdf5_fail(file, object, "cannot read strings");
    for (char* s : buf) out.emplace_back(s ? s : "");
    reclaim(mem.get(), space, buf.data());
  } else {
    const std::size_t size = H5Tget_size(file_type);
    h5::Id mem = type_id(H5Tcopy(file_type));
    std::vector<char> buf(n * size);
    if (n > 0 && read(mem.get(), static_cast<void*>(buf.data())) < 0) hdf5_fail(file, object, "cannot read strings");
    const bool spaces = H5Tget_strpad(file_type) == H5T_STR_SPACEPAD;
    for (std::size_t i = 0; i < n; ++i) {
      std::string s(buf.data() + i * size, size);
      s.resize(std::min(s.size(), s.find('\0')));
      if (spaces) s.erase(s.find_last_not_of(' ') + 1);
      out.push_back(std::move(s));
    }
  }
  return out;
}

std::string join_path(const std::string& base, std::string_view name) {
  if (!name.empty() && name.front() == '/') return std::string(name);
  if (name.empty() || name == ".") return base;
  std::string out = base;
  if (out.empty() || out.back() != '/') out.push_back('/');
  out.append(name);
  return out;
}

// Chunk dims of about 64 KiB or less, halving the outermost dimensions first.
std::vector<hsize_t> auto_chunk(const std::vector<hsize_t>& dims, std::size_t elem) {
  std::vector<hsize_t> c = dims;
  for (auto& d : c) d = std::max<hsize_t>(d, 1);
  auto bytes = [&] {
    hsize_t n = elem;
    for (auto d : c) n *= d;
    return n;
  };
  for (std::size_t i = 0; i < c.size() && bytes() > (hsize_t{1} << 16);) {
    if (c[i] > 1)
      c[i] = (c[i] + 1) / 2;
    else
      ++i;
  }
  return c;
}

}  // namespace

bool hdf5_threadsafe() {
  Guard g;
  hbool_t ts = 0;
  H5is_library_threadsafe(&ts);
  return ts != 0;
}

std::string hdf5_version() {
  Guard g;
  unsigned a = 0, b = 0, c = 0;
  H5get_libversion(&a, &b, &c);
  return fmt::format("{}.{}.{}", a, b, c);
}

namespace h5 {

const char* name_of(Kind kind) {
  switch (kind) {
    case Kind::f32:
      return "f32";
    case Kind::f64:
      return "f64";
    case Kind::i64:
      return "i64";
    case Kind::u64:
      return "u64";
    case Kind::other_int:
      return "integer";
    case Kind::other_float:
      return "float";
    case Kind::string:
      return "string";
    case Kind::compound:
      return "compound";
    case Kind::other:
      return "other";
  }
  return "?";
}

Kind kind_of_type(hid type) {
  const size_t size = H5Tget_size(type);
  switch (H5Tget_class(type)) {
    case H5T_INTEGER:
      if (size == 8) return H5Tget_sign(type) == H5T_SGN_NONE ? Kind::u64 : Kind::i64;
      return Kind::other_int;
    case H5T_FLOAT:
      return size == 4 ? Kind::f32 : size == 8 ? Kind::f64 : Kind::other_float;
    case H5T_STRING:
      return Kind::string;
    case H5T_COMPOUND:
      return Kind::compound;
    default:
      return Kind::other;
  }
}

Id& Id::operator=(Id&& o) noexcept {
  if (this != &o) {
    reset();
    id_ = o.id_;
    close_ = o.close_;
    o.id_ = -1;
  }
  return *this;
}

int Id::reset(bool keep_error) {
  if (id_ < 0) return 0;
  Guard g;
  const bool file = close_ == close_file;
  const int r = close_ ? close_(id_) : 0;
  if (r < 0 && file) g_close_failed.store(true);
  // A failed close (an object outliving its strongly closed file) must not leave entries on this
  // thread's error stack: HDF5 never frees them when the thread exits.
  if (r < 0 && !keep_error) H5Eclear2(H5E_DEFAULT);
  id_ = -1;
  return r;
}

// ---- Object: attributes ----------------------------------------------------------------------------

std::string Object::child_path(std::string_view name) const { return join_path(path_, name); }

void Object::fail(std::string_view sub, const std::string& message) const {
  throw StoreError(file_, child_path(sub), message);
}

namespace {

// Creates attribute `name` on `obj` (replacing one of the same name) and writes `data`.
void put_attr(const Object& obj, std::string_view name, hid_t type, hid_t space, const void* data) {
  Guard g;
  const std::string n(name);
  const std::string where = obj.path();
  const htri_t exists = check(H5Aexists(obj.id(), n.c_str()), obj.file_name(), where, "cannot query attribute " + n);
  if (exists > 0) check(H5Adelete(obj.id(), n.c_str()), obj.file_name(), where, "cannot replace attribute " + n);
  Id a(check(H5Acreate2(obj.id(), n.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT), obj.file_name(), where,
             "cannot create attribute " + n),
       close_attr);
  check(H5Awrite(a.get(), type, data), obj.file_name(), where, "cannot write attribute " + n);
}

struct OpenAttr {
  Id attr, type, space;
  Kind kind;
  std::size_t n;
};

OpenAttr open_attr(const Object& obj, std::string_view name) {
  const std::string n(name);
  const std::string& f = obj.file_name();
  const htri_t exists = check(H5Aexists(obj.id(), n.c_str()), f, obj.path(), "cannot query attribute " + n);
  if (exists == 0) throw StoreError(f, obj.path(), fmt::format("attribute '{}' is missing", n));
  OpenAttr a;
  a.attr =
      Id(check(H5Aopen(obj.id(), n.c_str(), H5P_DEFAULT), f, obj.path(), "cannot open attribute " + n), close_attr);
  a.type = type_id(check(H5Aget_type(a.attr.get()), f, obj.path(), "cannot read attribute " + n));
  a.space = space_id(check(H5Aget_space(a.attr.get()), f, obj.path(), "cannot read attribute " + n));
  a.kind = kind_of_type(a.type.get());
  a.n =
      static_cast<std::size_t>(check(H5Sget_simple_extent_npoints(a.space.get()), f, obj.path(), "bad attribute " + n));
  return a;
}

[[noreturn]] void wrong_attr(const Object& obj, std::string_view name, const OpenAttr& a, std::string_view want) {
  throw StoreError(
      obj.file_name(), obj.path(),
      fmt::format("attribute '{}' is {} with {} element(s), expected {}", name, name_of(a.kind), a.n, want));
}

}  // namespace

void Object::set_attr(std::string_view name, std::string_view value) {
  Guard g;
  Id t = vlen_string_type();
  Id s = space_id(H5Screate(H5S_SCALAR));
  const std::string v(value);
  const char* p = v.c_str();
  put_attr(*this, name, t.get(), s.get(), &p);
}

void Object::set_attr(std::string_view name, std::int64_t value) {
  Guard g;
  Id s = space_id(H5Screate(H5S_SCALAR));
  put_attr(*this, name, H5T_NATIVE_INT64, s.get(), &value);
}

void Object::set_attr(std::string_view name, double value) {
  Guard g;
  Id s = space_id(H5Screate(H5S_SCALAR));
  put_attr(*this, name, H5T_NATIVE_DOUBLE, s.get(), &value);
}

void Object::set_attr(std::string_view name, std::span<const std::string> values) {
  Guard g;
  Id t = vlen_string_type();
  const std::int64_t n = static_cast<std::int64_t>(values.size());
  Id s = simple_space(std::span<const std::int64_t>(&n, 1));
  std::vector<const char*> ptrs;
  for (const auto& v : values) ptrs.push_back(v.c_str());
  put_attr(*this, name, t.get(), s.get(), ptrs.data());
}

bool Object::has_attr(std::string_view name) const {
  Guard g;
  const std::string n(name);
  return check(H5Aexists(id(), n.c_str()), file_, path_, "cannot query attribute " + n) > 0;
}

std::string Object::attr_string(std::string_view name) const {
  Guard g;
  OpenAttr a = open_attr(*this, name);
  if (a.kind != Kind::string || a.n != 1) wrong_attr(*this, name, a, "one string");
  return read_string_data(
      a.type.get(), a.space.get(), 1, [&](hid_t mem, void* buf) { return H5Aread(a.attr.get(), mem, buf); }, file_,
      path_)[0];
}

std::vector<std::string> Object::attr_strings(std::string_view name) const {
  Guard g;
  OpenAttr a = open_attr(*this, name);
  if (a.kind != Kind::string) wrong_attr(*this, name, a, "strings");
  return read_string_data(
      a.type.get(), a.space.get(), a.n, [&](hid_t mem, void* buf) { return H5Aread(a.attr.get(), mem, buf); }, file_,
      path_);
}

std::int64_t Object::attr_int(std::string_view name) const {
  Guard g;
  OpenAttr a = open_attr(*this, name);
  if ((a.kind != Kind::i64 && a.kind != Kind::other_int) || a.n != 1) wrong_attr(*this, name, a, "one integer");
  std::int64_t v = 0;
  check(H5Aread(a.attr.get(), H5T_NATIVE_INT64, &v), file_, path_, fmt::format("cannot read attribute {}", name));
  return v;
}

double Object::attr_double(std::string_view name) const {
  Guard g;
  OpenAttr a = open_attr(*this, name);
  if ((a.kind != Kind::f32 && a.kind != Kind::f64) || a.n != 1) wrong_attr(*this, name, a, "one float");
  double v = 0;
  check(H5Aread(a.attr.get(), H5T_NATIVE_DOUBLE, &v), file_, path_, fmt::format("cannot read attribute {}", name));
  return v;
}

namespace {
herr_t collect_attr_name(hid_t, const char* name, const H5A_info_t*, void* data) {
  static_cast<std::vector<std::string>*>(data)->emplace_back(name);
  return 0;
}
}  // namespace

std::vector<std::string> Object::attr_names() const {
  Guard g;
  std::vector<std::string> names;
  hsize_t idx = 0;
  check(H5Aiterate2(id(), H5_INDEX_NAME, H5_ITER_INC, &idx, collect_attr_name, &names), file_, path_,
        "cannot list attributes");
  return names;
}

// ---- Group -------------------------------------------------------------------------------------------

namespace {

// Link creation property list that creates missing intermediate groups.
Id intermediate_lcpl() {
  Id p = plist_id(H5Pcreate(H5P_LINK_CREATE));
  H5Pset_create_intermediate_group(p.get(), 1);
  H5Pset_char_encoding(p.get(), H5T_CSET_UTF8);
  return p;
}

}  // namespace

bool Group::exists(std::string_view path) const {
  Guard g;
  const std::string p(path);
  if (p.empty() || p == "/" || p == ".") return true;
  // H5Lexists fails (rather than returning false) when an intermediate link is missing: test each prefix.
  std::size_t pos = p.front() == '/' ? 1 : 0;
  for (;;) {
    const std::size_t slash = p.find('/', pos);
    const std::string prefix = p.substr(0, slash);
    if (slash != pos) {
      const htri_t r = H5Lexists(id(), prefix.c_str(), H5P_DEFAULT);
      if (r < 0) {
        H5Eclear2(H5E_DEFAULT);
        return false;
      }
      if (r == 0) return false;
    }
    if (slash == std::string::npos || slash + 1 == p.size()) return true;
    pos = slash + 1;
  }
}

namespace {
H5I_type_t object_type(hid_t loc, const std::string& path) {
  const hid_t o = H5Oopen(loc, path.c_str(), H5P_DEFAULT);
  if (o < 0) {
    H5Eclear2(H5E_DEFAULT);
    return H5I_BADID;
  }
  Id guard(o, close_object);
  return H5Iget_type(o);
}
}  // namespace

bool Group::is_group(std::string_view path) const {
  Guard g;
  return exists(path) && object_type(id(), std::string(path)) == H5I_GROUP;
}

bool Group::is_dataset(std::string_view path) const {
  Guard g;
  return exists(path) && object_type(id(), std::string(path)) == H5I_DATASET;
}

Group Group::group(std::string_view path) {
  Guard g;
  if (exists(path)) return open_group(path);
  const std::string p(path);
  Id lcpl = intermediate_lcpl();
  hid_t gid = check(H5Gcreate2(id(), p.c_str(), lcpl.get(), H5P_DEFAULT, H5P_DEFAULT), file_, child_path(path),
                    "cannot create group");
  return Group(Id(gid, close_group), file_, child_path(path));
}

Group Group::open_group(std::string_view path) const {
  Guard g;
  const std::string full = child_path(path);
  if (!exists(path)) throw StoreError(file_, full, "no such group");
  const std::string p(path);
  const hid_t gid = H5Gopen2(id(), p.c_str(), H5P_DEFAULT);
  if (gid < 0) {
    const std::string reason = hdf5_reason();
    if (object_type(id(), p) == H5I_DATASET) throw StoreError(file_, full, "is a dataset, expected a group");
    throw StoreError(file_, full, "cannot open group: " + reason);
  }
  return Group(Id(gid, close_group), file_, full);
}

Dataset Group::open_dataset(std::string_view path) const {
  Guard g;
  const std::string full = child_path(path);
  if (!exists(path)) throw StoreError(file_, full, "no such dataset");
  const std::string p(path);
  const hid_t did = H5Dopen2(id(), p.c_str(), H5P_DEFAULT);
  if (did < 0) {
    const std::string reason = hdf5_reason();
    if (object_type(id(), p) == H5I_GROUP) throw StoreError(file_, full, "is a group, expected a dataset");
    throw StoreError(file_, full, "cannot open dataset: " + reason);
  }
  return Dataset(Id(did, close_dataset), file_, full);
}

std::vector<std::string> Group::list() const {
  Guard g;
  H5G_info_t info;
  check(H5Gget_info(id(), &info), file_, path_, "cannot list group");
  std::vector<std::string> names;
  for (hsize_t i = 0; i < info.nlinks; ++i) {
    const ssize_t len = check(H5Lget_name_by_idx(id(), ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT),
                              file_, path_, "cannot list group");
    std::string name(static_cast<std::size_t>(len), '\0');
    check(H5Lget_name_by_idx(id(), ".", H5_INDEX_NAME, H5_ITER_INC, i, name.data(), name.size() + 1, H5P_DEFAULT),
          file_, path_, "cannot list group");
    names.push_back(std::move(name));
  }
  return names;
}

void Group::remove(std::string_view path) {
  Guard g;
  if (!exists(path)) throw StoreError(file_, child_path(path), "cannot remove: no such link");
  const std::string p(path);
  check(H5Ldelete(id(), p.c_str(), H5P_DEFAULT), file_, child_path(path), "cannot remove");
}

namespace {

Dataset create_dataset(Group& grp, std::string_view path, hid_t file_type, hid_t space, hid_t dcpl) {
  const std::string full = grp.child_path(path);
  if (grp.exists(path)) throw StoreError(grp.file_name(), full, "already exists");
  Id lcpl = intermediate_lcpl();
  const std::string p(path);
  const hid_t did = check(H5Dcreate2(grp.id(), p.c_str(), file_type, space, lcpl.get(), dcpl, H5P_DEFAULT),
                          grp.file_name(), full, "cannot create dataset");
  return Dataset(Id(did, close_dataset), grp.file_name(), full);
}

// Creates and fills an N-D dataset stored with the memory type `type` (no conversion: bitwise).
Dataset write_array(Group& grp, std::string_view path, hid_t type, const void* data, std::size_t count,
                    std::span<const std::int64_t> shape, const ArrayOptions& options) {
  Guard g;
  const std::string full = grp.child_path(path);
  const std::string& file = grp.file_name();
  std::int64_t numel = 1;
  for (auto d : shape) {
    if (d < 0) throw StoreError(file, full, fmt::format("negative dimension in shape [{}]", fmt::join(shape, ", ")));
    numel *= d;
  }
  if (static_cast<std::size_t>(numel) != count)
    throw StoreError(
        file, full,
        fmt::format("{} values do not fill shape [{}] ({} elements)", count, fmt::join(shape, ", "), numel));
  if (options.deflate < 0 || options.deflate > 9)
    throw StoreError(file, full, fmt::format("deflate level {} not in [0, 9]", options.deflate));
  if (!options.chunk.empty() && options.chunk.size() != shape.size())
    throw StoreError(
        file, full,
        fmt::format("chunk [{}] does not match shape [{}]", fmt::join(options.chunk, ", "), fmt::join(shape, ", ")));
  Id space = simple_space(shape);
  Id dcpl = plist_id(H5Pcreate(H5P_DATASET_CREATE));
  // Chunking (and so compression) needs a non-scalar, non-empty dataset.
  if ((options.deflate > 0 || !options.chunk.empty()) && !shape.empty() && numel > 0) {
    std::vector<hsize_t> chunk =
        options.chunk.empty() ? auto_chunk(to_hsize(shape), H5Tget_size(type)) : to_hsize(options.chunk);
    for (std::size_t i = 0; i < chunk.size(); ++i)
      chunk[i] = std::clamp<hsize_t>(chunk[i], 1, static_cast<hsize_t>(shape[i]));
    check(H5Pset_chunk(dcpl.get(), static_cast<int>(chunk.size()), chunk.data()), file, full, "cannot set chunks");
    if (options.deflate > 0) {
      if (options.shuffle) check(H5Pset_shuffle(dcpl.get()), file, full, "cannot set the shuffle filter");
      check(H5Pset_deflate(dcpl.get(), static_cast<unsigned>(options.deflate)), file, full,
            "cannot set the deflate filter");
    }
  }
  Dataset d = create_dataset(grp, path, type, space.get(), dcpl.get());
  if (numel > 0) check(H5Dwrite(d.id(), type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), file, full, "cannot write");
  return d;
}

}  // namespace

Dataset Group::write(std::string_view path, std::span<const double> values, std::span<const std::int64_t> shape,
                     const ArrayOptions& options) {
  return write_array(*this, path, H5T_NATIVE_DOUBLE, values.data(), values.size(), shape, options);
}
Dataset Group::write(std::string_view path, std::span<const float> values, std::span<const std::int64_t> shape,
                     const ArrayOptions& options) {
  return write_array(*this, path, H5T_NATIVE_FLOAT, values.data(), values.size(), shape, options);
}
Dataset Group::write(std::string_view path, std::span<const std::int64_t> values, std::span<const std::int64_t> shape,
                     const ArrayOptions& options) {
  return write_array(*this, path, H5T_NATIVE_INT64, values.data(), values.size(), shape, options);
}
Dataset Group::write(std::string_view path, std::span<const std::uint64_t> values, std::span<const std::int64_t> shape,
                     const ArrayOptions& options) {
  return write_array(*this, path, H5T_NATIVE_UINT64, values.data(), values.size(), shape, options);
}

Dataset Group::write(std::string_view path, const std::vector<double>& values, const ArrayOptions& options) {
  const std::int64_t n = static_cast<std::int64_t>(values.size());
  return write(path, std::span<const double>(values), std::span<const std::int64_t>(&n, 1), options);
}
Dataset Group::write(std::string_view path, const std::vector<float>& values, const ArrayOptions& options) {
  const std::int64_t n = static_cast<std::int64_t>(values.size());
  return write(path, std::span<const float>(values), std::span<const std::int64_t>(&n, 1), options);
}
Dataset Group::write(std::string_view path, const std::vector<std::int64_t>& values, const ArrayOptions& options) {
  const std::int64_t n = static_cast<std::int64_t>(values.size());
  return write(path, std::span<const std::int64_t>(values), std::span<const std::int64_t>(&n, 1), options);
}

Dataset Group::write(std::string_view path, const core::Tensor& tensor, const ArrayOptions& options) {
  if (!tensor.defined()) throw StoreError(file_, child_path(path), "cannot write an undefined tensor");
  const auto& dims = tensor.shape().dims();
  const auto n = static_cast<std::size_t>(tensor.numel());
  if (tensor.dtype() == core::DType::f32)
    return write(path, std::span<const float>(tensor.f32(), n), std::span<const std::int64_t>(dims), options);
  return write(path, std::span<const std::int64_t>(tensor.i64(), n), std::span<const std::int64_t>(dims), options);
}

Dataset Group::write_scalar(std::string_view path, double value) {
  return write(path, std::span<const double>(&value, 1), {}, {});
}
Dataset Group::write_scalar(std::string_view path, std::int64_t value) {
  return write(path, std::span<const std::int64_t>(&value, 1), {}, {});
}

Dataset Group::write_string(std::string_view path, std::string_view value) {
  Guard g;
  Id t = vlen_string_type();
  Id s = space_id(H5Screate(H5S_SCALAR));
  Id dcpl = plist_id(H5Pcreate(H5P_DATASET_CREATE));
  Dataset d = create_dataset(*this, path, t.get(), s.get(), dcpl.get());
  const std::string v(value);
  const char* p = v.c_str();
  check(H5Dwrite(d.id(), t.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, &p), file_, d.path(), "cannot write string");
  return d;
}

Dataset Group::write_strings(std::string_view path, std::span<const std::string> values) {
  Guard g;
  Id t = vlen_string_type();
  const std::int64_t n = static_cast<std::int64_t>(values.size());
  Id s = simple_space(std::span<const std::int64_t>(&n, 1));
  Id dcpl = plist_id(H5Pcreate(H5P_DATASET_CREATE));
  Dataset d = create_dataset(*this, path, t.get(), s.get(), dcpl.get());
  std::vector<const char*> ptrs;
  for (const auto& v : values) ptrs.push_back(v.c_str());
  if (n > 0)
    check(H5Dwrite(d.id(), t.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()), file_, d.path(),
          "cannot write strings");
  return d;
}

Dataset Group::write_table(std::string_view path, const std::vector<TableColumn>& columns) {
  Guard g;
  const std::string full = child_path(path);
  if (columns.empty()) throw StoreError(file_, full, "a table needs at least one column");
  const std::size_t rows = columns[0].rows();
  std::vector<std::size_t> offsets, sizes;
  std::vector<Id> types;
  std::size_t row_bytes = 0;
  for (std::size_t c = 0; c < columns.size(); ++c) {
    const TableColumn& col = columns[c];
    if (col.name.empty()) throw StoreError(file_, full, fmt::format("column {} has no name", c));
    for (std::size_t k = 0; k < c; ++k)
      if (columns[k].name == col.name)
        throw StoreError(file_, full, fmt::format("column '{}' appears twice", col.name));
    if (col.rows() != rows)
      throw StoreError(
          file_, full,
          fmt::format("column '{}' has {} rows, column '{}' has {}", col.name, col.rows(), columns[0].name, rows));
    std::size_t size = sizeof(double);
    if (col.numeric) {
      types.push_back(type_id(H5Tcopy(H5T_NATIVE_DOUBLE)));
    } else {
      size = 1;
      for (const auto& t : col.text) size = std::max(size, t.size());
      Id t = type_id(H5Tcopy(H5T_C_S1));
      H5Tset_size(t.get(), size);
      H5Tset_strpad(t.get(), H5T_STR_NULLPAD);
      H5Tset_cset(t.get(), H5T_CSET_UTF8);
      types.push_back(std::move(t));
    }
    offsets.push_back(row_bytes);
    sizes.push_back(size);
    row_bytes += size;
  }
  Id compound = type_id(check(H5Tcreate(H5T_COMPOUND, row_bytes), file_, full, "cannot create the row type"));
  for (std::size_t c = 0; c < columns.size(); ++c)
    check(H5Tinsert(compound.get(), columns[c].name.c_str(), offsets[c], types[c].get()), file_, full,
          "cannot add column " + columns[c].name);
  std::vector<char> buf(rows * row_bytes, '\0');
  for (std::size_t r = 0; r < rows; ++r) {
    char* row = buf.data() + r * row_bytes;
    for (std::size_t c = 0; c < columns.size(); ++c) {
      if (columns[c].numeric)
        std::memcpy(row + offsets[c], &columns[c].number[r], sizeof(double));
      else
        std::memcpy(row + offsets[c], columns[c].text[r].data(), columns[c].text[r].size());
    }
  }
  const std::int64_t n = static_cast<std::int64_t>(rows);
  Id space = simple_space(std::span<const std::int64_t>(&n, 1));
  Id dcpl = plist_id(H5Pcreate(H5P_DATASET_CREATE));
  Dataset d = create_dataset(*this, path, compound.get(), space.get(), dcpl.get());
  if (rows > 0)
    check(H5Dwrite(d.id(), compound.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data()), file_, full, "cannot write");
  return d;
}

Dataset Group::create_extendible(std::string_view path, Kind kind, std::int64_t chunk) {
  Guard g;
  const std::string full = child_path(path);
  if (kind != Kind::f64 && kind != Kind::i64)
    throw StoreError(file_, full, fmt::format("extendible datasets are f64 or i64, not {}", name_of(kind)));
  if (chunk < 1) throw StoreError(file_, full, fmt::format("chunk {} < 1", chunk));
  const hsize_t zero = 0, unlimited = H5S_UNLIMITED, c = static_cast<hsize_t>(chunk);
  Id s = space_id(H5Screate_simple(1, &zero, &unlimited));
  Id dcpl = plist_id(H5Pcreate(H5P_DATASET_CREATE));
  check(H5Pset_chunk(dcpl.get(), 1, &c), file_, full, "cannot set chunks");
  return create_dataset(*this, path, kind == Kind::f64 ? H5T_NATIVE_DOUBLE : H5T_NATIVE_INT64, s.get(), dcpl.get());
}

void Group::link_external(std::string_view name, const std::string& target_file, std::string_view object) {
  Guard g;
  const std::string full = child_path(name);
  if (exists(name)) throw StoreError(file_, full, "already exists");
  Id lcpl = intermediate_lcpl();
  const std::string n(name), o(object);
  check(H5Lcreate_external(target_file.c_str(), o.c_str(), id(), n.c_str(), lcpl.get(), H5P_DEFAULT), file_, full,
        fmt::format("cannot create an external link to {}:{}", target_file, o));
}

// ---- File --------------------------------------------------------------------------------------------

namespace {
Id file_access() {
  Id fapl = plist_id(H5Pcreate(H5P_FILE_ACCESS));
  H5Pset_fclose_degree(fapl.get(), H5F_CLOSE_STRONG);
#if H5_VERSION_GE(1, 10, 7)
  H5Pset_file_locking(fapl.get(), 1, 1);
#endif
  return fapl;
}
}  // namespace

File File::create(const std::filesystem::path& path) {
  Guard g;
  const std::string name = path.string();
  Id fapl = file_access();
  const hid_t f = check(H5Fcreate(name.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get()), name, "", "cannot create");
  return File(Id(f, close_file), name, "/");
}

File File::open(const std::filesystem::path& path, Mode mode) {
  Guard g;
  const std::string name = path.string();
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw StoreError(name, "", "cannot open: no such file");
  if (std::filesystem::is_directory(path, ec)) throw StoreError(name, "", "cannot open: it is a directory");
  Id fapl = file_access();
  const unsigned flags = mode == Mode::read_only ? H5F_ACC_RDONLY : H5F_ACC_RDWR;
  const hid_t f = check(H5Fopen(name.c_str(), flags, fapl.get()), name, "", "cannot open as HDF5");
  return File(Id(f, close_file), name, "/");
}

void File::flush() {
  Guard g;
  check(H5Fflush(id(), H5F_SCOPE_LOCAL), file_, "", "cannot flush");
}

void File::close() {
  Guard g;
  errno = 0;
  if (id_.reset(/*keep_error=*/true) < 0) hdf5_fail(file_, "", "cannot close", errno);
}

// ---- Dataset -----------------------------------------------------------------------------------------

namespace {
struct Info {
  Id type, space;
  Kind kind;
  std::vector<std::int64_t> dims;
  std::size_t n;
};
Info info_of(const Dataset& d) {
  Info i;
  i.type = type_id(check(H5Dget_type(d.id()), d.file_name(), d.path(), "cannot read the type"));
  i.space = space_id(check(H5Dget_space(d.id()), d.file_name(), d.path(), "cannot read the shape"));
  i.kind = kind_of_type(i.type.get());
  i.dims = dims_of(i.space.get(), d.file_name(), d.path());
  i.n = static_cast<std::size_t>(
      check(H5Sget_simple_extent_npoints(i.space.get()), d.file_name(), d.path(), "cannot read the shape"));
  return i;
}
[[noreturn]] void wrong_kind(const Dataset& d, const Info& i, std::string_view want) {
  throw StoreError(d.file_name(), d.path(),
                   fmt::format("is {} [{}], expected {}", name_of(i.kind), fmt::join(i.dims, ", "), want));
}
}  // namespace

std::vector<std::int64_t> Dataset::shape() const {
  Guard g;
  return info_of(*this).dims;
}

std::int64_t Dataset::size() const {
  Guard g;
  return static_cast<std::int64_t>(info_of(*this).n);
}

Kind Dataset::kind() const {
  Guard g;
  return info_of(*this).kind;
}

template <class T>
std::vector<T> Dataset::read() const {
  Guard g;
  Info i = info_of(*this);
  hid_t mem = -1;
  bool ok = false;
  if constexpr (std::is_same_v<T, double>) {
    mem = H5T_NATIVE_DOUBLE;
    ok = i.kind == Kind::f64 || i.kind == Kind::f32;
  } else if constexpr (std::is_same_v<T, float>) {
    mem = H5T_NATIVE_FLOAT;
    ok = i.kind == Kind::f32;
  } else if constexpr (std::is_same_v<T, std::int64_t>) {
    mem = H5T_NATIVE_INT64;
    ok = i.kind == Kind::i64 || i.kind == Kind::other_int;
  } else {
    static_assert(std::is_same_v<T, std::uint64_t>);
    mem = H5T_NATIVE_UINT64;
    ok = i.kind == Kind::u64;
  }
  if (!ok) {
    wrong_kind(*this, i,
               std::is_same_v<T, double>         ? "f32 or f64"
               : std::is_same_v<T, float>        ? "f32"
               : std::is_same_v<T, std::int64_t> ? "an integer type"
                                                 : "u64");
  }
  std::vector<T> out(i.n);
  if (i.n > 0) check(H5Dread(id(), mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()), file_, path_, "cannot read");
  return out;
}

template std::vector<double> Dataset::read<double>() const;
template std::vector<float> Dataset::read<float>() const;
template std::vector<std::int64_t> Dataset::read<std::int64_t>() const;
template std::vector<std::uint64_t> Dataset::read<std::uint64_t>() const;

template <class T>
T Dataset::read_scalar() const {
  Guard g;
  std::vector<T> v = read<T>();
  if (v.size() != 1) throw StoreError(file_, path_, fmt::format("has {} elements, expected one", v.size()));
  return v[0];
}

template double Dataset::read_scalar<double>() const;
template float Dataset::read_scalar<float>() const;
template std::int64_t Dataset::read_scalar<std::int64_t>() const;
template std::uint64_t Dataset::read_scalar<std::uint64_t>() const;

std::vector<std::string> Dataset::read_strings() const {
  Guard g;
  Info i = info_of(*this);
  if (i.kind != Kind::string) wrong_kind(*this, i, "strings");
  return read_string_data(
      i.type.get(), i.space.get(), i.n,
      [&](hid_t mem, void* buf) { return H5Dread(id(), mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf); }, file_, path_);
}

std::string Dataset::read_string() const {
  Guard g;
  Info i = info_of(*this);
  if (i.kind != Kind::string || i.n != 1) wrong_kind(*this, i, "one string");
  return read_strings()[0];
}

std::vector<TableColumn> Dataset::read_table() const {
  Guard g;
  Info i = info_of(*this);
  if (i.kind != Kind::compound || i.dims.size() != 1) wrong_kind(*this, i, "a 1-D compound dataset (a table)");
  const int members = check(H5Tget_nmembers(i.type.get()), file_, path_, "cannot read the row type");
  std::vector<TableColumn> out;
  for (int m = 0; m < members; ++m) {
    TableColumn col;
    char* name = H5Tget_member_name(i.type.get(), static_cast<unsigned>(m));
    if (name == nullptr) hdf5_fail(file_, path_, "cannot read a column name");
    col.name = name;
    H5free_memory(name);
    Id member = type_id(check(H5Tget_member_type(i.type.get(), static_cast<unsigned>(m)), file_, path_,
                              "cannot read column " + col.name));
    const H5T_class_t cls = H5Tget_class(member.get());
    // Read this one field: a memory compound holding only a member of the same name.
    auto read_field = [&](hid_t field_type, std::size_t size, void* buf) {
      Id mem = type_id(H5Tcreate(H5T_COMPOUND, size));
      H5Tinsert(mem.get(), col.name.c_str(), 0, field_type);
      if (i.n > 0)
        check(H5Dread(id(), mem.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, buf), file_, path_,
              "cannot read column " + col.name);
      return mem;
    };
    if (cls == H5T_FLOAT || cls == H5T_INTEGER) {
      col.numeric = true;
      col.number.resize(i.n);
      read_field(H5T_NATIVE_DOUBLE, sizeof(double), col.number.data());
    } else if (cls == H5T_STRING && H5Tis_variable_str(member.get()) > 0) {
      Id t = vlen_string_type();
      std::vector<char*> ptrs(i.n, nullptr);
      Id mem = read_field(t.get(), sizeof(char*), ptrs.data());
      for (char* p : ptrs) col.text.emplace_back(p ? p : "");
      if (i.n > 0) reclaim(mem.get(), i.space.get(), ptrs.data());
    } else if (cls == H5T_STRING) {
      const std::size_t size = H5Tget_size(member.get());
      std::vector<char> buf(i.n * size);
      read_field(member.get(), size, buf.data());
      for (std::size_t r = 0; r < i.n; ++r) {
        std::string v(buf.data() + r * size, size);
        v.resize(std::min(v.size(), v.find('\0')));
        col.text.push_back(std::move(v));
      }
    } else {
      throw StoreError(file_, path_, fmt::format("column '{}' is neither a string nor a number", col.name));
    }
    out.push_back(std::move(col));
  }
  return out;
}

core::Tensor Dataset::read_tensor() const {
  Guard g;
  Info i = info_of(*this);
  if (i.kind != Kind::f32 && i.kind != Kind::i64) wrong_kind(*this, i, "f32 or i64 (a tensor)");
  const bool f = i.kind == Kind::f32;
  core::Tensor t = core::Tensor::empty(core::Shape(i.dims), f ? core::DType::f32 : core::DType::i64);
  if (i.n > 0)
    check(H5Dread(id(), f ? H5T_NATIVE_FLOAT : H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, t.raw()), file_, path_,
          "cannot read");
  return t;
}

namespace {
void append_values(const Dataset& d, hid_t mem, Kind want, const void* data, std::size_t count) {
  Guard g;
  Info i = info_of(d);
  if (i.kind != want || i.dims.size() != 1) wrong_kind(d, i, fmt::format("a 1-D extendible {} dataset", name_of(want)));
  hsize_t maxdim = 0, dim = 0;
  H5Sget_simple_extent_dims(i.space.get(), &dim, &maxdim);
  if (maxdim != H5S_UNLIMITED)
    throw StoreError(d.file_name(), d.path(), "cannot append: the dataset is not extendible");
  if (count == 0) return;
  const hsize_t n = count, grown = dim + n;
  check(H5Dset_extent(d.id(), &grown), d.file_name(), d.path(), "cannot extend");
  Id file_space = space_id(check(H5Dget_space(d.id()), d.file_name(), d.path(), "cannot extend"));
  check(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, &dim, nullptr, &n, nullptr), d.file_name(), d.path(),
        "cannot append");
  Id mem_space = space_id(H5Screate_simple(1, &n, nullptr));
  check(H5Dwrite(d.id(), mem, mem_space.get(), file_space.get(), H5P_DEFAULT, data), d.file_name(), d.path(),
        "cannot append");
}
}  // namespace

void Dataset::append(std::span<const double> values) {
  append_values(*this, H5T_NATIVE_DOUBLE, Kind::f64, values.data(), values.size());
}
void Dataset::append(std::span<const std::int64_t> values) {
  append_values(*this, H5T_NATIVE_INT64, Kind::i64, values.data(), values.size());
}

}  // namespace h5

}  // namespace attnlab::store
