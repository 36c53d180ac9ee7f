#include <tokenctl/error.h>
#include <tokenctl/files.h>
#include <tokenctl/keyfile.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace tokenctl {

namespace {

[[noreturn]] void fail(std::string_view what, const std::filesystem::path& path, int err) {
    throw Error(Status::failure,
                fmt::format("cannot {} {}: {}", what, path.string(), std::strerror(err)));
}

} // namespace

std::filesystem::path pending_key_path(const std::filesystem::path& key_path) {
    auto pending = key_path;
    pending += ".new";
    return pending;
}

PendingKey::PendingKey(const std::filesystem::path& key_path, const Key& key)
    : m_key_path(key_path), m_pending(pending_key_path(key_path)) {
    // Unnamed until complete and locked, so that no other process can see a partial key
    // or take KEY.new for an abandoned one.
    m_fd = ::open(folder_of(key_path).c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (m_fd < 0) {
        fail("create a new key file beside", key_path, errno);
    }
    const auto* bytes = key.data();
    std::size_t done = 0;
    while (done < Key::k_size) {
        ssize_t n = ::write(m_fd, bytes + done, Key::k_size - done);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            int err = n < 0 ? errno : EIO;
            ::close(m_fd);
            fail("write the new key file", m_pending, err);
        }
        done += static_cast<std::size_t>(n);
    }
    if (::fchmod(m_fd, 0600) != 0 || ::fsync(m_fd) != 0 || ::flock(m_fd, LOCK_EX) != 0) {
        int err = errno;
        ::close(m_fd);
        fail("write the new key file", m_pending, err);
    }
    const std::string self = fmt::format("/proc/self/fd/{}", m_fd);
    if (::linkat(AT_FDCWD, self.c_str(), AT_FDCWD, m_pending.c_str(), AT_SYMLINK_FOLLOW) != 0) {
        int err = errno;
        ::close(m_fd);
        if (err == EEXIST) {
            throw Error(Status::conflict,
                        fmt::format("{} exists: another rekey is running", m_pending.string()),
                        "wait for it to finish, then run tokenctl rekey again");
        }
        fail("create", m_pending, err);
    }
    sync_folder(folder_of(m_pending));
}

PendingKey::~PendingKey() {
    if (!m_installed && !m_kept) {
        ::unlink(m_pending.c_str());
    }
    ::close(m_fd); // releases the lock last
}

void PendingKey::install() {
    if (::rename(m_pending.c_str(), m_key_path.c_str()) != 0) {
        m_kept = true; // the registry's secrets open with it alone now
        throw Error(Status::failure,
                    fmt::format("the key was rotated, but {} could not replace {}: {}",
                                m_pending.string(), m_key_path.string(), std::strerror(errno)),
                    fmt::format("the registry's secrets now open with {} alone: put it in place "
                                "of {} (a mounted secret: update its source), then run any "
                                "tokenctl command",
                                m_pending.string(), m_key_path.string()));
    }
    m_installed = true;
    sync_folder(folder_of(m_key_path));
}

KeyRecovery recover_pending_key(const std::filesystem::path& key_path,
                                const std::function<bool(const Key&)>& matches) {
    using State = KeyRecovery::State;
    const auto pending = pending_key_path(key_path);
    int fd = ::open(pending.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        return {};
    }
    struct Close {
        int fd;
        ~Close() { ::close(fd); }
    } close_fd{fd};
    struct stat st {};
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0 || ::fstat(fd, &st) != 0) {
        return {State::busy, {}};
    }
    if (st.st_nlink == 0) {
        return {}; // another process has just recovered it
    }
    Key fresh = read_key_file(pending);
    if (matches(fresh)) {
        if (::rename(pending.c_str(), key_path.c_str()) != 0) {
            return {State::stuck, std::strerror(errno)};
        }
        sync_folder(folder_of(key_path));
        return {State::finished, {}};
    }
    try {
        if (matches(read_key_file(key_path))) {
            ::unlink(pending.c_str());
            sync_folder(folder_of(pending));
            return {State::rolled_back, {}};
        }
    } catch (const Error&) {
        // KEY is missing or unreadable: neither opens the registry.
    }
    return {State::neither, {}};
}

} // namespace tokenctl
