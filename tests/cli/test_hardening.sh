#!/usr/bin/env bash
# How the built binary is linked, read from its ELF headers (readelf, objcopy): the
# hardening that dpkg-buildflags' hardening=+all asks of a Debian package (PIE, RELRO with
# BIND_NOW, the stack protector, checked libc calls), and libcrypto either loaded with
# dlopen and declared in a .note.dlopen ELF note, or linked as any shared library
# (TOKENCTL_DLOPEN_LIBCRYPTO), and libssl (serve's TLS) with it, declared "suggested";
# libpq always loaded with dlopen, declared "recommended". The build's choices come from
# tests/cli/CMakeLists.txt.
. "$(dirname "$0")/lib.sh"
require_tools readelf objcopy

: "${TOKENCTL_DLOPEN_LIBCRYPTO:?TOKENCTL_DLOPEN_LIBCRYPTO must be 1 or 0}"
: "${TOKENCTL_FORTIFIED:?TOKENCTL_FORTIFIED must be 1 or 0}"
BIN=$TOKENCTL_BIN
ERR=""

case_ "a position-independent executable"
OUT=$(readelf -h "$BIN" | awk '$1 == "Type:" { print $2 }')
expect_out "DYN"
# The dynamic section's flags, e.g. "FLAGS BIND_NOW" and "FLAGS_1 NOW PIE".
flags=$(readelf -d "$BIN" | sed -n 's/.*(\(FLAGS[_0-9]*\)) *\(Flags: \)\{0,1\}\(.*\)/\1 \3/p')
OUT=$flags
if printf '%s\n' "$flags" | grep -qE '^FLAGS_1 (.* )?PIE( |$)'; then pass; else fail "no PIE flag"; fi

case_ "relocations resolved at start-up, then read-only (RELRO, BIND_NOW)"
if printf '%s\n' "$flags" | grep -qE '^FLAGS (.* )?BIND_NOW( |$)'; then pass; else fail "no BIND_NOW"; fi
if printf '%s\n' "$flags" | grep -qE '^FLAGS_1 (.* )?NOW( |$)'; then pass; else fail "no NOW flag"; fi
OUT=$(readelf -lW "$BIN" | awk '$1 ~ /^GNU_(RELRO|STACK)$/ { print $1, $(NF - 1) }')
# The stack is not executable either: its segment's flags are RW.
expect_out "GNU_STACK RW
GNU_RELRO R"

# The functions the binary imports, without their symbol versions.
imports=$(readelf --dyn-syms -W "$BIN" | awk '$7 == "UND" { sub(/@.*/, "", $8); print $8 }' | sort -u)

case_ "the stack protector: __stack_chk_fail is imported"
OUT=$imports
if printf '%s\n' "$imports" | grep -qx '__stack_chk_fail'; then pass; else fail "no __stack_chk_fail"; fi

case_ "_FORTIFY_SOURCE: checked libc calls (__*_chk) are imported"
checked=$(printf '%s\n' "$imports" | grep -E '^__.*_chk$' | grep -vx '__stack_chk_fail')
if [ "$TOKENCTL_FORTIFIED" = 1 ]; then
  if [ -n "$checked" ]; then pass; else fail "no __*_chk import in a fortified build"; fi
  # memcpy is called with sizes known at compile time; fortified, it is checked.
  if printf '%s\n' "$checked" | grep -qx '__memcpy_chk'; then pass; else fail "no __memcpy_chk"; fi
else
  echo "note: _FORTIFY_SOURCE does not apply to this build (debug or sanitizers); not checked"
fi

case_ "stack clash and control-flow protection, as Debian 13's hardening=+all adds"
# Read from the compile command of main.cpp (compile_commands.json, beside CMakeCache.txt):
# CET leaves no mark of its own on a binary that links objects built without it.
commands="$(dirname "$BIN")/../compile_commands.json"
if [ -f "$commands" ]; then
  OUT=$(grep -F '"command"' "$commands" | grep -F '/tokenctl.dir/main.cpp.o' | head -n 1)
  expect_out_has "-fstack-clash-protection"
  case $(uname -m) in x86_64 | i?86) expect_out_has "-fcf-protection" ;; esac
