#!/usr/bin/env bash
# Builds the Archipel container image without any registry: the release binary, the shared
# libraries it links (with the dynamic loader) and a few files under /etc, in a `FROM scratch`
# image tagged archipel:latest and archipel:<version>.
#
#   deploy/build-image.sh              # build, then smoke-test with `--version`
#   SKIP_BUILD=1 deploy/build-image.sh # reuse the release binary already built
#   STRIP=0 deploy/build-image.sh      # keep the debug info (file:line in backtraces; ~470 MiB more)
#   IMAGE=registry.example/archipel deploy/build-image.sh
#
# Re-runnable: each run assembles a fresh build context in a temporary directory.
set -euo pipefail

die() {
    echo "build-image: $*" >&2
    exit 1
}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
image=${IMAGE:-archipel}
uid=10001

command -v docker >/dev/null 2>&1 ||
    die "docker is not installed; install Docker Engine (e.g. apt-get install docker.io) and run this again"
docker info >/dev/null 2>&1 ||
    die "docker is installed but the daemon does not answer; start it (systemctl start docker) or check your access to /var/run/docker.sock"
command -v ldd >/dev/null 2>&1 || die "ldd is missing (package libc-bin)"

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/archipel/target}
bin="$CARGO_TARGET_DIR/release/archipel"
if [[ ${SKIP_BUILD:-0} != 1 ]]; then
    command -v cargo >/dev/null 2>&1 || die "cargo is missing; install Rust (stable) or set SKIP_BUILD=1 with a binary in $bin"
    echo "build-image: cargo build --release -p archipel (target dir $CARGO_TARGET_DIR)"
    (cd "$repo" && cargo build --release -p archipel)
fi
[[ -x $bin ]] || die "no release binary at $bin; run without SKIP_BUILD=1"

version=$("$bin" --version | awk '{print $2}')
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+ ]] || die "cannot read the version from \`$bin --version\`"

ctx=$(mktemp -d "${TMPDIR:-/tmp}/archipel-image.XXXXXX")
trap 'rm -rf "$ctx"' EXIT
root="$ctx/rootfs"
mkdir -p "$root/usr/bin" "$root/etc/archipel" "$root/tmp" "$ctx/data"
chmod 1777 "$root/tmp"
chmod 0755 "$root" "$root/usr" "$root/usr/bin" "$root/etc" "$root/etc/archipel"

install -m 0755 "$bin" "$root/usr/bin/archipel"
# The release profile keeps debug info, most of it RocksDB's C++ (~95% of the file). Dropping it
# keeps the symbol table, so backtraces still name functions.
if [[ ${STRIP:-1} == 1 ]]; then
    command -v strip >/dev/null 2>&1 || die "strip is missing (package binutils); or set STRIP=0"
    strip --strip-debug "$root/usr/bin/archipel"
fi

# Shared libraries, at the paths the loader looks for them. glibc >= 2.34 has the `files` and
# `dns` name services built in; older ones load them at run time, so take them too when present.
libs() {
    # `ldd` lines: "libx.so => /path (0x…)", "/lib64/ld-linux-x86-64.so.2 (0x…)", "linux-vdso.so.1 (0x…)".
    ldd "$1" | awk '
        /not found/ { print "MISSING " $1; next }
        $2 == "=>" && $3 ~ /^\// { print $3; next }
        $1 ~ /^\// { print $1 }'
}
mapfile -t needed < <(libs "$bin")
libdir=$(dirname "$(printf '%s\n' "${needed[@]}" | grep '/libc\.so\.' | head -n1)")
for nss in libnss_files.so.2 libnss_dns.so.2; do
    if [[ -e $libdir/$nss ]]; then
        needed+=("$libdir/$nss")
        mapfile -t -O "${#needed[@]}" needed < <(libs "$libdir/$nss")
    fi
done
for lib in "${needed[@]}"; do
    [[ $lib == MISSING* ]] && die "the binary needs ${lib#MISSING } and ldd cannot find it"
    [[ -e $root$lib ]] && continue
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib" # the file itself, under the name the loader asks for
done

# Identity and name resolution. No shell: the archipel user cannot log in.
cat >"$root/etc/passwd" <<EOF
root:x:0:0:root:/root:/sbin/nologin
archipel:x:$uid:$uid:Archipel storage node:/var/lib/archipel:/sbin/nologin
EOF
cat >"$root/etc/group" <<EOF
root:x:0:
archipel:x:$uid:
EOF
cat >"$root/etc/nsswitch.conf" <<'EOF'
passwd: files
group:  files
hosts:  files dns
EOF
chmod 0644 "$root/etc/passwd" "$root/etc/group" "$root/etc/nsswitch.conf"

cat >"$ctx/Dockerfile" <<EOF
FROM scratch
COPY rootfs/ /
COPY --chown=$uid:$uid data/ /var/lib/archipel/
USER $uid:$uid
EXPOSE 7400
LABEL org.opencontainers.image.title="archipel" \\
      org.opencontainers.image.description="Archipel storage node and CLI" \\
      org.opencontainers.image.version="$version" \\
      org.opencontainers.image.licenses="AGPL-3.0-or-later"
ENTRYPOINT ["/usr/bin/archipel"]
CMD ["server", "--config", "/etc/archipel/node.toml"]
EOF

echo "build-image: building $image:$version from $ctx"
previous=$(docker image inspect --format '{{.Id}}' "$image:latest" 2>/dev/null || true)
docker build --tag "$image:latest" --tag "$image:$version" "$ctx"
# A rebuild leaves the previous image untagged; drop it unless a container still uses it.
current=$(docker image inspect --format '{{.Id}}' "$image:latest")
if [[ -n $previous && $previous != "$current" ]] &&
    [[ -z $(docker image inspect --format '{{join .RepoTags ""}}' "$previous" 2>/dev/null) ]]; then
    docker image rm "$previous" >/dev/null 2>&1 || true
fi

echo "build-image: smoke test"
docker run --rm "$image:latest" --version

size=$(docker image inspect --format '{{.Size}}' "$image:latest")
echo "build-image: $image:latest = $image:$version, $(numfmt --to=iec-i --suffix=B "$size" 2>/dev/null || echo "$size bytes")"
