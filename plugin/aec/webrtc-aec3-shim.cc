// C API over WebRTC's AEC3 (webrtc::EchoCanceller3) for plugin/aec/webrtc-aec3.ts, built by build-webrtc-aec3.sh.
//
// One mono render (far end: what the speakers played) and one mono capture (near end: the microphone) stream,
// 10 ms at a time, fed the way audio_processing_impl.cc feeds AEC3: each stream enters a webrtc::AudioBuffer at
// the API rate (e.g. 24 kHz, floats in [-1, 1]; AudioBuffer scales to int16 range), is resampled to the
// processing rate AudioProcessing would pick (16, 32 or 48 kHz: 32 kHz for 24 kHz), split into 16 kHz bands,
// and the capture is optionally high-pass filtered (as AudioProcessing enforces with AEC3), cancelled,
// merged and resampled back.
//
//   aec3_config_new() → cfg        EchoCanceller3Config with its defaults
//   aec3_config_set(cfg, name, v)  one knob by name (NUL-terminated ASCII in linear memory); 0 if unknown
//   aec3_create(cfg, rateHz, hpf)  → handle (0 on a bad rate); cfg may be freed afterwards
//   aec3_render_ptr / aec3_capture_ptr / aec3_frame_samples  the 10 ms float buffers to fill
//   aec3_analyze_render(h)         the render buffer → AEC3
//   aec3_process_capture(h, lvl)   the capture buffer, echo removed in place (lvl: the echo path gain changed)
//   aec3_set_external_delay(h, ms) with delay.use_external_delay_estimator: the bulk delay
//   aec3_metrics(h, double[3])     ERL dB, ERLE dB, delay ms (AEC3's own estimates)
//   aec3_set_field_trials(str)     WebRTC field trials ("WebRTC-Aec3…/Enabled/"), for instances created later
//   aec3_failed_check_file/line()  where the last failed RTC_CHECK was (after a trap)
//   aec3_destroy(h), aec3_config_free(cfg)
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <optional>

#include "api/audio/audio_processing.h"
#include "api/audio/echo_canceller3_config.h"
#include "modules/audio_processing/aec3/echo_canceller3.h"
#include "modules/audio_processing/audio_buffer.h"
#include "modules/audio_processing/high_pass_filter.h"
#include "rtc_base/checks.h"
#include "system_wrappers/include/field_trial.h"

#define EXPORT extern "C" __attribute__((visibility("default"), used))

