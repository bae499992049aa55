# The README's two set-up commands. Each installs what is missing (Debian 12), then builds.
#   make run     build, then run the main job on the bundled default: the main window where there
#                is a display; without one, a headless analysis of the bundled demo video that
#                prints a per-AU summary
#   make check   build with warnings as errors, run the default test suites, then the engine
#                and training suites again in an ASan+UBSan build
BUILD      ?= build
ASAN_BUILD ?= build-asan
MESON_TEST ?= meson test --print-errorlogs --num-processes 2

.PHONY: run check deps build build-asan clean

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
	    GSETTINGS_SCHEMA_DIR=$(BUILD)/data $(BUILD)/ui/mimica; \
	else \
	    echo "make run: no display: analysing the demo video $(DEMO_VIDEO) headless"; \
	    $(BUILD)/app/cli/mimica-cli analyze $(DEMO_VIDEO) -o $(BUILD)/demo --summary; \
	fi

check: build
	$(MESON_TEST) -C $(BUILD)
	@test -f $(ASAN_BUILD)/build.ninja || meson setup $(ASAN_BUILD) --werror \
	    -Db_sanitize=address,undefined -Db_lundef=false -Dapp=disabled -Dgui=disabled
	meson compile -C $(ASAN_BUILD)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	    $(MESON_TEST) -C $(ASAN_BUILD) --suite engine --suite training

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
