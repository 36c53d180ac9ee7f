#!/usr/bin/env bash
# Installing and packaging: `cmake --install` into a staging folder puts every file where
# the issue says and the installed binary works; `cpack -G DEB` builds a Debian package
# whose Depends line comes from the binary's shared libraries and the libcrypto it loads,
# whose binary works too, and which lintian (when installed) passes without errors or
# warnings. `tokenctl --version` prints the version of CMake's project().
. "$(dirname "$0")/lib.sh"
require_tools cpack dpkg-deb dpkg-shlibdeps readelf gzip od cmp

: "${TOKENCTL_SOURCE_DIR:?TOKENCTL_SOURCE_DIR must name the source tree}"
# The build folder CTest runs from: the binary is BUILD/src/tokenctl.
BUILD=$(cd "$(dirname "$TOKENCTL_BIN")/.." && pwd)
[ -f "$BUILD/CMakeCache.txt" ] || {
  echo "no CMakeCache.txt in $BUILD (derived from TOKENCTL_BIN)"
  exit 1
}
VERSION=$(sed -n 's/^project(tokenctl VERSION \([0-9.]*\).*/\1/p' "$TOKENCTL_SOURCE_DIR/CMakeLists.txt")

# The files installed under the /usr prefix, relative to it, sorted. The last one is a link
# to the one in site-functions: Debian's zsh looks for packaged completions there.
expected_files="bin/tokenctl
share/bash-completion/completions/tokenctl
share/doc/tokenctl/README.md
share/doc/tokenctl/changelog.gz
share/doc/tokenctl/copyright
share/fish/vendor_completions.d/tokenctl.fish
share/man/man1/tokenctl.1.gz
share/zsh/site-functions/_tokenctl
share/zsh/vendor-completions/_tokenctl"

# init, add-app and list with BIN on a database of its own.
works_end_to_end() {
  local bin=$1 db=$2 id
  run_bin() { "$bin" --db "$db" --as admin "$@" </dev/null >"$TMP/out" 2>"$TMP/err"; }
  run_bin init --admin admin || { fail "$bin init failed"; return; }
  run_bin add-app -q --redirect-uri https://app.example.com/cb || { fail "$bin add-app failed"; return; }
  id=$(cat "$TMP/out")
  run_bin list --no-headers --format tsv || { fail "$bin list failed"; return; }
  if [ "$(cut -f 1,2,3,9 "$TMP/out")" = "$id	admin	admin	active" ]; then pass; else fail "$bin list shows: $(cat "$TMP/out")"; fi
}

case_ "--version prints the version of project()"
check test -n "$VERSION"
run --version
expect_rc 0
expect_out "tokenctl $VERSION"

case_ "cmake --install puts every file in place under a staging DESTDIR"
STAGE="$TMP/stage"
DESTDIR="$STAGE" cmake --install "$BUILD" --prefix /usr >"$TMP/install.log" 2>&1
RC=$?
OUT=$(tail -n 20 "$TMP/install.log")
ERR=""
expect_rc 0
OUT=$(cd "$STAGE/usr" && find . -type f -o -type l | sed 's|^\./||' | sort)
expect_out "$expected_files"
check test "$(mode_of "$STAGE/usr/bin/tokenctl")" = 755
for f in share/man/man1/tokenctl.1.gz share/bash-completion/completions/tokenctl \
  share/zsh/site-functions/_tokenctl share/fish/vendor_completions.d/tokenctl.fish \
  share/doc/tokenctl/README.md share/doc/tokenctl/changelog.gz share/doc/tokenctl/copyright; do
  check test "$(mode_of "$STAGE/usr/$f")" = 644
done

case_ "the man page and changelog are gzip -9n'd: no file name, no time stamp"
for f in share/man/man1/tokenctl.1.gz share/doc/tokenctl/changelog.gz; do
  # The gzip header: flags (byte 3) 0, so no name; mtime (bytes 4-7) 0; XFL (byte 8) 2, -9.
  OUT=$(od -An -tu1 -j3 -N6 "$STAGE/usr/$f" | tr -s ' ' | sed 's/^ //')
  expect_out "0 0 0 0 0 2"
done
OUT=$(gzip -dc "$STAGE/usr/share/man/man1/tokenctl.1.gz" | cmp - "$TOKENCTL_SOURCE_DIR/man/tokenctl.1" && echo same)
expect_out same
OUT=$(gzip -dc "$STAGE/usr/share/doc/tokenctl/changelog.gz" | cmp - "$TOKENCTL_SOURCE_DIR/packaging/changelog" && echo same)
expect_out same

case_ "the changelog's latest entry is this version; the copyright file is DEP-5"
OUT=$(head -n 1 "$TOKENCTL_SOURCE_DIR/packaging/changelog" | sed 's/^tokenctl (\([^)]*\)).*/\1/')
expect_out "$VERSION"
OUT=$(head -n 1 "$STAGE/usr/share/doc/tokenctl/copyright")
expect_out "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/"
check cmp -s "$STAGE/usr/share/doc/tokenctl/copyright" "$TOKENCTL_SOURCE_DIR/packaging/copyright"
check cmp -s "$STAGE/usr/share/doc/tokenctl/README.md" "$TOKENCTL_SOURCE_DIR/README.md"
check test "$(head -n 1 "$STAGE/usr/share/zsh/site-functions/_tokenctl")" = '#compdef tokenctl'
check test "$(readlink "$STAGE/usr/share/zsh/vendor-completions/_tokenctl")" = ../site-functions/_tokenctl
check test -f "$STAGE/usr/share/zsh/vendor-completions/_tokenctl"

