"""pytest fixtures: start real fxgate processes on free ports with temporary data dirs.

* ``gateway_factory`` - function scoped; ``gateway_factory.start(overrides)`` writes a config TOML
  (base config of fxgate_testlib.base_config deep-merged with ``overrides``), starts
  ``$FXGATE_BIN run --config F --data-dir D`` and waits (60 s max) until the port accepts and
  stderr logged "fxgate ready". Every gateway is terminated at teardown.
* ``shared_gateway`` - one default-config gateway per test module, for read-only tests.
* ``client_cert`` - a generated RSA client application certificate (session scoped).
* ``peers`` - upstream OPC UA server processes for the aggregation tests (aggregation_support).
* ``asyncua_type_registry`` - automatic, per test module: asyncua's registry of loaded types is
  put back as it was before the module, so no module sees another module's
  ``load_data_type_definitions()``.

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


# The registries asyncua.ua.uatypes keeps of the classes load_data_type_definitions() builds.
_ASYNCUA_REGISTRIES = (
    "basetype_by_datatype",
    "basetype_datatypes",
    "enums_by_datatype",
    "enums_datatypes",
    "extension_objects_by_datatype",
    "extension_objects_by_typeid",
    "datatype_by_extension_object",
    "typeid_by_extension_objects",
)


@pytest.fixture(scope="module", autouse=True)
def asyncua_type_registry():
    """asyncua binds the classes load_data_type_definitions() builds process-wide: as attributes
    of ``asyncua.ua`` (a name once bound is never rebound) and in NodeId-keyed dicts. A module
    that loaded them from one server would leave them for the next module's servers, where the
    same names can stand for other NodeIds (a gateway that aggregates a second fxgate shows both
    fxgates' FX types), and that module's loads and decodes would then fail. Each module starts
    from the registry as it was before it, in whatever order the modules run."""
    import asyncua.ua as ua_module
    from asyncua.ua import uatypes

    saved = {name: dict(getattr(uatypes, name)) for name in _ASYNCUA_REGISTRIES}
    bound = set(vars(ua_module))
    yield
    for name, before in saved.items():
        registry = getattr(uatypes, name)
        registry.clear()
        registry.update(before)
    for name in set(vars(ua_module)) - bound:
        delattr(ua_module, name)


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
