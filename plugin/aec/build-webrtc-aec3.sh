#!/usr/bin/env bash
# Builds WebRTC's AEC3 echo canceller (webrtc::EchoCanceller3, the canceller in Chrome: partitioned-block
# frequency-domain adaptive filters, a matched-filter delay estimator, a residual echo suppressor with a reverb
# model) behind the C shim webrtc-aec3-shim.cc into one standalone WebAssembly module with no JavaScript glue,
# for plugin/aec/webrtc-aec3.ts.
#
#   bash plugin/aec/build-webrtc-aec3.sh /path/to/webrtc-audio-processing /path/to/abseil-cpp [out.wasm]
#
# It fetches nothing: pass a checkout of freedesktop's webrtc-audio-processing (the meson-packaged copy of
# WebRTC's audio processing module, https://gitlab.freedesktop.org/pulseaudio/webrtc-audio-processing; mirrored
# at https://github.com/dignifiedquire/webrtc-audio-processing) and of https://github.com/abseil/abseil-cpp.
# The committed plugin/aec/webrtc-aec3.wasm was built with Debian's emscripten 3.1.6 from
#   webrtc-audio-processing d0569cfa50c1858ee279d77b3fc8870be6902441 (2025-11-10, "examples: Use 48 kHz by
#     default": upstream v2.1 plus fixes, the last freedesktop commit in that mirror; later commits there are a
#     fork's)
#   abseil-cpp 4447c7562e3bc702ade25105912dce503f0c4010 (tag 20240722.0, the version its meson wrap pins)
# Only absl headers are used (C++17: absl's optional/string_view/variant are std's); no absl .cc is linked.
# WebRTC is BSD-licensed with a patent grant, abseil Apache-2.0: COPYING.webrtc beside the .wasm holds both.
#
# Configuration: generic C++ (no SSE/NEON/AVX paths: WebAssembly defines no WEBRTC_ARCH_*_FAMILY), no logging
# (RTC_DISABLE_LOGGING), no check messages (a failed RTC_CHECK traps: the shim replaces rtc_base/checks.cc), no
# metrics histograms or field trials beyond their empty defaults, no debug dumps, single-threaded.
# JOBS (default 2) compiles that many files at a time; nice it on a small machine.
set -euo pipefail
SRC=${1:?usage: build-webrtc-aec3.sh WEBRTC_AUDIO_PROCESSING_DIR ABSEIL_CPP_DIR [OUT.wasm]}
ABSL=${2:?usage: build-webrtc-aec3.sh WEBRTC_AUDIO_PROCESSING_DIR ABSEIL_CPP_DIR [OUT.wasm]}
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${3:-$HERE/webrtc-aec3.wasm}
JOBS=${JOBS:-2}
W=$SRC/webrtc
[ -f "$W/modules/audio_processing/aec3/echo_canceller3.cc" ] || { echo "no webrtc/modules/audio_processing/aec3 under $SRC" >&2; exit 1; }
[ -f "$ABSL/absl/base/config.h" ] || { echo "no absl/base/config.h under $ABSL" >&2; exit 1; }
command -v em++ >/dev/null || { echo "em++ not found (apt-get install -y emscripten)" >&2; exit 1; }

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

APM=modules/audio_processing
SOURCES=(
  $(cd "$W" && ls $APM/aec3/*.cc | grep -v -E '_(avx2|neon|sse2?)\.cc$')
  $APM/audio_buffer.cc
  $APM/splitting_filter.cc
  $APM/three_band_filter_bank.cc
  $APM/high_pass_filter.cc
  $APM/utility/cascaded_biquad_filter.cc
  $APM/logging/apm_data_dumper.cc
  common_audio/audio_util.cc
  common_audio/channel_buffer.cc
  common_audio/resampler/push_sinc_resampler.cc
  common_audio/resampler/sinc_resampler.cc
  common_audio/signal_processing/splitting_filter.c
  common_audio/signal_processing/resample_by_2_internal.c
  common_audio/signal_processing/spl_inl.c
  common_audio/third_party/ooura/fft_size_128/ooura_fft.cc
  common_audio/third_party/spl_sqrt_floor/spl_sqrt_floor.c
  api/audio/echo_canceller3_config.cc
  rtc_base/memory/aligned_malloc.cc
  rtc_base/race_checker.cc
  rtc_base/platform_thread_types.cc
  rtc_base/experiments/field_trial_parser.cc
  rtc_base/string_encode.cc
  rtc_base/string_to_number.cc
  system_wrappers/source/field_trial.cc
  system_wrappers/source/metrics.cc
  system_wrappers/source/cpu_features.cc
)
DEFS=(-DNDEBUG -DWEBRTC_POSIX -DWEBRTC_LIBRARY_IMPL -DWEBRTC_APM_DEBUG_DUMP=0 -DRTC_DISABLE_LOGGING
  -DRTC_DISABLE_CHECK_MSG -DRTC_DISABLE_METRICS -DWAP_DISABLE_INLINE_SSE)
# EXTRA_DEFS: e.g. "-UNDEBUG -DRTC_DCHECK_IS_ON=1 -URTC_DISABLE_CHECK_MSG" for a debug build whose failed checks
# (DCHECKs too) record file and line (aec3_failed_check_file/line). Not for the committed module.
read -r -a EXTRA <<<"${EXTRA_DEFS:-}"
DEFS+=("${EXTRA[@]}")
INC=(-I"$W" -I"$ABSL")

compile() { # src obj
  case $1 in
    *.c) emcc -std=c11 -O3 "${DEFS[@]}" "${INC[@]}" -c "$1" -o "$2" ;;
    *) em++ -std=c++17 -O3 -fno-exceptions -fno-rtti "${DEFS[@]}" "${INC[@]}" -c "$1" -o "$2" ;;
  esac
}
ALL=("${SOURCES[@]/#/$W/}" "$HERE/webrtc-aec3-shim.cc")
OBJS=()
for s in "${ALL[@]}"; do
  o=$TMP/$(basename "${s%.*}").$(echo "$s" | cksum | cut -d' ' -f1).o
  OBJS+=("$o")
  while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n || true; done
  compile "$s" "$o" &
done
wait
for o in "${OBJS[@]}"; do [ -f "$o" ] || { echo "a compilation failed (see above)" >&2; exit 1; }; done

FUNCS='["_malloc","_free","_aec3_config_new","_aec3_config_free","_aec3_config_set","_aec3_config_get","_aec3_config_validate","_aec3_create","_aec3_destroy","_aec3_render_ptr","_aec3_capture_ptr","_aec3_frame_samples","_aec3_process_rate","_aec3_analyze_render","_aec3_process_capture","_aec3_set_external_delay","_aec3_metrics","_aec3_set_field_trials","_aec3_failed_check_file","_aec3_failed_check_line"]'
em++ -O3 "${OBJS[@]}" \
  --no-entry -s STANDALONE_WASM=1 -s FILESYSTEM=0 -s ALLOW_MEMORY_GROWTH=1 -s INITIAL_MEMORY=4194304 \
  -s TOTAL_STACK=262144 -s EXPORTED_FUNCTIONS="$FUNCS" -s ERROR_ON_UNDEFINED_SYMBOLS=1 \
  -s DISABLE_EXCEPTION_CATCHING=1 \
  -o "$OUT"
echo "built $OUT ($(stat -c %s "$OUT") bytes) from $(git -C "$SRC" rev-parse HEAD 2>/dev/null || echo 'an unversioned tree')" \
  "and abseil $(git -C "$ABSL" rev-parse HEAD 2>/dev/null || echo '(unversioned)')"
