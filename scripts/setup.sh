#!/usr/bin/env bash
# Installs what building and testing Archipel needs on Debian/Ubuntu, then prints the cargo
# target dir. Safe to run again: it installs only what is missing.
set -euo pipefail

# Debian packages: clang/libclang for RocksDB's bindgen, a C++ toolchain for RocksDB itself,
# xmllint for SEDA schema validation. protoc is not needed: the build uses a vendored one.
PACKAGES=(build-essential clang libclang-dev pkg-config libxml2-utils curl)
# Real S3 clients driving the S3 gateway in its integration tests (archipel/tests/s3_clients.rs).
PACKAGES+=(awscli rclone s3cmd)
# Headless Chromium and its WebDriver for the web interface's browser tests (archipel/tests/ui_browser.rs).
PACKAGES+=(chromium chromium-driver)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || { echo "setup: need root or sudo to install ${missing[*]}" >&2; exit 1; }
    SUDO=sudo
  fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null; then
  echo "setup: cargo not found; install Rust (stable) first: https://rustup.rs" >&2
  exit 1
fi
for component in rustfmt clippy; do
  if ! cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1; then
    echo "setup: installing the $component component" >&2
    rustup component add "$component"
  fi
done
