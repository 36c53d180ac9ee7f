#include <tokenctl/commands.h>
#include <tokenctl/error.h>
#include <tokenctl/files.h>
#include <tokenctl/validate.h>

#include <fmt/format.h>

#include <unistd.h>

namespace tokenctl {

namespace {

// Removes what a failed init created, so that it can simply be run again.
class Cleanup {
  public:
    void add(std::filesystem::path path) { m_paths.push_back(std::move(path)); }
    void dismiss() { m_paths.clear(); }
    ~Cleanup() {
        for (const auto& path : m_paths) {
            ::unlink(path.c_str());
        }
    }

  private:
    std::vector<std::filesystem::path> m_paths;
};

} // namespace

void init_database(const Paths& paths, const std::string& admin_name) {
    validate_user_name(admin_name);
    if (path_exists(paths.db.path)) {
        throw Error(Status::conflict, fmt::format("a database already exists at {}", paths.db.text),
                    "tokenctl init never overwrites; name another place with --db");
    }
    if (path_exists(paths.key)) {
        throw Error(Status::conflict,
                    fmt::format("a key file already exists at {}", paths.key.string()),
                    "tokenctl init never overwrites a key file; move it away or set "
                    "TOKENCTL_KEY_FILE");
    }
    make_private_dirs(paths.db.path.parent_path());
    make_private_dirs(paths.key.parent_path());

    Cleanup cleanup;
    Key key = Key::generate();
    create_private_file(paths.key,
                        std::string_view(reinterpret_cast<const char*>(key.data()), Key::k_size));
    cleanup.add(paths.key);
    for (auto& file : paths.db.files()) {
        cleanup.add(file);
    }
    auto store = create_store(paths.db);
    store->write([&] {
        Millis now = now_ms();
        store->insert_user(admin_name, Role::admin, now);
        store_key_check(*store, key);
        store->append_audit(
            AuditEntry{0, now, admin_name, "init", admin_name, "ok", "first administrator"});
    });
    cleanup.dismiss();
}

} // namespace tokenctl
