#!/usr/bin/env bash
# Writes a pkg-config file for the C ABI (`make vas.pc`, `make install`).
#   scripts/vas-pc.sh OUT_FILE PREFIX INCLUDEDIR LIBDIR [rpath]
# With `rpath`, Libs also records LIBDIR as the run-time search path (for the build tree,
# where the shared library is not in the loader's path).
set -euo pipefail
out=$1 prefix=$2 includedir=$3 libdir=$4 rpath=${5:-}
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$(dirname "$0")/../Cargo.toml" | head -1)
mkdir -p "$(dirname "$out")"
extra=""
[ "$rpath" = rpath ] && extra=" -Wl,-rpath,\${libdir}"
cat >"$out" <<PC
prefix=$prefix
includedir=$includedir
libdir=$libdir

Name: vas
Description: VAS, the Video Aggregation Service: RTSP cameras in; WebRTC, HLS, snapshots and clips out (C ABI)
Version: $version
Cflags: -I\${includedir}
Libs: -L\${libdir} -lvas_ffi$extra
Libs.private: -lstdc++ -lpthread -ldl -lm
PC
echo "wrote $out"
