#include <tokenctl/error.h>
#include <tokenctl/files.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace tokenctl {

namespace {

[[noreturn]] void fail(std::string_view what, const std::filesystem::path& path, int err) {
    throw Error(Status::failure, fmt::format("cannot {} {}: {}", what, path.string(),
                                             std::strerror(err)));
}

// Closes a descriptor when it goes out of scope.
class Fd {
public:
    explicit Fd(int fd) : m_fd(fd) {}
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd() {
        if (m_fd >= 0) {
            ::close(m_fd);
        }
    }
    int get() const { return m_fd; }

private:
    int m_fd;
};

void write_all(int fd, std::string_view data, const std::filesystem::path& path) {
    while (!data.empty()) {
        ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            fail("write", path, errno);
        }
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    if (::fsync(fd) != 0) {
        fail("sync", path, errno);
    }
}

std::filesystem::path folder_of(const std::filesystem::path& path) {
    auto parent = path.parent_path();
    return parent.empty() ? std::filesystem::path(".") : parent;
}

// Makes a rename durable by syncing its folder.
void sync_folder(const std::filesystem::path& folder) {
    Fd fd(::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (fd.get() >= 0) {
        ::fsync(fd.get());
    }
}

} // namespace

bool path_exists(const std::filesystem::path& path) {
    struct stat st{};
    return ::lstat(path.c_str(), &st) == 0;
}

void make_private_dirs(const std::filesystem::path& dir) {
    if (dir.empty() || path_exists(dir)) {
        return;
    }
    make_private_dirs(dir.parent_path());
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
        fail("create folder", dir, errno);
    }
}

void create_private_file(const std::filesystem::path& path, std::string_view data) {
    Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (fd.get() < 0) {
        if (errno == EEXIST) {
            throw Error(Status::conflict, fmt::format("{} already exists", path.string()));
        }
        fail("create", path, errno);
    }
    if (::fchmod(fd.get(), 0600) != 0) {
        fail("set the mode of", path, errno);
    }
    write_all(fd.get(), data, path);
}

void write_file_atomically(const std::filesystem::path& path, std::string_view data,
                           bool overwrite) {
    if (!overwrite && path_exists(path)) {
        throw Error(Status::conflict, fmt::format("{} already exists", path.string()),
                    "pass --force to replace it");
    }
    struct stat st{};
    if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
        throw Error(Status::conflict, fmt::format("{} is a folder", path.string()));
    }
    std::string temp = (folder_of(path) / ("." + path.filename().string() + ".XXXXXX")).string();
    Fd fd(::mkostemp(temp.data(), O_CLOEXEC));
    if (fd.get() < 0) {
        fail("create a temporary file beside", path, errno);
    }
    try {
        if (::fchmod(fd.get(), 0600) != 0) {
            fail("set the mode of", temp, errno);
        }
        write_all(fd.get(), data, temp);
        if (overwrite) {
            if (::rename(temp.c_str(), path.c_str()) != 0) {
                fail("replace", path, errno);
            }
        } else if (::renameat2(AT_FDCWD, temp.c_str(), AT_FDCWD, path.c_str(),
                               RENAME_NOREPLACE) != 0) {
            if (errno == EEXIST) {
                throw Error(Status::conflict, fmt::format("{} already exists", path.string()),
                            "pass --force to replace it");
            }
            fail("create", path, errno);
        }
    } catch (...) {
        ::unlink(temp.c_str());
        throw;
    }
    sync_folder(folder_of(path));
}

Key read_key_file(const std::filesystem::path& path) {
    Fd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (fd.get() < 0) {
        int err = errno;
        if (err == ENOENT) {
            throw Error(Status::failure, fmt::format("key file {} is missing", path.string()),
                        "the key file is created by `tokenctl init` beside the database, or "
                        "named by TOKENCTL_KEY_FILE");
        }
        fail("read key file", path, err);
    }
    struct stat st{};
    if (::fstat(fd.get(), &st) != 0) {
        fail("read key file", path, errno);
    }
    if (!S_ISREG(st.st_mode)) {
        throw Error(Status::failure,
                    fmt::format("key file {} is not a regular file", path.string()));
    }
    if ((st.st_mode & 077) != 0) {
        throw Error(Status::failure,
                    fmt::format("key file {} is accessible by group or others (mode {:04o})",
                                path.string(), st.st_mode & 07777),
                    fmt::format("run: chmod 600 {}", path.string()));
    }
    if (st.st_size != static_cast<off_t>(Key::k_size)) {
        throw Error(Status::failure,
                    fmt::format("key file {} is {} bytes long; a key is exactly {} bytes",
                                path.string(), st.st_size, Key::k_size));
    }
    std::string raw(Key::k_size, '\0');
    std::size_t got = 0;
    while (got < raw.size()) {
        ssize_t n = ::read(fd.get(), raw.data() + got, raw.size() - got);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            wipe(raw);
            fail("read key file", path, n < 0 ? errno : EIO);
        }
        got += static_cast<std::size_t>(n);
    }
    Key key(raw);
    wipe(raw);
    return key;
}

} // namespace tokenctl
