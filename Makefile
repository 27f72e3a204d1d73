# pg_vigil: streaming fraud and anomaly detection inside PostgreSQL.
#
#   make              build the extension (PGXS)
#   make install      install it into PostgreSQL 15
#   make test         install what is missing, build, install, run every suite
#   make demo         start a throwaway cluster and run the demo on it
#   make demo-stop    stop the demo cluster
#   make bench        benchmarks (test/bench), printed as ratios to a baseline
#   make eval         detection against labels on generated data (test/eval/run):
#                     alert rate, precision, recall, PR-AUC per data set
#   make soak         8 clients inserting for 10 minutes against a failing SNS
#                     endpoint (test/soak/run; SOAK_SECONDS=600 by default)
#   make fuzz         fuzz the parsers of untrusted bytes (test/fuzz/fuzz.mk)
#   make deb          the Debian package postgresql-15-vigil (debian/), built
#                     from a copy of the tree in tmp/deb/src; the .deb lands
#                     in tmp/deb/ (docs/packaging.md)
#
# make test and make demo install missing Debian packages themselves (as
# root) before building, so they work on a fresh Debian 12 machine.

EXTENSION = vigil
EXTVERSION = 0.2
MODULE_big = vigil

# Each part of src/ keeps the code that needs no PostgreSQL header in a core/
# directory of its own; the unit tests and fuzz targets link all of them.
CORE_SRCS = $(sort $(wildcard src/core/*.c src/*/core/*.c))
CORE_HDRS = $(wildcard src/core/*.h src/*/core/*.h)
OBJS = src/vigil.o src/guc.o src/redact.o src/utility.o src/plan.o \
	src/stats/stats.o src/stats/stats_agg.o src/stats/stats_moving.o \
	src/detect/profile_type.o src/detect/event.o src/detect/rule_table.o src/detect/score.o \
	src/detect/watch_cache.o src/detect/detect.o src/detect/replica.o src/detect/keyset.o src/detect/profile_write.o \
	src/detect/profile_hint.o src/detect/replay.o src/detect/verify.o src/detect/alert_writer.o \
	src/detect/evaluate.o src/detect/tune.o src/detect/priors.o src/detect/train.o src/detect/xgboost.o \
	src/detect/model.o src/detect/merchant_risk.o src/detect/jsonb_value.o src/detect/alert_store.o \
	src/detect/labels.o src/detect/drift.o \
	src/notify/launcher.o src/notify/notifier.o src/notify/outbox.o src/notify/message.o \
	src/notify/http.o src/notify/sns.o src/notify/credentials.o src/notify/metrics.o \
	$(CORE_SRCS:.c=.o)

# The current version's script is assembled from one piece per feature.
# Released versions are frozen as they shipped (vigil--0.1.sql), and each
# later schema change also goes into the upgrade script from the last
# release, so installed databases follow with ALTER EXTENSION vigil UPDATE.
SQL_PIECES = src/sql/header.sql src/sql/stats.sql src/sql/engine.sql src/sql/watch.sql \
	src/sql/notify.sql src/sql/ops.sql src/sql/metrics.sql src/sql/admin.sql \
	src/sql/verify.sql src/sql/evaluate.sql src/sql/priors.sql src/sql/models.sql \
	src/sql/merchant_risk.sql src/sql/labels.sql src/sql/drift.sql src/sql/replication.sql \
	src/sql/shards.sql
DATA_built = vigil--$(EXTVERSION).sql
DATA = vigil--0.1.sql vigil--0.1--0.2.sql

REGRESS = $(patsubst sql/%.sql,%,$(sort $(wildcard sql/*.sql)))

# -Wextra is for our code: PostgreSQL's own headers are read as system
# headers, so their inline functions' unused parameters do not count.
# Detection calls small functions of other files (a summary's update, a
# rule's check) several times per row; link-time optimization inlines them,
# which -fno-semantic-interposition allows in a shared library (nothing is
# meant to replace our functions at run time).  That made scoring and
# folding a row about a tenth faster.
PG_CFLAGS = -Wall -Wextra -Werror -flto=auto -fno-semantic-interposition
PG_CPPFLAGS = -I$(srcdir)/src -isystem $(includedir_server)
SHLIB_LINK = -lcurl -lcrypto -lm -ldl

# Unit tests sit in test/unit/<part>/ as the code they test sits in src/; the
# binaries all go to test/unit/bin/, where vpath finds each one's source.
UNIT_SRCS = $(sort $(wildcard test/unit/*/test_*.c))
UNIT_BINS = $(patsubst %.c,test/unit/bin/%,$(notdir $(UNIT_SRCS)))
UNIT_HDRS = $(wildcard test/unit/*.h test/unit/*/*.h)
UNIT_CFLAGS = -std=gnu99 -O2 -g -Wall -Wextra -Werror -Isrc -Itest/unit $(FE_CPPFLAGS)
# Core code that needs a PostgreSQL library (the JSON parser) takes it from
# libpgcommon outside the server, built as PostgreSQL builds its frontend
# programs; in the server the same code is already linked.
FE_CPPFLAGS = -DFRONTEND -isystem $(includedir_server)
FE_LIBS = $(pkglibdir)/libpgcommon.a $(pkglibdir)/libpgport.a
vpath test_%.c $(sort $(dir $(UNIT_SRCS)))