namespace {

using webrtc::AudioBuffer;
using webrtc::EchoCanceller3;
using webrtc::EchoCanceller3Config;
using webrtc::StreamConfig;

struct Aec3 {
  int api_rate;
  int proc_rate;
  int frame;  // api samples per 10 ms
  StreamConfig api_config;
  std::unique_ptr<AudioBuffer> render;
  std::unique_ptr<AudioBuffer> capture;
  std::unique_ptr<EchoCanceller3> aec;
  std::unique_ptr<webrtc::HighPassFilter> hpf;
  float* render_data;
  float* capture_data;
};

// The rate AudioProcessing processes at for a given API rate, band splitting required (SuitableProcessRate).
int ProcessRate(int api_rate) {
  for (int rate : {16000, 32000, 48000})
    if (rate >= api_rate) return rate;
  return 48000;
}

enum Kind { kSize, kFloat, kInt, kBool };
struct Knob {
  const char* name;
  Kind kind;
  size_t offset;
};

#define KNOB(kind, path) {#path, kind, offsetof(EchoCanceller3Config, path)}
// offsetof on nested members of a standard-layout aggregate: fine with clang.
#pragma clang diagnostic ignored "-Winvalid-offsetof"
const Knob kKnobs[] = {
    KNOB(kSize, filter.refined.length_blocks),
    KNOB(kFloat, filter.refined.leakage_converged),
    KNOB(kFloat, filter.refined.leakage_diverged),
    KNOB(kFloat, filter.refined.error_floor),
    KNOB(kFloat, filter.refined.error_ceil),
    KNOB(kSize, filter.coarse.length_blocks),
    KNOB(kFloat, filter.coarse.rate),
    KNOB(kSize, filter.refined_initial.length_blocks),
    KNOB(kFloat, filter.refined_initial.leakage_converged),
    KNOB(kFloat, filter.refined_initial.leakage_diverged),
    KNOB(kSize, filter.coarse_initial.length_blocks),
    KNOB(kFloat, filter.coarse_initial.rate),
    KNOB(kSize, filter.config_change_duration_blocks),
    KNOB(kFloat, filter.initial_state_seconds),
    KNOB(kInt, filter.coarse_reset_hangover_blocks),
    KNOB(kBool, filter.conservative_initial_phase),
    KNOB(kBool, filter.enable_coarse_filter_output_usage),
    KNOB(kBool, filter.use_linear_filter),
    KNOB(kBool, filter.high_pass_filter_echo_reference),
    KNOB(kSize, delay.default_delay),
    KNOB(kSize, delay.down_sampling_factor),
    KNOB(kSize, delay.num_filters),
    KNOB(kSize, delay.delay_headroom_samples),
    KNOB(kSize, delay.hysteresis_limit_blocks),
    KNOB(kSize, delay.fixed_capture_delay_samples),
    KNOB(kFloat, delay.delay_estimate_smoothing),
    KNOB(kFloat, delay.delay_estimate_smoothing_delay_found),
    KNOB(kFloat, delay.delay_candidate_detection_threshold),
    KNOB(kInt, delay.delay_selection_thresholds.initial),
    KNOB(kInt, delay.delay_selection_thresholds.converged),
    KNOB(kBool, delay.use_external_delay_estimator),
    KNOB(kBool, delay.detect_pre_echo),
    KNOB(kFloat, erle.min),
    KNOB(kFloat, erle.max_l),
    KNOB(kFloat, erle.max_h),
    KNOB(kBool, erle.onset_detection),
    KNOB(kSize, erle.num_sections),
    KNOB(kFloat, ep_strength.default_gain),
    KNOB(kFloat, ep_strength.default_len),
    KNOB(kFloat, ep_strength.nearend_len),
    KNOB(kBool, ep_strength.echo_can_saturate),
    KNOB(kBool, ep_strength.bounded_erl),
    KNOB(kFloat, echo_audibility.low_render_limit),
    KNOB(kFloat, echo_audibility.normal_render_limit),
    KNOB(kFloat, echo_audibility.floor_power),
    KNOB(kFloat, render_levels.active_render_limit),
    KNOB(kFloat, render_levels.poor_excitation_render_limit),
    KNOB(kFloat, render_levels.render_power_gain_db),
    KNOB(kBool, echo_removal_control.has_clock_drift),
    KNOB(kBool, echo_removal_control.linear_and_stable_echo_path),
    KNOB(kBool, echo_model.model_reverb_in_nonlinear_mode),
    KNOB(kSize, echo_model.render_pre_window_size),
    KNOB(kSize, echo_model.render_post_window_size),
    KNOB(kFloat, comfort_noise.noise_floor_dbfs),
    KNOB(kSize, suppressor.nearend_average_blocks),
    KNOB(kFloat, suppressor.normal_tuning.mask_lf.enr_transparent),
    KNOB(kFloat, suppressor.normal_tuning.mask_lf.enr_suppress),
    KNOB(kFloat, suppressor.normal_tuning.mask_lf.emr_transparent),
    KNOB(kFloat, suppressor.normal_tuning.mask_hf.enr_transparent),
    KNOB(kFloat, suppressor.normal_tuning.mask_hf.enr_suppress),
    KNOB(kFloat, suppressor.normal_tuning.mask_hf.emr_transparent),
    KNOB(kFloat, suppressor.normal_tuning.max_inc_factor),
    KNOB(kFloat, suppressor.normal_tuning.max_dec_factor_lf),
    KNOB(kFloat, suppressor.nearend_tuning.mask_lf.enr_transparent),
    KNOB(kFloat, suppressor.nearend_tuning.mask_lf.enr_suppress),
    KNOB(kFloat, suppressor.nearend_tuning.mask_lf.emr_transparent),
    KNOB(kFloat, suppressor.nearend_tuning.mask_hf.enr_transparent),
    KNOB(kFloat, suppressor.nearend_tuning.mask_hf.enr_suppress),
    KNOB(kFloat, suppressor.nearend_tuning.mask_hf.emr_transparent),
    KNOB(kFloat, suppressor.nearend_tuning.max_inc_factor),
    KNOB(kFloat, suppressor.nearend_tuning.max_dec_factor_lf),
    KNOB(kFloat, suppressor.dominant_nearend_detection.enr_threshold),
    KNOB(kFloat, suppressor.dominant_nearend_detection.enr_exit_threshold),
    KNOB(kFloat, suppressor.dominant_nearend_detection.snr_threshold),
    KNOB(kInt, suppressor.dominant_nearend_detection.hold_duration),
    KNOB(kInt, suppressor.dominant_nearend_detection.trigger_threshold),
    KNOB(kBool, suppressor.dominant_nearend_detection.use_during_initial_phase),
    KNOB(kBool, suppressor.use_subband_nearend_detection),
    KNOB(kFloat, suppressor.high_bands_suppression.enr_threshold),
    KNOB(kFloat, suppressor.high_bands_suppression.max_gain_during_echo),
    KNOB(kFloat, suppressor.floor_first_increase),
    KNOB(kBool, suppressor.conservative_hf_suppression),
};

}  // namespace

