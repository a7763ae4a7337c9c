# The project's commands; see README.md.
.PHONY: test fuzz public-api

# Everything: installs what is missing, starts a throwaway PostgreSQL, runs every suite
# (and each fuzz target for a short smoke time).
test:
	bash scripts/test.sh

# Rewrites every file made from the engine's description (vas::description): the C ABI's
# generated half and include/vas.h, the Python and uniffi bindings' generated halves and
# stubs, docs/api.md. make test fails while a committed copy is stale.
.PHONY: generate
generate:
	cargo run --locked -p vas-gen -- write

# Each fuzz target for FUZZ_SECONDS (default 300) seconds.
FUZZ_SECONDS ?= 300
fuzz:
	VAS_INSTALL_CARGO_FUZZ=1 bash scripts/install-deps.sh
	bash scripts/fuzz.sh full $(FUZZ_SECONDS)

# Rewrites vas/public-api.txt after an intended change to the public API (make test fails
# while the file and the crate disagree).
public-api:
	bash scripts/public-api.sh --update

# Regenerates the C ABI's generated files from the engine's description (with the other
# shells': vas-gen writes them all, as `make generate`): vas-ffi/src/generated.rs,
# vas-ffi/src/result.rs and include/vas.h (cbindgen). make test fails while they are stale.
.PHONY: header vas.pc install
header:
	cargo run --locked -p vas-gen -- write

# pkg-config for the C ABI in the build tree: target/pkgconfig/vas.pc (include/ and
# target/$(PROFILE)/), so `PKG_CONFIG_PATH=target/pkgconfig cc $(pkg-config --cflags --libs vas)`
# works without installing. Build the library first: cargo build --release -p vas-ffi.
PROFILE ?= release
vas.pc:
	bash scripts/vas-pc.sh target/pkgconfig/vas.pc "$(CURDIR)" "$(CURDIR)/include" "$(CURDIR)/target/$(PROFILE)" rpath

# Installs the C ABI under $(PREFIX): include/vas.h, lib/libvas_ffi.{a,so} and
# lib/pkgconfig/vas.pc (the default PREFIX, /usr/local, is on pkg-config's default path).
PREFIX ?= /usr/local
install:
	install -d "$(PREFIX)/include" "$(PREFIX)/lib/pkgconfig"
	install -m 0644 include/vas.h "$(PREFIX)/include/vas.h"
	install -m 0644 target/$(PROFILE)/libvas_ffi.a "$(PREFIX)/lib/libvas_ffi.a"
	install -m 0755 target/$(PROFILE)/libvas_ffi.so "$(PREFIX)/lib/libvas_ffi.so"
	bash scripts/vas-pc.sh "$(PREFIX)/lib/pkgconfig/vas.pc" "$(PREFIX)" "$(PREFIX)/include" "$(PREFIX)/lib"

# Generates the uniffi bindings (Kotlin, Swift, Python) into target/bindings/{kotlin,swift,python}/
# with the crate's own uniffi-bindgen, from target/debug/libvas_uniffi.so (built with the demo
# feature). Build output, not committed; make test generates and tests them the same way.
.PHONY: bindings
bindings:
	bash scripts/uniffi.sh generate