EXTRA_CLEAN = test/unit/bin results regression.diffs regression.out tmp

PG_CONFIG ?= /usr/lib/postgresql/15/bin/pg_config

# PGXS comes with postgresql-server-dev-15; until `make deps` has installed
# it only the targets below that install it themselves can run.
PGXS := $(shell $(PG_CONFIG) --pgxs 2>/dev/null)
ifneq ($(wildcard $(PGXS)),)
include $(PGXS)
# make installcheck runs the pg_regress suites in the database test/run
# uses: their expected output names it (pg_cron's errors, job names).
CONTRIB_TESTDB = vigil_regression
else
all install installcheck:
	@echo "PostgreSQL 15 server development files are missing: run 'make deps' as root (or 'make test')." >&2
	@exit 1
endif

vigil--$(EXTVERSION).sql: $(SQL_PIECES)
	cat $^ > $@

# PGXS does not track header dependencies: rebuild every object when any of
# our headers changes, so no object is left compiled against an old layout.
$(OBJS): $(wildcard src/*.h src/*/*.h src/*/core/*.h)

unit: $(UNIT_BINS) test/unit/bin/sigv4_vectors.txt

# SigV4 test vectors, signed by botocore (Debian's python3-botocore).
test/unit/bin/sigv4_vectors.txt: test/unit/notify/sigv4_vectors.py
	@mkdir -p $(dir $@)
	/usr/bin/python3 $< > $@

test/unit/bin/%: %.c $(CORE_SRCS) $(CORE_HDRS) $(UNIT_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(UNIT_CFLAGS) -o $@ $< $(CORE_SRCS) $(FE_LIBS) -lcurl -lcrypto -lm

deps:
	test/deps.sh

# The Debian package's test installs the package and removes it again, so it
# runs before make install, whose files the other suites test; test/run
# counts its output and exit status with theirs.
test: deps
	$(MAKE) all unit fuzz-build
	@mkdir -p tmp
	test/deb/run >tmp/deb-test.log 2>&1; echo $$? >tmp/deb-test.status
	$(MAKE) install
	VIGIL_DEB_TEST=tmp/deb-test test/run

demo: deps
	$(MAKE) all
	$(MAKE) install
	test/demo/run start

demo-stop:
	test/demo/run stop

bench: deps
	$(MAKE) all
	$(MAKE) install
	test/bench/run

soak: deps
	$(MAKE) all
	$(MAKE) install
	test/soak/run

eval: deps
	$(MAKE) all
	$(MAKE) install
	test/eval/run

# dpkg-buildpackage works in the tree it is given and leaves its products
# there (debian/postgresql-15-vigil/, the build's objects): it gets a copy
# of the files git knows, as they are in the working tree.
deb: deps
	rm -rf tmp/deb
	mkdir -p tmp/deb/src
	git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf - | tar -xf - -C tmp/deb/src
	cd tmp/deb/src && dpkg-buildpackage --build=binary --no-sign

.PHONY: unit deps test demo demo-stop bench soak eval deb

include test/fuzz/fuzz.mk