EXPORT void* aec3_config_new() { return new (std::nothrow) EchoCanceller3Config(); }

EXPORT void aec3_config_free(void* cfg) { delete static_cast<EchoCanceller3Config*>(cfg); }

// Sets one knob (see kKnobs) to `value` (sizes and ints rounded, bools: non-zero). Returns 1, or 0 if unknown.
EXPORT int aec3_config_set(void* cfg, const char* name, double value) {
  char* base = reinterpret_cast<char*>(static_cast<EchoCanceller3Config*>(cfg));
  for (const Knob& k : kKnobs) {
    if (std::strcmp(k.name, name) != 0) continue;
    void* p = base + k.offset;
    switch (k.kind) {
      case kSize: *static_cast<size_t*>(p) = value < 0 ? 0 : static_cast<size_t>(value + 0.5); break;
      case kFloat: *static_cast<float*>(p) = static_cast<float>(value); break;
      case kInt: *static_cast<int*>(p) = static_cast<int>(value < 0 ? value - 0.5 : value + 0.5); break;
      case kBool: *static_cast<bool*>(p) = value != 0; break;
    }
    return 1;
  }
  return 0;
}

// Reads one knob back (NaN if unknown), e.g. to see what Validate() made of it.
EXPORT double aec3_config_get(void* cfg, const char* name) {
  const char* base = reinterpret_cast<const char*>(static_cast<EchoCanceller3Config*>(cfg));
  for (const Knob& k : kKnobs) {
    if (std::strcmp(k.name, name) != 0) continue;
    const void* p = base + k.offset;
    switch (k.kind) {
      case kSize: return static_cast<double>(*static_cast<const size_t*>(p));
      case kFloat: return *static_cast<const float*>(p);
      case kInt: return *static_cast<const int*>(p);
      case kBool: return *static_cast<const bool*>(p) ? 1 : 0;
    }
  }
  return __builtin_nan("");
}

// Clamps the config into AEC3's accepted ranges (EchoCanceller3Config::Validate). 1 if nothing changed.
EXPORT int aec3_config_validate(void* cfg) {
  return EchoCanceller3Config::Validate(static_cast<EchoCanceller3Config*>(cfg)) ? 1 : 0;
}

EXPORT void* aec3_create(const void* cfg, int sample_rate_hz, int high_pass) {
  if (sample_rate_hz < 8000 || sample_rate_hz > 48000 || sample_rate_hz % 100 != 0) return nullptr;
  EchoCanceller3Config config = cfg ? *static_cast<const EchoCanceller3Config*>(cfg) : EchoCanceller3Config();
  auto* s = new (std::nothrow) Aec3();
  if (!s) return nullptr;
  s->api_rate = sample_rate_hz;
  s->proc_rate = ProcessRate(sample_rate_hz);
  s->frame = sample_rate_hz / 100;
  s->api_config = StreamConfig(sample_rate_hz, 1);
  s->render = std::make_unique<AudioBuffer>(sample_rate_hz, 1, s->proc_rate, 1, s->proc_rate, 1);
  s->capture = std::make_unique<AudioBuffer>(sample_rate_hz, 1, s->proc_rate, 1, sample_rate_hz, 1);
  s->aec = std::make_unique<EchoCanceller3>(config, std::nullopt, s->proc_rate, 1, 1);
  // AudioProcessing enforces a high-pass filter with AEC3, on the lowest split band.
  if (high_pass) s->hpf = std::make_unique<webrtc::HighPassFilter>(s->proc_rate > 16000 ? 16000 : s->proc_rate, 1);
  s->render_data = static_cast<float*>(std::calloc(s->frame, sizeof(float)));
  s->capture_data = static_cast<float*>(std::calloc(s->frame, sizeof(float)));
  return s;
}

