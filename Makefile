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

.PHONY: run check deps build build-asan clean fuzz

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

# make fuzz   libFuzzer targets of the parsers (tests/fuzz: labels CSV, OpenFace CSV, JPEG/PNG,
#             media open-and-decode) in a clang ASan+UBSan build, each for FUZZ_SECONDS; the
#             corpora grow in $(FUZZ_BUILD)/corpus, seeded from tests/fuzz/corpus (and JPEGs of
#             ../shared/fixtures when present); a crash stops with the input saved there
FUZZ_BUILD   ?= build-fuzz
FUZZ_SECONDS ?= 30
FUZZ_TARGETS ?= labels-csv openface-csv image media

fuzz:
	@test -f $(FUZZ_BUILD)/build.ninja || CC=clang CXX=clang++ meson setup $(FUZZ_BUILD) \
	    -Db_sanitize=address,undefined -Db_lundef=false -Dgui=disabled -Dcuda=disabled \
	    -Donednn=disabled -Dc_args=-fsanitize=fuzzer-no-link --buildtype=debugoptimized
	ninja -C $(FUZZ_BUILD) $(addprefix tests/app/fuzz-,$(FUZZ_TARGETS))
	@for t in $(FUZZ_TARGETS); do \
	    mkdir -p $(FUZZ_BUILD)/corpus/$$t; \
	    if [ $$t = image ]; then cp ../shared/fixtures/faces/images/*.jpg \
	        $(FUZZ_BUILD)/corpus/$$t/ 2>/dev/null || true; fi; \
	    echo "fuzz-$$t: $(FUZZ_SECONDS) s"; \
	    ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	    $(FUZZ_BUILD)/tests/app/fuzz-$$t -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 \
	        -timeout=10 -artifact_prefix=$(FUZZ_BUILD)/ -print_final_stats=1 \
	        $(FUZZ_BUILD)/corpus/$$t tests/fuzz/corpus/$$t || exit 1; \
	done

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
