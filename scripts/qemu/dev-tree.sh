#!/usr/bin/env bash
# Makes a git work tree for editing a series: the pristine Debian source as
# the first commit, then the series applied with `git am` (one commit per
# patch). Regenerate the series afterwards with
#   git -C DIR format-patch --zero-commit --no-signature -o Patches/qemu-RELEASE base..HEAD
# Usage: [QEMU_RELEASE=10.2] dev-tree.sh patched|reference DIR   (DIR outside the clone)
set -euo pipefail
. "$(dirname "$0")/common.sh"

case "${1:-}" in
    patched)   series="$DEVSTATE_REPO/Patches/qemu-$QEMU_RELEASE";;
    reference) series="$DEVSTATE_REPO/Patches/reference-$QEMU_RELEASE";;
    *) die "usage: $0 patched|reference DIR";;
esac
dir="${2:?usage: $0 patched|reference DIR}"
[ ! -e "$dir" ] || die "$dir exists"
case "$(realpath -m "$dir")" in
    "$DEVSTATE_REPO"|"$DEVSTATE_REPO"/*) die "keep QEMU trees out of the clone";;
esac

pristine="$("$(dirname "$0")/fetch-source.sh")"
cp -a "$pristine" "$dir"
cd "$dir"
git init -q
git -c user.name=devstate -c user.email=devstate@example.invalid add -A
git -c user.name=devstate -c user.email=devstate@example.invalid \
    commit -q -m "Debian qemu $QEMU_DEB_VERSION"
git tag base
git -c user.name=devstate -c user.email=devstate@example.invalid am -q "$series"/*.patch ||
    die "series does not apply with git am"
git log --oneline base..HEAD >&2
echo "$dir"
