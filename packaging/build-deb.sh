#!/usr/bin/env bash
# Build the Debian packages (see docs/packaging.md) into build/deb/ and
# check them with lintian. Run by `make deb`, which installs what it needs.
#
# The sources the packages are made of are copied to
# build/deb/blksnap-<upstream version>/ (the work tree's files, committed or
# not), packaging/debian/ becoming its debian/; dpkg-buildpackage runs there
# and leaves the .deb, .changes and .buildinfo files in build/deb/. Nothing
# is written outside build/deb/.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
out=$top/build/deb

version=$(dpkg-parsechangelog -l "$top/packaging/debian/changelog" -S Version)
upstream=${version%-*}
src=$out/blksnap-$upstream

rm -rf "$out"
mkdir -p "$src"
# What the packages are built from, and what debian/copyright describes.
# Build products (.gitignore) are left out.
cd "$top"
rsync -a --exclude-from=.gitignore \
	README.md include kernel/blksnap lib tools packaging/dkms "$src/" --relative
rsync -a packaging/debian/ "$src/debian/"

cd "$src"
echo "[deb] dpkg-buildpackage in ${src#"$top"/}"
dpkg-buildpackage -us -uc -b > "$out/build.log" 2>&1 || {
	tail -n 40 "$out/build.log" >&2
	echo "[deb] FAILED; full log: ${out#"$top"/}/build.log" >&2
	exit 1
}

cd "$out"
changes=$(ls blksnap_"${version}"_*.changes)
echo "[deb] lintian $changes"
lintian --display-info --fail-on error,warning "$changes" | tee lintian.log
echo "[deb] packages in ${out#"$top"/}:"
ls -1 ./*.deb | sed 's|^\./|  |'
