#!/usr/bin/env bash
# Build the Debian bookworm root filesystem the carbon-kube image starts from, as a tarball.
#
# Why mmdebstrap: no container registry is reachable, Debian's archive is. `essential` plus
# python3 (with libgomp1 and libstdc++6, which the LightGBM, pandas and pyarrow wheels link
# against; ca-certificates for the carbon APIs) is the whole runtime; apt, man pages, docs and locales are left out. Without the
# merged-usr hooks Debian's usrmerge would pull perl in (+50 MB). The image's user, uid 65532,
# gets a passwd and group entry (`nonroot`, as distroless names it): libraries look its name up
# (kopf names its peer by getpass.getuser(), which raises for a nameless uid).
#
# With bookworm-updates and bookworm-security: the build script rebuilds the base monthly so that
# security fixes arrive. Reproducible: SOURCE_DATE_EPOCH clamps every mtime, so the same
# packages give the same tarball. The package set is whatever bookworm serves on the day
# (snapshot.debian.org, which would pin it, is not reachable here); the list of name, version
# and arch lands beside the tarball and in the image's SBOM.
#
# Usage: hack/image/debian-base.sh OUT.tar   (also writes OUT.tar.packages.tsv)
set -euo pipefail

out="$1"
: "${SOURCE_DATE_EPOCH:?set SOURCE_DATE_EPOCH (the build script does)}"
export SOURCE_DATE_EPOCH
partial="${out%.tar}.partial.tar"  # mmdebstrap picks the format by the extension
rm -f "$partial"

mmdebstrap \
  --quiet \
  --variant=essential \
  --include=python3,libgomp1,libstdc++6,ca-certificates \
  --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
  --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/info/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' \
  --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --customize-hook='chroot "$1" dpkg-query -W -f "\${db:Status-Abbrev}\t\${Package}\t\${Version}\t\${Architecture}\n" > "$1/.packages.tsv"' \
  --customize-hook='download /.packages.tsv '"$out.status.tsv" \
  --customize-hook='rm -f "$1/.packages.tsv" "$1/etc/machine-id" "$1/var/log/dpkg.log" "$1/var/log/apt/"*' \
  --customize-hook='rm -rf "$1/var/cache/debconf/"*-old "$1/var/lib/dpkg/"*-old' \
  --customize-hook='echo "nonroot:x:65532:65532:nonroot:/tmp:/usr/sbin/nologin" >> "$1/etc/passwd"' \
  --customize-hook='echo "nonroot:x:65532:" >> "$1/etc/group"' \
  bookworm "$partial" \
  "deb http://deb.debian.org/debian bookworm main" \
  "deb http://deb.debian.org/debian bookworm-updates main" \
  "deb http://deb.debian.org/debian-security bookworm-security main"

# Installed packages only (not ones removed with their configuration left).
awk -F'\t' '$1 ~ /^ii/ {print $2 "\t" $3 "\t" $4}' "$out.status.tsv" >"$out.packages.tsv"
rm -f "$out.status.tsv"
mv "$partial" "$out"
