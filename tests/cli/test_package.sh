#!/usr/bin/env bash
# Installing and packaging: `cmake --install` into a staging folder puts every file where
# the issue says and the installed binary works; `cpack -G DEB` builds a Debian package
# whose version carries the Debian revision and the release it was built for, whose
# Depends line comes from the binary's shared libraries and the libcrypto it loads, whose
# Static-Built-Using names what is compiled in, whose documentation is laid out as Debian
# Policy asks, whose binary is stripped as dh_strip strips and works too, and on which
# lintian (when installed: scripts/install-deps lintian) reports no tag at all, not even
# an informational one. `tokenctl --version` prints the version of CMake's project().
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
# The build's settings (cmake/Debian.cmake), as the package should show them.
cache_value() { sed -n "s/^$1:[A-Z]*=//p" "$BUILD/CMakeCache.txt"; }
REVISION=$(cache_value TOKENCTL_DEBIAN_REVISION)
MAINTAINER=$(cache_value TOKENCTL_MAINTAINER)
DEB_VERSION="$VERSION-$REVISION"
# packaging/changelog's first entry: tokenctl (VERSION-REVISION) ...
CHANGELOG_VERSION=$(head -n 1 "$TOKENCTL_SOURCE_DIR/packaging/changelog" | sed 's/^tokenctl (\([^)]*\)).*/\1/')
OS_ID=$(. /etc/os-release && echo "${ID-}")
OS_VERSION_ID=$(. /etc/os-release && echo "${VERSION_ID-}")
OS_CODENAME=$(. /etc/os-release && echo "${VERSION_CODENAME-}")

# The files `cmake --install` puts under the /usr prefix, relative to it, sorted. The last
# one is a link to the one in site-functions: Debian's zsh looks for completions there.
expected_files="bin/tokenctl
share/bash-completion/completions/tokenctl
share/doc/tokenctl/LICENSE
share/doc/tokenctl/README.md
share/doc/tokenctl/examples/nginx-tokenctl.conf
share/fish/vendor_completions.d/tokenctl.fish
share/man/man1/tokenctl.1.gz
share/zsh/site-functions/_tokenctl
share/zsh/vendor-completions/_tokenctl"
# The .deb's files: Debian's documentation (README compressed, changelog.Debian, the
# copyright file; no LICENSE, which the copyright file points to), zsh's completion in
# vendor-completions itself, lintian's overrides.
expected_deb_files="bin/tokenctl
lib/systemd/system/tokenctl-serve.service
lib/systemd/system/tokenctl-serve.socket
share/bash-completion/completions/tokenctl
share/doc/tokenctl/README.md.gz
share/doc/tokenctl/changelog.Debian.gz
share/doc/tokenctl/copyright
share/doc/tokenctl/examples/nginx-tokenctl.conf
share/fish/vendor_completions.d/tokenctl.fish
share/lintian/overrides/tokenctl
share/man/man1/tokenctl.1.gz
share/zsh/vendor-completions/_tokenctl"

# A gzip file made with -9n: flags (byte 3) 0, so no name; mtime (bytes 4-7) 0; XFL
# (byte 8) 2, -9.
expect_gzip_9n() {
  OUT=$(od -An -tu1 -j3 -N6 "$1" | tr -s ' ' | sed 's/^ //')
  expect_out "0 0 0 0 0 2"
}

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
  share/doc/tokenctl/README.md share/doc/tokenctl/LICENSE; do
  check test "$(mode_of "$STAGE/usr/$f")" = 644
done

case_ "the man page is gzip -9n'd: no file name, no time stamp"
expect_gzip_9n "$STAGE/usr/share/man/man1/tokenctl.1.gz"
OUT=$(gzip -dc "$STAGE/usr/share/man/man1/tokenctl.1.gz" | cmp - "$TOKENCTL_SOURCE_DIR/man/tokenctl.1" && echo same)
expect_out same

case_ "README and the Apache-2.0 LICENSE as they are; the copyright file is DEP-5"
check cmp -s "$STAGE/usr/share/doc/tokenctl/README.md" "$TOKENCTL_SOURCE_DIR/README.md"
check cmp -s "$STAGE/usr/share/doc/tokenctl/LICENSE" "$TOKENCTL_SOURCE_DIR/LICENSE"
if [ -f /usr/share/common-licenses/Apache-2.0 ]; then
  check cmp -s "$TOKENCTL_SOURCE_DIR/LICENSE" /usr/share/common-licenses/Apache-2.0
