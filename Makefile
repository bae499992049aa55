# The README's two set-up commands. Each installs what is missing (Debian 12), then builds.
#   make run     build, then run the main job on the bundled default: the main window on the demo
#                project (scripts/demo-project) where there is a display; without one, a headless analysis of the bundled demo video that
#                prints a per-AU summary
#   make check   build with warnings as errors, run the default test suites, then the engine,
#                training and app suites again in an ASan+UBSan build (leak checks on;
#                tests/lsan.supp lists the third-party leaks we cannot free)
BUILD      ?= build
ASAN_BUILD ?= build-sanitize
MESON_TEST ?= meson test --print-errorlogs --num-processes 2

.PHONY: run check deps build build-asan clean fuzz check-tsan

deps:
	scripts/install-deps

$(BUILD)/build.ninja:
	scripts/install-deps
	meson setup $(BUILD) --werror

build: deps $(BUILD)/build.ninja
	meson compile -C $(BUILD)

DEMO_VIDEO ?= data/demo/mimica-demo.mp4

run: build
	@if [ -n "$${DISPLAY:-}$${WAYLAND_DISPLAY:-}" ] && [ -x $(BUILD)/ui/mimica ]; then \
	    scripts/demo-project $(BUILD) $(BUILD)/demo/demo.mimica && \
	    GSETTINGS_SCHEMA_DIR=$(BUILD)/data $(BUILD)/ui/mimica $(BUILD)/demo/demo.mimica; \
	else \
	    echo "make run: no display: analysing the demo video $(DEMO_VIDEO) headless"; \
	    $(BUILD)/app/cli/mimica-cli analyze $(DEMO_VIDEO) -o $(BUILD)/demo --summary; \
	fi

check: build
	$(MESON_TEST) -C $(BUILD)
	@test -f $(ASAN_BUILD)/build.ninja || meson setup $(ASAN_BUILD) --werror \
	    -Db_sanitize=address,undefined -Db_lundef=false -Dgui=disabled
	meson compile -C $(ASAN_BUILD)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	    $(MESON_TEST) -C $(ASAN_BUILD) --suite engine --suite training --suite app

# make fuzz   libFuzzer targets of every parser (tests/fuzz; TESTING.md "Fuzzing"), one after the
#             other, each for FUZZ_SECONDS, in a clang ASan+UBSan build of its own ($(FUZZ_BUILD):
#             gui, CUDA and oneDNN off; $(BUILD) and $(ASAN_BUILD) are not touched):
#               labels-csv, openface-csv  the CSV importers, then the exports
#               image        JPEG/PNG decoding          media    open, index, decode, seek
#               safetensors  model files, checkpoints   dlib-dat shape predictor + a prediction
#               cascade      OpenCV XML + a detection   pack     open, every record, transforms
#               adld         pack import-adld lists     elan     ELAN .eaf import; CSV in, .eaf out
#             The corpora grow in $(FUZZ_BUILD)/corpus/<target>, seeded from tests/fuzz/corpus
#             (the JPEGs of ../shared/fixtures join the image seeds when present; elan also reads
#             the labels-csv seeds). A crash, leak, UB report, hang (10 s) or more than 2 GiB stops
#             that target with the input saved as $(FUZZ_BUILD)/crash-* (leak-*, timeout-*,
#             oom-*); the others still run, and the last line says which failed.
FUZZ_BUILD   ?= build-fuzz
FUZZ_SECONDS ?= 30
FUZZ_TARGETS ?= labels-csv openface-csv image media safetensors dlib-dat cascade pack adld elan

