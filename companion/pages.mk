# The report's notebook pages, made by `make report` before the report itself:
#   make -f companion/pages.mk BUILD=build PY=.venv/bin/python
# Each executed notebook's HTML page is a target of its own, so make renders only the pages whose
# notebook (or the report's code) changed, several at a time under -j. The executed notebooks are
# plain files here: this makefile has no rule that runs one, so a report never re-executes a notebook.
BUILD ?= build
PY    ?= .venv/bin/python
.DELETE_ON_ERROR:
.SUFFIXES:

PAGES := $(patsubst $(BUILD)/notebooks/%.ipynb,$(BUILD)/pages/%.html,$(wildcard $(BUILD)/notebooks/*.ipynb))

.PHONY: pages
pages: $(PAGES)
	@:

$(BUILD)/pages/%.html: $(BUILD)/notebooks/%.ipynb companion/report.py $(wildcard companion/templates/*/*)
	@$(PY) -m companion.report --page $< $@
