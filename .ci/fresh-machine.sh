#!/usr/bin/env bash
# Run .ci/run the way CI does, but on a fresh Debian 12 (bookworm) that has only Python 3.11,
# pip and gcc: nothing installed by hand before, no TeX, no venv. Proves that .ci/run installs
# everything the tests need.
#
# Usage (as root):  .ci/fresh-machine.sh [REPO] [SHARED]
#   REPO    git checkout to test (default: this one); its committed HEAD is cloned, so uncommitted
#           changes are not part of the test
#   SHARED  folder holding data/ and seeds/ (default: REPO/../shared); mounted read-only
# Environment:
#   FRESH_DIR  work folder (default /var/tmp/recrepro-fresh): base/ is the fresh system (built once
#              with debootstrap, then reused), root/ the copy this run uses, ci.log its output
#   MIRROR     Debian mirror for debootstrap (default: the first one of this machine's apt sources)
#   KEEP=1     keep root/ afterwards (to look inside with `chroot $FRESH_DIR/root`)
#   BASE_ONLY=1  only build base/ (light: downloads and unpacks; the CI run is the heavy part)
#   NICE       niceness of the CI run (default 10); PYTEST_ADDOPTS is passed on (e.g. --durations=0)
# Needs debootstrap (apt-get install debootstrap) and the same network access to the Debian and
# Python package registries as this machine; the registry settings of apt and pip (sources,
# pip.conf, PIP_* variables, local wheel folders they name) are carried over, no package is.
set -euo pipefail

repo=$(cd "${1:-$(dirname "$0")/..}" && pwd)
shared=$(cd "${2:-$repo/../shared}" && pwd)
fresh=${FRESH_DIR:-/var/tmp/recrepro-fresh}
base=$fresh/base
root=$fresh/root
suite=bookworm
mirror=${MIRROR:-$(grep -hE '^(URIs:|deb )' /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
  /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -oE 'https?://[^ ]+' | grep -v security | head -n 1 || true)}
[ "$(id -u)" = 0 ] || { echo "fresh-machine: run as root (debootstrap, chroot, mount)" >&2; exit 1; }
command -v debootstrap >/dev/null || { echo "fresh-machine: apt-get install debootstrap" >&2; exit 1; }
[ -n "$mirror" ] || { echo "fresh-machine: no Debian mirror found; set MIRROR=URL" >&2; exit 1; }

mounts=()
cleanup() {
  local i
  for (( i=${#mounts[@]}-1; i>=0; i-- )); do umount -l "${mounts[i]}" 2>/dev/null || true; done
  if grep -q " $root/" /proc/mounts; then
    echo "fresh-machine: mounts remain under $root; not removing it" >&2
  elif [ "${KEEP:-0}" != 1 ]; then
    rm -rf --one-file-system "$root"
  fi
}
trap cleanup EXIT

bind() {  # bind <host path> <path in root> [ro]
  mkdir -p "$2"
  mount --rbind "$1" "$2"
  mounts+=("$2")
  if [ "${3:-}" = ro ]; then mount -o remount,bind,ro "$2"; fi
}

# 1. The fresh machine (cached): a minimal Debian plus Python 3.11, venv, pip and a C compiler.
#    No recommended packages, so nothing else (no python3-dev, no TeX) comes along.
if [ ! -e "$base/.fresh-ready" ]; then
  echo "== debootstrap $suite into $base"
  rm -rf --one-file-system "$base"
  debootstrap --variant=minbase "$suite" "$base" "$mirror" >"$fresh.debootstrap.log" 2>&1 \
    || { tail -n 20 "$fresh.debootstrap.log"; exit 1; }
  cp /etc/resolv.conf "$base/etc/resolv.conf"
  chroot "$base" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
    sh -c 'apt-get update -qq && apt-get install -y -qq --no-install-recommends \
           python3.11 python3.11-venv python3-pip gcc libc6-dev >/dev/null && apt-get clean'
  touch "$base/.fresh-ready"
fi
[ "${BASE_ONLY:-0}" = 1 ] && { echo "== fresh machine ready in $base"; trap - EXIT; exit 0; }

# 2. This run's machine: a copy of the fresh one, a clean clone of REPO, SHARED beside it.
echo "== fresh root $root"
rm -rf --one-file-system "$root"
cp -a "$base" "$root"
cp /etc/resolv.conf "$root/etc/resolv.conf"
cp /etc/hosts "$root/etc/hosts"
commit=$(git -C "$repo" rev-parse HEAD)
git clone -q --no-hardlinks "$repo" "$root/work/recrepro"
git -C "$root/work/recrepro" checkout -q --detach "$commit"
bind "$shared" "$root/work/shared" ro
mount -t proc proc "$root/proc" && mounts+=("$root/proc")
mount -t sysfs sys "$root/sys" && mounts+=("$root/sys")
bind /dev "$root/dev"

# Registry settings of pip (not packages): config files, the CA bundle, local wheel folders.
pip_env=()
while IFS='=' read -r name value; do
  [[ $name == PIP_* ]] && pip_env+=("$name=$value")
done < <(env)
for file in /etc/pip.conf /etc/xdg/pip/pip.conf /etc/xdg/pip/constraints.txt "$HOME/.config/pip/pip.conf"; do
  [ -f "$file" ] || continue
  target=$root${file/#$HOME//root}
  mkdir -p "$(dirname "$target")" && cp "$file" "$target"
done
for path in $( (cat /etc/pip.conf /etc/xdg/pip/pip.conf "$HOME/.config/pip/pip.conf" 2>/dev/null;
                printf '%s\n' "${pip_env[@]}") | grep -oE '(file://)?/[A-Za-z0-9._/-]+' | sed 's|^file://||' | sort -u); do
  if [ -f "$path" ]; then mkdir -p "$root$(dirname "$path")" && cp "$path" "$root$path"
  elif [ -d "$path" ]; then
    top=$(echo "$path" | cut -d/ -f1-3)  # e.g. a local index folder with simple/ and files/
    mountpoint -q "$root$top" || bind "$top" "$root$top" ro
  fi
done

extra_env=()
[ -z "${PYTEST_ADDOPTS:-}" ] || extra_env+=("PYTEST_ADDOPTS=$PYTEST_ADDOPTS")

# 3. CI itself, as CI runs it: `bash .ci/run` with CI=true, no standard input, a clean environment.
echo "== bash .ci/run on $commit (log: $fresh/ci.log)"
start=$(date +%s)
set +e
chroot "$root" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  HOME=/root LANG=C.UTF-8 CI=true "${pip_env[@]}" "${extra_env[@]}" \
  nice -n "${NICE:-10}" bash -c 'cd /work/recrepro && bash .ci/run' </dev/null 2>&1 | tee "$fresh/ci.log"
status=${PIPESTATUS[0]}
set -e
echo "== fresh-machine: .ci/run exited $status after $(( $(date +%s) - start )) s"
exit "$status"
