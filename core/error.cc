#include "core/error.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>

namespace actsparse::core {

void model_bug(const std::string& module, const std::string& what) {
    std::cerr << "actsparse: internal error in " << module << ": " << what << std::endl;
    std::abort();
}

namespace {

/// errno values that say the path given is unusable (the user's input), not the machine.
bool path_problem(int err) {
    return err == ENOENT || err == ENOTDIR || err == EISDIR || err == ENAMETOOLONG || err == ELOOP;
}

[[noreturn]] void throw_write_error(const std::string& path, const std::string& what, int err) {
    const std::string reason = what + ": " + std::strerror(err);
    if (path_problem(err)) throw InputError(path, reason);
    throw IoError(path, reason);
}

std::string parent_dir(const std::string& path) {
    const std::filesystem::path p = std::filesystem::path(path).parent_path();
    return p.empty() ? std::string(".") : p.string();
}

/// fsync of a folder, so a rename in it survives a power cut. File systems that cannot sync
/// a folder (EINVAL, e.g. some FUSE/network ones) are accepted as they are.
void sync_dir(const std::string& dir, const std::string& path) {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == EACCES) return;  // a folder we may write to but not open: nothing to do
        throw_write_error(path, "cannot open the folder to sync it", errno);
    }
    if (::fsync(fd) != 0 && errno != EINVAL && errno != EROFS) {
        const int err = errno;
        ::close(fd);
        throw_write_error(path, "cannot sync the folder", err);
    }
    ::close(fd);
}

void write_all(int fd, const char* p, size_t n, const std::string& path, const std::string& tmp) {
    while (n > 0) {
        const ssize_t w = ::write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            const int err = errno;
            ::close(fd);
            ::unlink(tmp.c_str());
            throw_write_error(path, "cannot write", err);
        }
        p += w;
        n -= static_cast<size_t>(w);
    }
}

/// fsync + close of fd (the file at tmp); on failure removes tmp and throws.
void sync_close(int fd, const std::string& path, const std::string& tmp) {
    int err = 0;
    while (::fsync(fd) != 0) {
        if (errno == EINTR) continue;
        if (errno != EINVAL) err = errno;  // EINVAL: a file that cannot be synced (a pipe)
        break;
    }
    if (::close(fd) != 0 && err == 0 && errno != EINTR) err = errno;
    if (err != 0) {
        ::unlink(tmp.c_str());
        throw_write_error(path, "cannot write", err);
    }
}

void rename_into_place(const std::string& tmp, const std::string& path) {
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        const int err = errno;
        ::unlink(tmp.c_str());
        throw_write_error(path, "cannot rename into place", err);
    }
    sync_dir(parent_dir(path), path);
}

}  // namespace

std::string unique_temp_path(const std::string& path) {
    static std::atomic<uint64_t> counter{0};
    static const uint64_t salt = [] {
        std::random_device rd;
        return (static_cast<uint64_t>(rd()) << 32) ^ rd() ^
               static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    }();
    const uint64_t n = counter.fetch_add(1);
    // The random part differs between processes that reuse a pid (containers, restarts).
    std::mt19937_64 mix(salt ^ (n * 0x9e3779b97f4a7c15ull));
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(mix()));
    return path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(n) + "." + hex;
}

void write_file_atomic(const std::string& path, const std::string& bytes) {
    std::string tmp;
    int fd = -1;
    for (int attempt = 0; attempt < 100 && fd < 0; ++attempt) {
        tmp = unique_temp_path(path);
        fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST && errno != EINTR)
            throw_write_error(path, "cannot write", errno);
    }
    if (fd < 0) throw IoError(path, "no free temporary name beside it");
    write_all(fd, bytes.data(), bytes.size(), path, tmp);
    sync_close(fd, path, tmp);
    rename_into_place(tmp, path);
}

void commit_temp_file(const std::string& tmp, const std::string& path) {
    const int fd = ::open(tmp.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        const int err = errno;
        ::unlink(tmp.c_str());
        // The temporary file is ours, not the user's: a failure here is never bad input.
        throw IoError(path, "cannot reopen the temporary file " + tmp + ": " + std::strerror(err));
    }
    sync_close(fd, path, tmp);
    rename_into_place(tmp, path);
}

int remove_stale_temps(const std::string& path) {
    namespace fs = std::filesystem;
    const std::string base = fs::path(path).filename().string() + ".tmp.";
    int removed = 0;
    std::error_code ec;
    for (fs::directory_iterator it(parent_dir(path), ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (name.compare(0, base.size(), base) != 0) continue;
        // "<pid>.<counter>.<random>" after the prefix; anything else is not ours.
        const std::string rest = name.substr(base.size());
        char* endp = nullptr;
        const long pid = std::strtol(rest.c_str(), &endp, 10);
        if (pid <= 0 || endp == rest.c_str() || *endp != '.') continue;
        if (pid == ::getpid()) continue;
        if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;  // alive
        std::error_code rm;
        if (fs::remove(it->path(), rm)) ++removed;
    }
    return removed;
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw InputError(path, "cannot open file");
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

}  // namespace actsparse::core
