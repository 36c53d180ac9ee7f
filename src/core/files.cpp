#include <tokenctl/error.h>
#include <tokenctl/files.h>
#include <tokenctl/secret.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <memory>
#include <optional>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

namespace tokenctl {

namespace {

[[noreturn]] void fail(std::string_view what, const std::filesystem::path& path, int err) {
    if (err == ENOSPC || err == EDQUOT) {
        throw Error(Status::failure,
                    fmt::format("cannot {} {}: the disk is full", what, path.string()),
                    "free some space on the file system that holds it, then try again");
    }
    throw Error(Status::failure,
                fmt::format("cannot {} {}: {}", what, path.string(), std::strerror(err)));
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

// Every temporary file tokenctl names for NAME is ".NAME.tokenctl-" and six letters or
// digits (mkostemp's XXXXXX, or random hex), and nothing else tokenctl deletes.
constexpr std::size_t k_temp_random = 6;

std::string temp_prefix(const std::filesystem::path& path) {
    return "." + path.filename().string() + ".tokenctl-";
}

bool is_temp_name(std::string_view name, std::string_view prefix) {
    if (name.size() != prefix.size() + k_temp_random || !name.starts_with(prefix)) {
        return false;
    }
    for (char c : name.substr(prefix.size())) {
        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))) {
            return false;
        }
    }
    return true;
}