fi
copyright=$TOKENCTL_SOURCE_DIR/packaging/copyright
OUT=$(head -n 1 "$copyright")
expect_out "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/"
# tokenctl's own paragraph, and the full text of the licence on every Debian system.
OUT=$(grep -A2 -x 'Files: \*' "$copyright")
expect_out "Files: *
Copyright: 2026 tokenctl developers
License: Apache-2.0"
OUT=$(cat "$copyright")
expect_out_has '"/usr/share/common-licenses/Apache-2.0"'
# Every Files: pattern names something in the source tree.
mapfile -t patterns < <(sed -n 's/^Files: //p' "$copyright" | tr ' ' '\n')
check test ${#patterns[@]} -gt 0
for pattern in "${patterns[@]}"; do
  if compgen -G "$TOKENCTL_SOURCE_DIR/$pattern" >/dev/null; then pass; else fail "Files: $pattern matches nothing"; fi
done
check test "$(head -n 1 "$STAGE/usr/share/zsh/site-functions/_tokenctl")" = '#compdef tokenctl'
check test ! -e "$STAGE/usr/share/doc/tokenctl/copyright"
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

case_ "the Debian version: the changelog's revision, built for this release"
# packaging/changelog's first entry is this version with a Debian revision.
OUT=$CHANGELOG_VERSION
case $CHANGELOG_VERSION in "$VERSION"-[0-9]*) pass ;; *) fail "packaging/changelog's first entry is not $VERSION-REVISION" ;; esac
changelog_revision=${CHANGELOG_VERSION#"$VERSION"-}
OUT=$REVISION
if [ "$OS_ID" = debian ] && [[ $OS_VERSION_ID =~ ^[0-9]+$ ]]; then
  # On Debian N, the revision says so: 1~debNu1 (or u2, ..., when rebuilt).
  if [[ $REVISION =~ ^${changelog_revision//./\.}~deb${OS_VERSION_ID}u[1-9][0-9]*$ ]]; then
    pass
  else
    fail "the revision is not ${changelog_revision}~deb${OS_VERSION_ID}uN"
  fi
else
  expect_out "$changelog_revision"
fi
# A build for Debian 12 sorts before one for 13, and both before the revision itself.
check dpkg --compare-versions "$VERSION-1~deb12u1" lt "$VERSION-1~deb13u1"
check dpkg --compare-versions "$VERSION-1~deb13u1" lt "$VERSION-1"

case_ "cpack -G DEB builds tokenctl_VERSION-REVISION_ARCH.deb"
ARCH=$(dpkg --print-architecture)
DEB="$TMP/pkg/tokenctl_${DEB_VERSION}_$ARCH.deb"
(cd "$BUILD" && cpack -G DEB --config CPackConfig.cmake -B "$TMP/pkg") >"$TMP/cpack.log" 2>&1
RC=$?
OUT=$(tail -n 20 "$TMP/cpack.log")
ERR=""
expect_rc 0
check test -f "$DEB"

case_ "the package's control fields"
field() { dpkg-deb -f "$DEB" "$1"; }
check test "$(field Package)" = tokenctl
check test "$(field Version)" = "$DEB_VERSION"
check test "$(field Architecture)" = "$ARCH"
check test "$(field Section)" = utils
check test "$(field Priority)" = optional
OUT=$(field Maintainer)
expect_out "$MAINTAINER"
name_address='^[^<>@]+ <[^<>@ ]+@[^<>@ ]+>$'
if [[ $OUT =~ $name_address ]]; then pass; else fail "Maintainer is not NAME <ADDRESS>"; fi
# The description says what the package is today: both registries, and why libpq5 is
# only recommended.
OUT=$(field Description)
expect_out_has "SQLite"
expect_out_has "PostgreSQL"
expect_out_has "libpq5 is recommended"
OUT=$(dpkg-deb -I "$DEB")
expect_out_has "Depends: "

case_ "Static-Built-Using names the source packages compiled in, with their versions"
# Built-Using on Debian 12, whose Policy (4.6) and lintian know no Static-Built-Using.
built_using=Static-Built-Using
if [ "$OS_ID" = debian ] && [[ $OS_VERSION_ID =~ ^[0-9]+$ ]] && [ "$OS_VERSION_ID" -le 12 ]; then
  built_using=Built-Using
fi
OUT=$(field "$built_using")
# Boost's headers are in the package of its version (libboost1.74-dev on Debian 12).
boost_package=$(dpkg-query -S /usr/include/boost/beast.hpp | cut -d: -f1)
for package in libsqlitecpp-dev libcli11-dev nlohmann-json3-dev "$boost_package"; do
  expect_out_has "$(dpkg-query -W --showformat='${source:Package} (= ${source:Version})' "$package")"
done

case_ "Depends names the package of every shared library the binary needs or loads"
depends=$(field Depends)
OUT=$depends
# Each NEEDED library of the binary, plus those its .note.dlopen names (libcrypto, and
# libssl for serve's TLS, when loaded with dlopen; both in one Debian package), and the
# Debian package that holds it here.
needed=$(readelf -d "$STAGE/usr/bin/tokenctl" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
check test -n "$needed"
if [ "${TOKENCTL_DLOPEN_LIBCRYPTO:-1}" = 1 ]; then
  needed="$needed libcrypto.so.3 libssl.so.3"
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
# Versions come from the libraries' symbols files: libcrypto's and libssl's function
# tables need 3.0.
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
expect_out "$expected_deb_files"
OUT=$(dpkg-deb -c "$DEB" | awk '$NF == "./usr/bin/tokenctl" { print $1, $2 }')
expect_out "-rwxr-xr-x root/root"
OUT=$(dpkg-deb -c "$DEB" | awk '$1 !~ /^d/ && $2 != "root/root"')
expect_out ""

dpkg-deb -x "$DEB" "$TMP/deb-root"
DOC="$TMP/deb-root/usr/share/doc/tokenctl"

case_ "the package's documentation: gzip -9n'd, changelog.Debian on top of packaging/changelog"
for f in usr/share/man/man1/tokenctl.1.gz usr/share/doc/tokenctl/README.md.gz \
  usr/share/doc/tokenctl/changelog.Debian.gz; do
  expect_gzip_9n "$TMP/deb-root/$f"
done
OUT=$(gzip -dc "$DOC/README.md.gz" | cmp - "$TOKENCTL_SOURCE_DIR/README.md" && echo same)
expect_out same
check cmp -s "$DOC/copyright" "$TOKENCTL_SOURCE_DIR/packaging/copyright"
gzip -dc "$DOC/changelog.Debian.gz" >"$TMP/changelog.Debian"
OUT=$(head -n 1 "$TMP/changelog.Debian")
if [ "$DEB_VERSION" = "$CHANGELOG_VERSION" ]; then
  check cmp -s "$TMP/changelog.Debian" "$TOKENCTL_SOURCE_DIR/packaging/changelog"
else
  # An entry for this release's build, then packaging/changelog as it is.
  expect_out "tokenctl ($DEB_VERSION) ${OS_CODENAME:-unstable}; urgency=medium"
  OUT=$(sed -n 's/^ -- \(.*\)  .*/\1/p' "$TMP/changelog.Debian" | head -n 1)
  expect_out "$MAINTAINER"
  OUT=$(tail -n +7 "$TMP/changelog.Debian" | cmp - "$TOKENCTL_SOURCE_DIR/packaging/changelog" && echo same)
  expect_out same
fi

case_ "the packaged binary is stripped as dh_strip strips: no symbols, .comment or debug info"
sections=$(readelf -SW "$TMP/deb-root/usr/bin/tokenctl" | sed -n 's/^ *\[ *[0-9]*\] \([^ ]*\) .*/\1/p')
OUT=$sections
if printf '%s\n' "$sections" | grep -qxE '\.comment|\.note|\.symtab|\.debug_.*'; then
  fail "sections left: $(printf '%s\n' "$sections" | grep -xE '\.comment|\.note|\.symtab|\.debug_.*' | tr '\n' ' ')"
else
  pass
fi
# The dlopen note, which Debian's tools read, stays.
expect_out_has ".note.dlopen"

case_ "lintian reports no tag at all on the package, not even an informational one"
if [ "${TOKENCTL_FORTIFIED:-1}" = 0 ]; then
  # A sanitizer or debug build has no _FORTIFY_SOURCE, which lintian rightly reports: the
  # package is linted where it is built as released.
  SKIPPED=$((SKIPPED + 1))
  printf 'SKIP [%s] built without _FORTIFY_SOURCE (a sanitizer or debug build)\n' "$CASE"
elif command -v lintian >/dev/null; then
  lintian --display-info "$DEB" >"$TMP/lintian.out" 2>"$TMP/lintian.err"
  OUT=$(cat "$TMP/lintian.out")
  ERR=$(grep -v 'running with root privileges' "$TMP/lintian.err")
  expect_out ""
  expect_err_empty
else
  echo "note: lintian is not installed (scripts/install-deps lintian); the package was not linted"
fi
ERR=""

case_ "the packaged binary runs: init, add-app, list"
works_end_to_end "$TMP/deb-root/usr/bin/tokenctl" "$TMP/packaged/tokens.db"
check test "$(mode_of "$TMP/packaged/tokens.db")" = 600

finish
