"""pytest fixtures: start real fxgate processes on free ports with temporary data dirs.

* ``gateway_factory`` - function scoped; ``gateway_factory.start(overrides)`` writes a config TOML
  (base config of fxgate_testlib.base_config deep-merged with ``overrides``), starts
  ``$FXGATE_BIN run --config F --data-dir D`` and waits (60 s max) until the port accepts and
  stderr logged "fxgate ready". Every gateway is terminated at teardown.
* ``shared_gateway`` - one default-config gateway per test module, for read-only tests.
* ``client_cert`` - a generated RSA client application certificate (session scoped).
* ``peers`` - upstream OPC UA server processes for the aggregation tests (aggregation_support).

When a test fails, the config and the stderr of every gateway it used are attached to the
failure report (section "fxgate").
"""

from __future__ import annotations

import pytest

from aggregation_support import peers  # noqa: F401 (the aggregation tests' fixture)
from fxgate_testlib import CertPair, Gateway, GatewayFactory, fxgate_bin, make_cert

CLIENT_APP_URI = "urn:fxgate-tests:client"


def pytest_configure(config):
    # Fail fast with a clear message instead of 40 identical errors.
    fxgate_bin()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    rep = yield
    if rep.failed:
        seen = set()
        for value in getattr(item, "funcargs", {}).values():
            if isinstance(value, (Gateway, GatewayFactory)) and id(value) not in seen:
                seen.add(id(value))
                if isinstance(value, Gateway):
                    fac = GatewayFactory(value.data_dir.parent)
                    fac.gateways.append(value)
                    value = fac
                if value.gateways:
                    rep.sections.append((f"fxgate ({rep.when})", value.report()))
    return rep


@pytest.fixture
def gateway_factory(tmp_path):
    factory = GatewayFactory(tmp_path)
    yield factory
    factory.stop_all()


@pytest.fixture(scope="module")
def shared_gateway(tmp_path_factory):
    factory = GatewayFactory(tmp_path_factory.mktemp("shared"))
    gw = factory.start()
    yield gw
    factory.stop_all()


@pytest.fixture(scope="session")
def client_cert(tmp_path_factory) -> CertPair:
    return make_cert(tmp_path_factory.mktemp("client-cert"), CLIENT_APP_URI)


@pytest.fixture
def fresh_client_cert(tmp_path) -> CertPair:
    """A certificate no gateway has seen before (for trust-list tests)."""
    return make_cert(tmp_path / "fresh-client-cert", "urn:fxgate-tests:fresh-client")