// Removes the temporary files of `prefix` in `folder` that writers killed between naming
// and renaming them left behind. A live writer holds an exclusive flock on its temporary
// file, so one that can be locked has no writer any more.
void remove_orphaned_temps(const std::filesystem::path& folder, std::string_view prefix) {
    struct CloseDir {
        void operator()(DIR* d) const { ::closedir(d); }
    };
    std::unique_ptr<DIR, CloseDir> dir(::opendir(folder.c_str()));
    if (!dir) {
        return;
    }
    while (const dirent* entry = ::readdir(dir.get())) {
        std::string_view name = entry->d_name;
        if (!is_temp_name(name, prefix)) {
            continue;
        }
        auto temp = folder / std::string(name);
        Fd fd(::open(temp.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
        struct stat st {};
        if (fd.get() >= 0 && ::fstat(fd.get(), &st) == 0 && S_ISREG(st.st_mode) &&
            st.st_uid == ::geteuid() && (st.st_mode & 077) == 0 &&
            ::flock(fd.get(), LOCK_EX | LOCK_NB) == 0) {
            ::unlink(temp.c_str());
            // A backup's copy is a SQLite database: what SQLite made beside it goes too.
            for (const char* suffix : {"-journal", "-wal", "-shm"}) {
                auto side = temp;
                side += suffix;
                struct stat ss {};
                if (::lstat(side.c_str(), &ss) == 0 && S_ISREG(ss.st_mode) &&
                    ss.st_uid == ::geteuid()) {
                    ::unlink(side.c_str());
                }
            }
        }
    }
}

bool same_file(const struct stat& a, const struct stat& b) {
    return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

// The one of `keep` that `st` is, or that one of them links to.
const std::filesystem::path* kept_file(const struct stat& st,
                                       std::span<const std::filesystem::path> keep) {
    for (const auto& file : keep) {
        struct stat own {};
        if ((::lstat(file.c_str(), &own) == 0 && same_file(st, own)) ||
            (::stat(file.c_str(), &own) == 0 && same_file(st, own))) {
            return &file;
        }
    }
    return nullptr;
}

// The target of the symbolic link `path` when it lies in /proc, where links stand for a
// process's open files (/dev/stdout is a link to /proc/self/fd/1).
std::optional<std::filesystem::path> proc_target(const std::filesystem::path& path) {
    std::error_code ec;
    auto target = std::filesystem::read_symlink(path, ec);
    if (ec) {
        return std::nullopt;
    }
    if (target.is_relative()) {
        target = folder_of(path) / target;
    }
    struct statfs fs {};
    if (::statfs(folder_of(target).c_str(), &fs) == 0 && fs.f_type == PROC_SUPER_MAGIC) {
        return target;
    }
    return std::nullopt;
}

std::string_view kind_of(mode_t mode) {
    if (S_ISDIR(mode)) {
        return "a folder";
    }
    if (S_ISFIFO(mode)) {
        return "a FIFO";
    }
    if (S_ISSOCK(mode)) {
        return "a socket";
    }
    if (S_ISCHR(mode) || S_ISBLK(mode)) {
        return "a device";
    }
    return "not a regular file";
}

} // namespace

std::filesystem::path with_suffix(std::filesystem::path path, std::string_view suffix) {
    path += suffix;
    return path;
}

std::filesystem::path folder_of(const std::filesystem::path& path) {
    auto parent = path.parent_path();
    return parent.empty() ? std::filesystem::path(".") : parent;
}

void sync_folder(const std::filesystem::path& folder) {
    Fd fd(::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (fd.get() >= 0) {
        ::fsync(fd.get());
    }
}

bool path_exists(const std::filesystem::path& path) {
    struct stat st {};
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
    try {
        if (::fchmod(fd.get(), 0600) != 0) {
            fail("set the mode of", path, errno);
        }
        write_all(fd.get(), data, path);
    } catch (...) {
        ::unlink(path.c_str()); // created above, so ours to remove
        throw;
    }
}

void check_output_file(const std::filesystem::path& path, bool overwrite,
                       std::span<const std::filesystem::path> keep) {
    const auto folder = folder_of(path);
    struct stat folder_st {};
    if (::stat(folder.c_str(), &folder_st) != 0 || !S_ISDIR(folder_st.st_mode)) {
        throw Error(Status::failure, fmt::format("cannot write {}: the folder {} does not exist",
                                                 path.string(), folder.string()));
    }
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) {
        return; // creating it reports what is wrong, if anything
    }
    const std::string name = path.string();
    if (const auto* file = kept_file(st, keep)) {
        throw Error(Status::conflict,
                    *file == path
                        ? fmt::format("{} is a file of the registry in use", name)
                        : fmt::format("{} is the registry's file {}", name, file->string()));
    }
    if (S_ISLNK(st.st_mode)) {
        if (auto target = proc_target(path)) {
            throw Error(
                Status::conflict,
                fmt::format("{} is a link to {}, a process's open file", name, target->string()),
                "-o - writes to standard output");
        }
        struct stat to {};
        if (::stat(path.c_str(), &to) == 0) {
            if (const auto* file = kept_file(to, keep)) {
                throw Error(Status::conflict, fmt::format("{} links to the registry's file {}",
                                                          name, file->string()));
            }
        }
    } else if (!S_ISREG(st.st_mode)) {
        throw Error(Status::conflict,
                    fmt::format("{} is {}; only a regular file or a symbolic link is replaced",
                                name, kind_of(st.st_mode)));
    }
    if (!overwrite) {
        throw Error(Status::conflict, fmt::format("{} already exists", name),
                    "pass --force to replace it");
    }
}

void remove_orphaned_temps_of(const std::filesystem::path& path) {
    remove_orphaned_temps(folder_of(path), temp_prefix(path));
}

void write_file_atomically(const std::filesystem::path& path, std::string_view data, bool overwrite,
                           std::span<const std::filesystem::path> keep) {
    check_output_file(path, overwrite, keep);
    const auto folder = folder_of(path);
    const std::string prefix = temp_prefix(path);
    remove_orphaned_temps(folder, prefix);

    // The content goes to an unnamed file (O_TMPFILE) that gets a name only once it is
    // complete, so a writer killed before then leaves nothing behind. Where the file
    // system has no O_TMPFILE, a named temporary file is used from the start.
    std::string temp;
    int raw = ::open(folder.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
    if (raw < 0) {
        temp = (folder / (prefix + "XXXXXX")).string();
        raw = ::mkostemp(temp.data(), O_CLOEXEC);
        if (raw < 0) {
            fail("create a temporary file beside", path, errno);
        }
    }
    Fd fd(raw);
    try {
        // Held until exit: a locked temporary file belongs to a live writer.
        ::flock(fd.get(), LOCK_EX);
        if (::fchmod(fd.get(), 0600) != 0) {
            fail("set the mode of", path, errno);
        }
        write_all(fd.get(), data, path);
        const std::string self = fmt::format("/proc/self/fd/{}", fd.get());
        if (temp.empty() && !overwrite) {
            // linkat never replaces: a file created meanwhile is a conflict.
            if (::linkat(AT_FDCWD, self.c_str(), AT_FDCWD, path.c_str(), AT_SYMLINK_FOLLOW) != 0) {
                if (errno == EEXIST) {
                    throw Error(Status::conflict, fmt::format("{} already exists", path.string()),
                                "pass --force to replace it");
                }
                fail("create", path, errno);
            }
        } else {
            if (temp.empty()) {
                // rename() is the only atomic replace, and it needs a name to move.
                for (;;) {
                    std::string name = (folder / (prefix + random_hex(3))).string();
                    if (::linkat(AT_FDCWD, self.c_str(), AT_FDCWD, name.c_str(),
                                 AT_SYMLINK_FOLLOW) == 0) {
                        temp = std::move(name);
                        break;
                    }
                    if (errno != EEXIST) {
                        fail("create a temporary file beside", path, errno);
                    }
                }
            }
            if (overwrite) {
                // What is there now may have changed since the first check.
                check_output_file(path, overwrite, keep);
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
        }
    } catch (...) {
        if (!temp.empty()) {
            ::unlink(temp.c_str());
        }
        throw;
    }
    sync_folder(folder);
}

Key read_key_file(const std::filesystem::path& path) {
    // Neither through a link nor waiting: a FIFO or a device opens at once and is refused.
    Fd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    if (fd.get() < 0) {
        int err = errno;
        if (err == ENOENT) {
            throw Error(Status::failure, fmt::format("key file {} is missing", path.string()),
                        "put here a copy of the key file that `tokenctl init` wrote, mode 0600, "
                        "or name it with TOKENCTL_KEY_FILE");
        }
        if (err == ELOOP) {
            throw Error(Status::failure,
                        fmt::format("key file {} is a symbolic link", path.string()),
                        "tokenctl does not follow links to its key file; name the file itself "
                        "with TOKENCTL_KEY_FILE");
        }
        fail("read key file", path, err);
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) {
        fail("read key file", path, errno);
    }
    if (!S_ISREG(st.st_mode)) {
        throw Error(Status::failure,
                    fmt::format("key file {} is not a regular file", path.string()));
    }
    if (st.st_uid != ::geteuid()) {
        throw Error(Status::failure,
                    fmt::format("key file {} belongs to uid {}, not to you (uid {})", path.string(),
                                st.st_uid, ::geteuid()),
                    "a key file must be a private file of the user who runs tokenctl");
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