else
  echo "note: no compile_commands.json beside $BIN; the compile flags were not checked"
fi
OUT=""

needed=$(readelf -d "$BIN" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
# The entries of the .note.dlopen notes, read back field by field: owner, type and the
# JSON description (NUL ended), one line per library.
dlopen_notes() {
  objcopy --dump-section .note.dlopen="$TMP/note" "$BIN" "$TMP/copy" 2>"$TMP/objcopy.err" || return
  python3 - "$TMP/note" <<'EOF'
import json, struct, sys
data = open(sys.argv[1], "rb").read()
at = 0
lines = []
while at < len(data):
    namesz, descsz, kind = struct.unpack_from("<III", data, at)
    name = data[at + 12:at + 12 + namesz]
    start = at + 12 + (namesz + 3) // 4 * 4
    desc = data[start:start + descsz]
    assert desc.endswith(b"\0"), "the description is not NUL-terminated"
    owner = name.rstrip(b"\0").decode()
    for entry in json.loads(desc[:-1]):
        lines.append(f"{owner} {kind:#x} {entry['feature']} {entry['priority']} "
                     f"{','.join(entry['soname'])} {bool(entry['description'])}")
    at = start + (descsz + 3) // 4 * 4
assert at == len(data), "bad padding"
print("\n".join(sorted(lines)))
EOF
}

case_ "libpq is not a NEEDED library: loaded with dlopen, declared recommended"
OUT=$needed
if printf '%s\n' "$needed" | grep -q '^libpq'; then fail "libpq is NEEDED"; else pass; fi
OUT=$(dlopen_notes)
expect_out_has "FDO 0x407c0c0a postgresql recommended libpq.so.5 True"
if ldconfig -p | awk '{ print $1 }' | grep -qx 'libpq.so.5'; then pass; else fail "no libpq.so.5 here"; fi

if [ "$TOKENCTL_DLOPEN_LIBCRYPTO" = 1 ]; then
  case_ "libcrypto is not a NEEDED library: it is loaded with dlopen"
  OUT=$needed
  if printf '%s\n' "$needed" | grep -q '^libcrypto'; then fail "libcrypto is NEEDED"; else pass; fi

  case_ "the .note.dlopen ELF note declares libcrypto.so.3, required"
  OUT=$(readelf --notes "$BIN" | awk '/^Displaying notes found in: / { section = $NF }
    section == ".note.dlopen" && $1 == "FDO" { print section, $1 }' | sort -u)
  expect_out ".note.dlopen FDO"
  OUT=$(dlopen_notes)
  expect_out "FDO 0x407c0c0a crypto required libcrypto.so.3 True
FDO 0x407c0c0a postgresql recommended libpq.so.5 True
FDO 0x407c0c0a tls suggested libssl.so.3 True"
  # The soname of the note is the one the loader finds here.
  if ldconfig -p | awk '{ print $1 }' | grep -qx 'libcrypto.so.3'; then pass; else fail "no libcrypto.so.3 here"; fi

  case_ "libssl (serve's TLS) is not a NEEDED library: loaded with dlopen, declared suggested"
  OUT=$needed
  if printf '%s\n' "$needed" | grep -q '^libssl'; then fail "libssl is NEEDED"; else pass; fi
  if ldconfig -p | awk '{ print $1 }' | grep -qx 'libssl.so.3'; then pass; else fail "no libssl.so.3 here"; fi
else
  case_ "libcrypto and libssl are linked as any shared library: NEEDED, and not in .note.dlopen"
  OUT=$needed
  if printf '%s\n' "$needed" | grep -qx 'libcrypto.so.3'; then pass; else fail "libcrypto.so.3 is not NEEDED"; fi
  if printf '%s\n' "$needed" | grep -qx 'libssl.so.3'; then pass; else fail "libssl.so.3 is not NEEDED"; fi
  OUT=$(dlopen_notes)
  expect_out "FDO 0x407c0c0a postgresql recommended libpq.so.5 True"
fi

finish
