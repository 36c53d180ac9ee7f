#pragma once

#include <tokenctl/crypto.h>

#include <filesystem>
#include <functional>
#include <string>

// The key file's rotation protocol (`tokenctl rekey`), crash-safe at every step:
//   1. the new key is written completely, synced and locked, then linked in as KEY.new;
//   2. one transaction re-seals every secret under it and stores its key check;
//   3. KEY.new is renamed over KEY.
// A process killed anywhere leaves either no KEY.new, or a KEY.new that the registry's key
// check tells apart: recover_pending_key() finishes step 3 when the transaction had
// committed, and removes KEY.new when it had not. A live rekey holds KEY.new's lock, and
// recovery leaves a locked KEY.new alone. KEY.new is removed only when the transaction
// surely did not commit: a lost answer to COMMIT, or a rename that fails, keeps it for the
// next command to decide.
namespace tokenctl {

// KEY.new beside the key file.
std::filesystem::path pending_key_path(const std::filesystem::path& key_path);

// A new key linked in as KEY.new and locked until this object is destroyed; removed then
// unless install() put it in place or keep() was called.
class PendingKey {
  public:
    // Writes `key` as KEY.new (mode 0600). Error(conflict) when a KEY.new exists.
    PendingKey(const std::filesystem::path& key_path, const Key& key);
    PendingKey(const PendingKey&) = delete;
    PendingKey& operator=(const PendingKey&) = delete;
    ~PendingKey();
    // Step 3: renames KEY.new over KEY and syncs the folder. When the rename fails, KEY.new
    // is kept (it alone opens the registry now) and the error says what to do.
    void install();
    // Leaves KEY.new in place when this object goes: the registry may need it.
    void keep() { m_kept = true; }
    const std::filesystem::path& path() const { return m_pending; }

  private:
    std::filesystem::path m_key_path;
    std::filesystem::path m_pending;
    int m_fd = -1;
    bool m_installed = false;
    bool m_kept = false;
};

// What recover_pending_key() found and did.
struct KeyRecovery {
    enum class State {
        none,        // no KEY.new: nothing was left half done
        busy,        // a live rekey holds KEY.new
        finished,    // KEY.new opened the registry and was put in place of KEY
        rolled_back, // KEY opened the registry and KEY.new was removed
        stuck,       // KEY.new opens the registry but cannot replace KEY (`error` says why)
        neither,     // neither opens the registry: both are left for a person to look at
    };
    State state = State::none;
    std::string error;
};

// Finishes or rolls back a rekey that was interrupted, if KEY.new exists and no live rekey
// holds it: renames it over KEY when `matches` (the registry's key check) accepts its key,
// removes it when `matches` accepts KEY's instead, and leaves both alone otherwise.
KeyRecovery recover_pending_key(const std::filesystem::path& key_path,
                                const std::function<bool(const Key&)>& matches);

} // namespace tokenctl
