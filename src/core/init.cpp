#include <tokenctl/command_table.h>
#include <tokenctl/commands.h>
#include <tokenctl/error.h>
#include <tokenctl/files.h>
#include <tokenctl/validate.h>

#include <fmt/format.h>

#include <functional>
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

// Creates the registry at `paths.db`, with its first administrator, in one transaction; the
// key file with `make_key_file` once its place is known.
void create_registry(const Paths& paths, const std::optional<std::string>& claimed_admin,
                     const Key& key,
                     const std::function<void(const std::filesystem::path&)>& make_key_file,
                     InitResult& result) {
    create_store(paths.db, [&](Store& store) {
        result.admin = acting_name(store, claimed_admin);
        result.registry_id = store.registry_id();
        if (result.key.empty()) {
            make_key_file(registry_key_path(*result.registry_id));
        }
        Millis now = now_ms();
        store.insert_user(result.admin, Role::admin, now);
        store.grant_login(result.admin, Role::admin);
        store_key_check(store, key);
        store.append_audit(AuditEntry{0, now, result.admin, command_path(CommandId::init),
                                      result.admin, "ok", "first administrator"});
    });
}

} // namespace

InitResult init_database(const Paths& paths, const std::optional<std::string>& claimed_admin) {
    if (claimed_admin) {
        validate_user_name(*claimed_admin);
    }
    auto refuse_existing_key = [](const std::filesystem::path& key) {
        if (path_exists(key)) {
            throw Error(Status::conflict,
                        fmt::format("a key file already exists at {}", key.string()),
                        "tokenctl init never overwrites a key file; move it away or set "
                        "TOKENCTL_KEY_FILE");
        }
    };
    prepare_registry_place(paths.db);

    Cleanup cleanup;
    InitResult result;
    Key key = Key::generate();
    auto make_key_file = [&](const std::filesystem::path& path) {
        refuse_existing_key(path);
        make_private_dirs(path.parent_path());
        create_private_file(
            path, std::string_view(reinterpret_cast<const char*>(key.data()), Key::k_size));
        cleanup.add(path);
        result.key = path;
    };
    // A key file whose place is known comes first: a full disk is found before the
    // registry is made. On PostgreSQL its name is the registry's ID, known once made.
    if (!paths.key.empty()) {
        make_key_file(paths.key);
    }
    for (auto& made : paths.db.files()) {
        cleanup.add(made);
    }
    try {
        create_registry(paths, claimed_admin, key, make_key_file, result);
    } catch (const UnknownOutcome& e) {
        // The registry may exist, and then this key file alone opens its secrets.
        cleanup.dismiss();
        throw UnknownOutcome(
            fmt::format("{}; the key file {} is kept", e.what(), result.key.string()),
            fmt::format("run `tokenctl whoami`: if it finds the registry, {} is its key file; if "
                        "it finds none, remove the key file and run init again",
                        result.key.string()));
    }
    cleanup.dismiss();
    return result;
}

} // namespace tokenctl
