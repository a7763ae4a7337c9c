# The project's one test command; see README.md.
.PHONY: test

test:
	bash scripts/test.sh