fuzz: deps
	@test -f $(FUZZ_BUILD)/build.ninja || CC=clang CXX=clang++ meson setup $(FUZZ_BUILD) \
	    -Db_sanitize=address,undefined -Db_lundef=false -Dgui=disabled -Dcuda=disabled \
	    -Donednn=disabled -Dc_args=-fsanitize=fuzzer-no-link --buildtype=debugoptimized
	ninja -C $(FUZZ_BUILD) $(addprefix tests/app/fuzz-,$(FUZZ_TARGETS))
	@failed=""; for t in $(FUZZ_TARGETS); do \
	    mkdir -p $(FUZZ_BUILD)/corpus/$$t; \
	    seeds=tests/fuzz/corpus/$$t; opts=""; \
	    case $$t in \
	    image) cp ../shared/fixtures/faces/images/*.jpg $(FUZZ_BUILD)/corpus/$$t/ \
	        2>/dev/null || true;; \
	    adld) opts=-close_fd_mask=3;; \
	    elan) seeds="$$seeds tests/fuzz/corpus/labels-csv";; \
	    esac; \
	    echo "fuzz-$$t: $(FUZZ_SECONDS) s"; \
	    ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	    $(FUZZ_BUILD)/tests/app/fuzz-$$t -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 \
	        -timeout=10 -artifact_prefix=$(FUZZ_BUILD)/ -print_final_stats=1 $$opts \
	        $(FUZZ_BUILD)/corpus/$$t $$seeds || failed="$$failed $$t"; \
	done; \
	if [ -n "$$failed" ]; then echo "fuzz: FAILED:$$failed (inputs in $(FUZZ_BUILD)/)"; exit 1; fi; \
	echo "fuzz: $(words $(FUZZ_TARGETS)) targets, $(FUZZ_SECONDS) s each, all clean"

# make check-tsan   the threaded parts under ThreadSanitizer (gcc, -Dgui=disabled, $(TSAN_BUILD)):
#             app-jobs (the job runner's thread), app-media-source (the decode thread) and
#             app-analysis (the pipeline's decode, tracking and AU threads, in mimica-cli).
#             GLib 2.74 implements GMutex, GCond, GAsyncQueue and source dispatch on futexes TSan
#             cannot see, so tests/tsan-glib.c (LD_PRELOADed) tells TSan the edges they make;
#             G_SLICE=always-malloc keeps GSlice from recycling blocks between threads behind its
#             back; tests/tsan.supp lists third-party internals only (FFmpeg, x264/x265, GLib's
#             own frees), each with its reason. Reports go to $(TSAN_BUILD)/tsan-logs (mimica-cli
#             children included); any report fails the target. About 12 min on 2 cores.
TSAN_BUILD ?= build-tsan
TSAN_TESTS ?= app-jobs app-media-source app-analysis

check-tsan:
	@test -f $(TSAN_BUILD)/build.ninja || CC=gcc meson setup $(TSAN_BUILD) --werror \
	    -Db_sanitize=thread -Db_lundef=false -Dgui=disabled -Dcuda=disabled -Donednn=disabled \
	    --buildtype=debugoptimized
	ninja -C $(TSAN_BUILD) app/cli/mimica-cli tests/app/test-app-jobs \
	    tests/app/test-app-media-source tests/app/test-app-analysis
	gcc -shared -fPIC -O1 -Wall -Werror -o $(TSAN_BUILD)/libtsan-glib.so tests/tsan-glib.c \
	    $$(pkg-config --cflags --libs gobject-2.0) -ldl -l:libtsan.so.2
	rm -rf $(TSAN_BUILD)/tsan-logs && mkdir -p $(TSAN_BUILD)/tsan-logs
	G_SLICE=always-malloc \
	TSAN_OPTIONS="suppressions=$(CURDIR)/tests/tsan.supp log_path=$(CURDIR)/$(TSAN_BUILD)/tsan-logs/report exitcode=0 history_size=4" \
	    $(MESON_TEST) -C $(TSAN_BUILD) --no-rebuild --timeout-multiplier 3 \
	    --wrapper "env LD_PRELOAD=$(CURDIR)/$(TSAN_BUILD)/libtsan-glib.so" $(TSAN_TESTS)
	@n=$$(ls $(TSAN_BUILD)/tsan-logs | wc -l); \
	if [ $$n -gt 0 ]; then cat $(TSAN_BUILD)/tsan-logs/*; \
	    echo "check-tsan: $$n processes reported races ($(TSAN_BUILD)/tsan-logs)"; exit 1; fi; \
	echo "check-tsan: no races reported"

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
