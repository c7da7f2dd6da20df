#include "framework/store/durable.h"

#include "framework/store/h5.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace attnlab::store {

void fsync_path(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw StoreError(path.string(), "", fmt::format("cannot open for fsync: {}", std::strerror(errno)));
  const int r = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (r != 0 && is_storage_errno(err)) throw StoreError::storage(path.string(), err);
  if (r != 0) throw StoreError(path.string(), "", fmt::format("fsync failed: {}", std::strerror(err)));
}

void publish(const std::filesystem::path& temp, const std::filesystem::path& final) {
  fsync_path(temp);
  if (std::rename(temp.c_str(), final.c_str()) != 0) {
    if (is_storage_errno(errno)) throw StoreError::storage(final.string(), errno);
    throw StoreError(temp.string(), "", fmt::format("cannot rename to {}: {}", final.string(), std::strerror(errno)));
  }
  fsync_path(final.has_parent_path() ? final.parent_path() : std::filesystem::path("."));
}

}  // namespace attnlab::store
