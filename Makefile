# The project's commands; see README.md.
.PHONY: test fuzz public-api

# Everything: installs what is missing, starts a throwaway PostgreSQL, runs every suite
# (and each fuzz target for a short smoke time).
test:
	bash scripts/test.sh

# Each fuzz target for FUZZ_SECONDS (default 300) seconds.
FUZZ_SECONDS ?= 300
fuzz:
	VAS_INSTALL_CARGO_FUZZ=1 bash scripts/install-deps.sh
	bash scripts/fuzz.sh full $(FUZZ_SECONDS)

# Rewrites vas/public-api.txt after an intended change to the public API (make test fails
# while the file and the crate disagree).
public-api:
	bash scripts/public-api.sh --update
