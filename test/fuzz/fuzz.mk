# test/fuzz/fuzz.mk: libFuzzer targets for the parsers of untrusted bytes,
# and the C unit tests built with AddressSanitizer and
# UndefinedBehaviorSanitizer.  Included by the Makefile.
#
#   make fuzz-build    build the fuzz targets (test/fuzz/bin/fuzz_*) and the
#                      sanitized unit tests (test/unit/bin/san/test_*)
#   make fuzz-check    the short, deterministic part that make test runs
#                      (test/fuzz/check): the sanitized unit tests, and each
#                      target over its seed corpus plus a few thousand
#                      mutations with a fixed seed
#   make fuzz          fuzz each target for FUZZ_SECONDS (default 600), one
#                      after the other; FUZZ_TARGETS="snsxml rules" picks
#                      some.  Corpora grow in tmp/fuzz/corpus/<target>,
#                      crashes land in tmp/fuzz/crashes/<target>, logs in
#                      tmp/fuzz/<target>.log.
#   make fuzz-seeds    regenerate the generated seeds after a layout change
#
# Needs clang-14 and libclang-rt-14-dev (test/deps.sh installs them).
# Sanitizers are fatal: UBSan does not recover, so any report fails a run.

FUZZ_CC = clang-14
FUZZ_SECONDS = 600
FUZZ_TARGETS = $(patsubst test/fuzz/fuzz_%.c,%,$(sort $(wildcard test/fuzz/fuzz_*.c)))

FUZZ_BIN = test/fuzz/bin
SAN_FLAGS = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
SAN_CFLAGS = -std=gnu99 -O1 -g -Wall -Wextra -Werror -Isrc -Itest/unit $(FE_CPPFLAGS) $(SAN_FLAGS)

# Core objects twice: with the sanitizers only, for the unit tests, and also
# with libFuzzer's coverage instrumentation, for the fuzz targets.
SAN_OBJS = $(patsubst src/%.c,$(FUZZ_BIN)/san/%.o,$(CORE_SRCS))
COV_OBJS = $(patsubst src/%.c,$(FUZZ_BIN)/cov/%.o,$(CORE_SRCS))
FUZZ_BINS = $(patsubst %,$(FUZZ_BIN)/fuzz_%,$(FUZZ_TARGETS))
SAN_UNIT_BINS = $(patsubst %.c,test/unit/bin/san/%,$(notdir $(UNIT_SRCS)))

EXTRA_CLEAN += $(FUZZ_BIN)

$(SAN_OBJS): $(FUZZ_BIN)/san/%.o: src/%.c $(CORE_HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(SAN_CFLAGS) -c -o $@ $<

$(COV_OBJS): $(FUZZ_BIN)/cov/%.o: src/%.c $(CORE_HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(SAN_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

# An archive, so each target links only the core files it uses.
$(FUZZ_BIN)/libcore.a: $(COV_OBJS)
	rm -f $@
	ar rcs $@ $^

$(FUZZ_BIN)/fuzz_%: test/fuzz/fuzz_%.c test/fuzz/fuzz.h $(FUZZ_BIN)/libcore.a $(CORE_HDRS)
	$(FUZZ_CC) $(SAN_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_BIN)/libcore.a $(FE_LIBS) -lcurl -lcrypto -lm

$(SAN_UNIT_BINS): test/unit/bin/san/%: %.c $(SAN_OBJS) $(UNIT_HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(SAN_CFLAGS) -o $@ $< $(SAN_OBJS) $(FE_LIBS) -lcurl -lcrypto -lm

fuzz-build: $(FUZZ_BINS) $(SAN_UNIT_BINS) test/unit/bin/sigv4_vectors.txt

fuzz-check: fuzz-build
	test/fuzz/check

# One target at a time (the machine is shared).  A unit slower than 10 s
# counts as a crash: parsers must be linear, not merely correct.
fuzz: $(FUZZ_BINS)
	@mkdir -p tmp/fuzz
	@for t in $(FUZZ_TARGETS); do \
		mkdir -p tmp/fuzz/corpus/$$t tmp/fuzz/crashes/$$t; \
		dict=; [ -f test/fuzz/$$t.dict ] && dict=-dict=test/fuzz/$$t.dict; \
		echo "fuzzing $$t for $(FUZZ_SECONDS) s (log: tmp/fuzz/$$t.log)"; \
		$(FUZZ_BIN)/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
			-timeout=10 -artifact_prefix=tmp/fuzz/crashes/$$t/ $$dict \
			tmp/fuzz/corpus/$$t test/fuzz/corpus/$$t > tmp/fuzz/$$t.log 2>&1 || \
			{ tail -n 40 tmp/fuzz/$$t.log; exit 1; }; \
		grep -E 'DONE +cov:|^stat::(number_of_executed_units|peak_rss_mb)|^Done' tmp/fuzz/$$t.log; \
	done

.PHONY: fuzz-build fuzz-check fuzz

# Regenerate the generated seeds (profiles, summaries, rule inputs, tree
# ensembles) after a layout change; see test/fuzz/make_seeds.c.  The files
# are committed.
fuzz-seeds: $(SAN_OBJS)
	$(FUZZ_CC) $(SAN_CFLAGS) -o $(FUZZ_BIN)/make_seeds test/fuzz/make_seeds.c $(SAN_OBJS) $(FE_LIBS) -lcurl -lcrypto -lm
	mkdir -p $(addprefix test/fuzz/corpus/,profile_recv profile_in stats_in stats_recv rules trees)
	$(FUZZ_BIN)/make_seeds test/fuzz/corpus

.PHONY: fuzz-seeds