case_ "under /usr/local, whose site-functions zsh reads, no link is made"
DESTDIR="$TMP/stage-local" cmake --install "$BUILD" --prefix /usr/local >/dev/null 2>&1
OUT=$(cd "$TMP/stage-local/usr/local" && find . -type f -o -type l | sed 's|^\./||' | sort)
expect_out "$(printf '%s\n' "$expected_files" | grep -v vendor-completions)"

case_ "the installed binary runs: --version, init, add-app, list"
OUT=$("$STAGE/usr/bin/tokenctl" --version)
expect_out "tokenctl $VERSION"
works_end_to_end "$STAGE/usr/bin/tokenctl" "$TMP/staged/tokens.db"

case_ "the installed bash completion registers itself"
check bash --norc --noprofile -c ". /usr/share/bash-completion/bash_completion &&
  . '$STAGE/usr/share/bash-completion/completions/tokenctl' && complete -p tokenctl >/dev/null"

case_ "cpack -G DEB builds tokenctl_VERSION_ARCH.deb"
ARCH=$(dpkg --print-architecture)
DEB="$TMP/pkg/tokenctl_${VERSION}_$ARCH.deb"
(cd "$BUILD" && cpack -G DEB --config CPackConfig.cmake -B "$TMP/pkg") >"$TMP/cpack.log" 2>&1
RC=$?
OUT=$(tail -n 20 "$TMP/cpack.log")
ERR=""
expect_rc 0
check test -f "$DEB"

case_ "the package's control fields"
field() { dpkg-deb -f "$DEB" "$1"; }
check test "$(field Package)" = tokenctl
check test "$(field Version)" = "$VERSION"
check test "$(field Architecture)" = "$ARCH"
check test "$(field Section)" = utils
check test -n "$(field Maintainer)"
check test -n "$(field Description)"
OUT=$(dpkg-deb -I "$DEB")
expect_out_has "Depends: "

case_ "Depends names the package of every shared library the binary needs or loads"
depends=$(field Depends)
OUT=$depends
# Each NEEDED library of the binary, plus those its .note.dlopen names (libcrypto, when
# loaded with dlopen), and the Debian package that holds it here.
needed=$(readelf -d "$STAGE/usr/bin/tokenctl" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
check test -n "$needed"
if [ "${TOKENCTL_DLOPEN_LIBCRYPTO:-1}" = 1 ]; then
  needed="$needed libcrypto.so.3"
fi
for soname in $needed; do
  path=$(ldconfig -p | awk -v so="$soname" '$1 == so { print $NF; exit }')
  package=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | head -n 1 | cut -d: -f1)
  [ -n "$package" ] || package=$(dpkg -S "$path" 2>/dev/null | head -n 1 | cut -d: -f1)
  if [ -z "$package" ]; then
    fail "no Debian package holds $soname"
  elif printf '%s\n' "$depends" | tr ',' '\n' | sed 's/^ *//; s/ .*//' | grep -qx "$package"; then
    pass
  else
    fail "Depends lacks $package (for $soname)"
  fi
done
# Versions come from the libraries' symbols files: libcrypto's function table needs 3.0.
OUT=$depends
expect_out_has "libc6 (>= "
if printf '%s\n' "$depends" | grep -qE '(^|, )libssl3(t64)? \(>= 3\.0\.0\)(,|$)'; then
  pass
else
  fail "Depends lacks libssl3 (>= 3.0.0) or libssl3t64 (>= 3.0.0)"
fi

case_ "Recommends libpq5, which tokenctl loads for PostgreSQL registries only"
OUT=$(field Recommends)
expect_out "libpq5"
if printf '%s
' "$depends" | grep -q 'libpq'; then fail "Depends names libpq"; else pass; fi

case_ "the package's file list"
OUT=$(dpkg-deb -c "$DEB" | awk '$1 ~ /^-/ { print $NF } $1 ~ /^l/ { print $(NF - 2) }' |
  sed 's|^\./usr/||' | sort)
expect_out "$expected_files"
OUT=$(dpkg-deb -c "$DEB" | awk '$NF == "./usr/bin/tokenctl" { print $1, $2 }')
expect_out "-rwxr-xr-x root/root"

case_ "lintian reports no error and no warning on the package"
if command -v lintian >/dev/null; then
  lintian "$DEB" >"$TMP/lintian.out" 2>"$TMP/lintian.err"
  OUT=$(grep -E '^[EW]: ' "$TMP/lintian.out")
  ERR=$(grep -v 'running with root privileges' "$TMP/lintian.err")
  expect_out ""
  expect_err_empty
else
  echo "note: lintian is not installed; the package was not linted"
fi
ERR=""

case_ "the packaged binary runs: init, add-app, list"
dpkg-deb -x "$DEB" "$TMP/deb-root"
works_end_to_end "$TMP/deb-root/usr/bin/tokenctl" "$TMP/packaged/tokens.db"
check test "$(mode_of "$TMP/packaged/tokens.db")" = 600

finish
