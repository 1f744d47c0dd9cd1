# Thin entry points; the real build is CMake (CMakePresets.json).
#   make run         install deps, build (release), serve with the embedded default config
#   make test        install deps, build (gcc + ASan/UBSan), run every test (ctest + pytest)
#   make werror      build the cloudsdial binary with gcc -O2, no sanitizer, warnings as errors
#   make fuzz        build the clang-14 libFuzzer binaries (warnings as errors)
#   make fuzz-smoke  run each fuzzer for FUZZ_SECONDS (default 60)
#   make fuzz-run TARGET=x SECONDS=n   fuzz one target (FUZZ_ARGS="-jobs=2" etc. for libFuzzer)
#   make fuzz-merge [TARGET=x]          promote new coverage from fuzz/*/corpus into seeds/
#   make fuzz-coverage [TARGET=x]       llvm-cov HTML + summary in build/fuzz-coverage/
#   make fuzz-triage [ARTEFACTS=...]    crash artefacts -> deduped, minimised fuzz/*/regressions/
#   (docs/FUZZING.md; .clusterfuzzlite/build.sh for OSS-Fuzz/ClusterFuzzLite)
#   make bench       build release and run the benchmarks
#   make install     build release, install binary, man pages, unit, /etc config (PREFIX, DESTDIR)
#   make deb         build the Debian package (dpkg-buildpackage -b) into build/deb/
#   make deb-test    build the package, install it, serve one mail as user cloudsdial, purge it
JOBS ?= $(shell nproc)
FUZZ_SECONDS ?= 60
SECONDS ?= $(FUZZ_SECONDS)
PREFIX ?= /usr/local
DESTDIR ?=
export CCACHE_DIR ?= $(HOME)/.cache/ccache
# Let clones in other directories (CI) share the cache: paths are hashed relative to here.
export CCACHE_BASEDIR ?= $(CURDIR)
export CCACHE_NOHASHDIR ?= 1

.PHONY: deps run build-release build-test test werror install deb deb-test fuzz fuzz-smoke fuzz-run fuzz-merge fuzz-coverage fuzz-triage bench bench-relay bench-imap bench-pop3 clean

deps:
	@bash ci/install-deps.sh

build-release: deps
	@cmake --preset release >/dev/null
	@cmake --build build/release -j $(JOBS) --target cloudsdial

run: build-release
	./build/release/app/cloudsdial serve

build-test: deps
	@cmake --preset asan >/dev/null
	@cmake --build build/asan -j $(JOBS)

test: build-test
	cd build/asan && ctest --output-on-failure -j $(JOBS) --timeout 600

# ASan's instrumentation hides some GCC warnings (-Wrestrict, and -Wmaybe-uninitialized is
# off under it, cmake/Warnings.cmake): what `make run` builds is built once more, plain -O2
# -Werror (the server libraries, the simulator, the conformance runner and the CLI).
werror: deps
	@cmake --preset werror >/dev/null
	@cmake --build build/werror -j $(JOBS) --target cloudsdial

# Installs <PREFIX>/sbin/cloudsdial, <PREFIX>/share/man/man{5,8}, the unit in
# <PREFIX>/lib/systemd/system and /etc/cloudsdial/cloudsdial.toml (kept if it exists, unless
# DESTDIR is set), and nothing else (dist/CMakeLists.txt, docs/OPERATIONS.md).
install: build-release
	DESTDIR="$(DESTDIR)" cmake --install build/release --prefix "$(PREFIX)"

# The Debian package (debian/): gcc -O3 with dpkg's hardening flags and -Werror, the
# cloudsdial target only. dpkg-buildpackage writes next to the source tree; the files are
# moved to build/deb/.
deb: deps
	@rm -rf build/deb && mkdir -p build/deb
	DEB_BUILD_OPTIONS="nocheck parallel=$(JOBS)" dpkg-buildpackage -us -uc -b
	@v=$$(dpkg-parsechangelog -S Version); \
	  for f in ../cloudsdial_$$v* ../cloudsdial-dbgsym_$$v*; do [ -e "$$f" ] && mv "$$f" build/deb/; done; \
	  ls build/deb

# Installs the package on this machine, serves one mail as the user cloudsdial, removes
# and purges it (dist/test-deb.sh; root, no systemd needed). CI runs it instead of werror.
deb-test: deb
	bash dist/test-deb.sh build/deb

fuzz: deps
	@cmake --preset fuzz >/dev/null
	@cmake --build build/fuzz -j $(JOBS) --target fuzzers

fuzz-smoke: fuzz
	FUZZ_SECONDS=$(FUZZ_SECONDS) bash fuzz/smoke.sh build/fuzz

fuzz-run: fuzz
	@test -n "$(TARGET)" || { echo "usage: make fuzz-run TARGET=<name> SECONDS=<n>"; exit 2; }
	bash fuzz/run.sh build/fuzz $(TARGET) $(SECONDS) $(FUZZ_ARGS)

fuzz-merge: fuzz
	bash fuzz/merge.sh build/fuzz $(TARGET)

# a separate clang-14 build with -fprofile-instr-generate -fcoverage-mapping (no sanitizer)
fuzz-coverage: deps
	JOBS=$(JOBS) bash fuzz/coverage.sh build/fuzz-coverage $(TARGET)

fuzz-triage: fuzz
	FUZZ_BUILD_DIR=build/fuzz bash fuzz/triage.sh $(ARTEFACTS)

bench: deps
	@cmake --preset release -DMAIL_BUILD_BENCH=ON >/dev/null
	@cmake --build build/release -j $(JOBS)
	bash bench/run.sh build/release

# the relay benchmark alone (issue 13): RELAY_ARGS="-q" for a smoke test
bench-relay: deps
	@cmake --preset release -DMAIL_BUILD_BENCH=ON >/dev/null
	@cmake --build build/release -j $(JOBS) --target cloudsdial
	bash bench/relay/run.sh $(RELAY_ARGS) build/release/app/cloudsdial

# the IMAP benchmark beside the peer Dovecot (issue 14): IMAP_ARGS="-q" for a smoke test
bench-imap: deps
	@cmake --preset release -DMAIL_BUILD_BENCH=ON >/dev/null
	@cmake --build build/release -j $(JOBS) --target cloudsdial
	bash bench/imap/run.sh $(IMAP_ARGS) build/release/app/cloudsdial

# the POP3 benchmark beside the peer Dovecot (issue 15): POP3_ARGS="-q" for a smoke test
bench-pop3: deps
	@cmake --preset release -DMAIL_BUILD_BENCH=ON >/dev/null
	@cmake --build build/release -j $(JOBS) --target cloudsdial
	bash bench/pop3/run.sh $(POP3_ARGS) build/release/app/cloudsdial

clean:
	rm -rf build
