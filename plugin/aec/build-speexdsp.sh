#!/usr/bin/env bash
# Builds speexdsp's echo canceller (mdf.c) and preprocessor (preprocess.c: residual echo suppression) into one
# standalone WebAssembly module with no JavaScript glue, for plugin/aec/speex-aec.ts.
#
#   bash plugin/aec/build-speexdsp.sh /path/to/speexdsp-source [out.wasm]
#
# It fetches nothing: pass a checkout of https://github.com/xiph/speexdsp. The committed
# plugin/aec/speexdsp-aec.wasm was built from commit 7a158783df74efe7c2d1c6ee8363c1e695c71226 (2025-07-05,
# "testresample2: define M_PI if needed") with Debian's emscripten 3.1.6. speexdsp is BSD-licensed; its
# COPYING sits beside the .wasm.
#
# Configuration (what ./configure would pick for a floating-point build): FLOATING_POINT, the smallft FFT
# (OggVorbis's, the float default), no stdio (warnings are dropped, a fatal error traps).
set -euo pipefail
SRC=${1:?usage: build-speexdsp.sh SPEEXDSP_SOURCE_DIR [OUT.wasm]}
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${2:-$HERE/speexdsp-aec.wasm}
[ -f "$SRC/libspeexdsp/mdf.c" ] || { echo "no libspeexdsp/mdf.c under $SRC" >&2; exit 1; }
command -v emcc >/dev/null || { echo "emcc not found (apt-get install -y emscripten)" >&2; exit 1; }

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$TMP/speex"
cat > "$TMP/speex/speexdsp_config_types.h" <<'H'
#ifndef __SPEEX_TYPES_H__
#define __SPEEX_TYPES_H__
#include <stdint.h>
typedef int16_t spx_int16_t;
typedef uint16_t spx_uint16_t;
typedef int32_t spx_int32_t;
typedef uint32_t spx_uint32_t;
#endif
H
cat > "$TMP/config.h" <<'H'
#define FLOATING_POINT
#define USE_SMALLFT
#define EXPORT __attribute__((visibility("default")))
#define OS_SUPPORT_CUSTOM
H
# No stdio in the module: warnings vanish, a fatal error (an internal assertion) traps.
cat > "$TMP/os_support_custom.h" <<'H'
#define OVERRIDE_SPEEX_FATAL
static inline void _speex_fatal(const char *str, const char *file, int line) { (void)str; (void)file; (void)line; __builtin_trap(); }
#define OVERRIDE_SPEEX_WARNING
static inline void speex_warning(const char *str) { (void)str; }
#define OVERRIDE_SPEEX_WARNING_INT
static inline void speex_warning_int(const char *str, int val) { (void)str; (void)val; }
#define OVERRIDE_SPEEX_NOTIFY
static inline void speex_notify(const char *str) { (void)str; }
#define OVERRIDE_SPEEX_PUTC
static inline void _speex_putc(int ch, void *file) { (void)ch; (void)file; }
H

FUNCS='["_malloc","_free","_speex_echo_state_init","_speex_echo_state_destroy","_speex_echo_cancellation","_speex_echo_state_reset","_speex_echo_ctl","_speex_preprocess_state_init","_speex_preprocess_state_destroy","_speex_preprocess_run","_speex_preprocess_ctl"]'
emcc -O3 -DHAVE_CONFIG_H -I"$TMP" -I"$TMP/speex" -I"$SRC/include" -I"$SRC/libspeexdsp" \
  "$SRC"/libspeexdsp/{mdf.c,preprocess.c,filterbank.c,fftwrap.c,smallft.c} \
  --no-entry -s STANDALONE_WASM=1 -s FILESYSTEM=0 -s ALLOW_MEMORY_GROWTH=1 -s INITIAL_MEMORY=1048576 \
  -s TOTAL_STACK=65536 -s EXPORTED_FUNCTIONS="$FUNCS" -s ERROR_ON_UNDEFINED_SYMBOLS=1 \
  -o "$OUT"
echo "built $OUT ($(stat -c %s "$OUT") bytes) from $(git -C "$SRC" rev-parse HEAD 2>/dev/null || echo 'an unversioned tree')"
