# The demo's own, small virtual environment (issue 14): `make demo` on a fresh clone installs only what the
# demo runs (requirements-demo.txt: ansible-core, requests, the simulator), not the test toolchain.
# When the full toolchain is already installed (.venv, by `make test` or any gate), the demo uses it.
DEMO_VENV  := $(if $(wildcard $(STAMP)),$(VENV),.build/venv-demo)
DEMO_PY    := $(DEMO_VENV)/bin/python
DEMO_BIN   := $(DEMO_VENV)/bin
DEMO_STAMP := $(if $(wildcard $(STAMP)),$(STAMP),$(DEMO_VENV)/.installed)

.build/venv-demo/.installed: requirements.txt requirements-demo.txt $(wildcard simulator/pyproject.toml)
	@python=$$(hack/find-python); echo "using $$python"; \
	  [ -x .build/venv-demo/bin/python ] && .build/venv-demo/bin/python -c 'import sys' 2>/dev/null \
	  || { rm -rf .build/venv-demo; "$$python" -m venv .build/venv-demo; }
	.build/venv-demo/bin/pip install -q --disable-pip-version-check -r requirements-demo.txt
	if [ -f simulator/pyproject.toml ]; then .build/venv-demo/bin/pip install -q --disable-pip-version-check -e simulator; fi
	@touch $@