EXPORT float* aec3_render_ptr(void* h) { return static_cast<Aec3*>(h)->render_data; }
EXPORT float* aec3_capture_ptr(void* h) { return static_cast<Aec3*>(h)->capture_data; }
EXPORT int aec3_frame_samples(void* h) { return static_cast<Aec3*>(h)->frame; }
EXPORT int aec3_process_rate(void* h) { return static_cast<Aec3*>(h)->proc_rate; }

EXPORT void aec3_analyze_render(void* h) {
  Aec3* s = static_cast<Aec3*>(h);
  const float* channels[1] = {s->render_data};
  s->render->CopyFrom(channels, s->api_config);
  if (s->proc_rate > 16000) s->render->SplitIntoFrequencyBands();
  s->aec->AnalyzeRender(s->render.get());
}

EXPORT void aec3_process_capture(void* h, int level_change) {
  Aec3* s = static_cast<Aec3*>(h);
  float* channels[1] = {s->capture_data};
  s->capture->CopyFrom(channels, s->api_config);
  s->aec->AnalyzeCapture(s->capture.get());
  const bool split = s->proc_rate > 16000;
  if (split) s->capture->SplitIntoFrequencyBands();
  if (s->hpf) s->hpf->Process(s->capture.get(), /*use_split_band_data=*/true);
  s->aec->ProcessCapture(s->capture.get(), nullptr, level_change != 0);
  if (split) s->capture->MergeFrequencyBands();
  s->capture->CopyTo(s->api_config, channels);
}

EXPORT void aec3_set_external_delay(void* h, int delay_ms) { static_cast<Aec3*>(h)->aec->SetAudioBufferDelay(delay_ms); }

EXPORT void aec3_metrics(void* h, double* out) {
  auto m = static_cast<Aec3*>(h)->aec->GetMetrics();
  out[0] = m.echo_return_loss;
  out[1] = m.echo_return_loss_enhancement;
  out[2] = m.delay_ms;
}

EXPORT void aec3_destroy(void* h) {
  Aec3* s = static_cast<Aec3*>(h);
  if (!s) return;
  std::free(s->render_data);
  std::free(s->capture_data);
  delete s;
}

// Field trials (WebRTC-Aec3…: echo_canceller3.cc reads dozens when an instance is created), e.g.
// "WebRTC-Aec3TransparentModeKillSwitch/Enabled/". The string is copied; it applies to instances created later.
EXPORT int aec3_set_field_trials(const char* trials) {
  static char* held = nullptr;
  size_t n = std::strlen(trials);
  char* copy = static_cast<char*>(std::malloc(n + 1));
  if (!copy) return 0;
  std::memcpy(copy, trials, n + 1);
  webrtc::field_trial::InitFieldTrialsFromString(copy);
  std::free(held);
  held = copy;
  return 1;
}

// No stdio in the module: a failed RTC_CHECK traps instead of printing (replaces rtc_base/checks.cc). The build
// defines RTC_DISABLE_CHECK_MSG, so FatalLog gets no file name, only a line; a build with check messages (for
// debugging, e.g. with RTC_DCHECK_IS_ON) also records the file. Declared noreturn in rtc_base/checks.h.
namespace {
const char* g_check_file = "";
int g_check_line = 0;
}  // namespace
EXPORT const char* aec3_failed_check_file() { return g_check_file; }
EXPORT int aec3_failed_check_line() { return g_check_line; }
namespace rtc {
namespace webrtc_checks_impl {
#if RTC_CHECK_MSG_ENABLED
void FatalLog(const char* file, int line, const char*, const CheckArgType*, ...) {
  g_check_file = file;
  g_check_line = line;
  __builtin_trap();
}
#else
void FatalLog(const char* file, int line) {
  g_check_file = file;
  g_check_line = line;
  __builtin_trap();
}
#endif
#if RTC_DCHECK_IS_ON
void UnreachableCodeReached(const char* file, int line) {
  g_check_file = file;
  g_check_line = line;
  __builtin_trap();
}
#else
void UnreachableCodeReached() { __builtin_trap(); }
#endif
}  // namespace webrtc_checks_impl
}  // namespace rtc
extern "C" void rtc_FatalMessage(const char* file, int line, const char*) {
  g_check_file = file;
  g_check_line = line;
  __builtin_trap();
}
