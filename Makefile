# `make demo` and `make test` each work as the first command on a fresh clone:
# they create .venv when it is missing and (re)install the project when
# pyproject.toml has changed since the last install.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench evaluate clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# The live part first: a virtual chest strap streamed over an in-process Bluetooth radio
# (Bumble) and recorded through Bleak, at 240x speed; then the batch demo and the study
# report, whose path is the last thing printed.
demo: $(STAMP)
	mkdir -p demo-output
	$(BIN)/dosewatch record --virtual --protocol bout_30plus --speed 240 --force \
		--out demo-output/live-session.dwrec
	$(BIN)/dosewatch demo --out demo-output

# The study-report test renders the report in a real headless Chromium. On a fresh
# Debian machine the browser is installed from the distribution (needs root or sudo).
CHROMIUM := /usr/bin/chromium
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

$(CHROMIUM):
	@command -v apt-get >/dev/null || { echo "install Chromium as $(CHROMIUM): the report test needs it" >&2; exit 1; }
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core
	test -x $(CHROMIUM)

test: $(STAMP) $(CHROMIUM)
	$(BIN)/python -m pytest

evaluate: $(STAMP)
	$(BIN)/python scripts/evaluate.py --calibrated-hr --card models/MODEL_CARD.md

bench: $(STAMP)
	$(BIN)/python scripts/bench_week.py

clean:
	rm -rf $(VENV) demo-output build *.egg-info
