"""The connection options are defined once (module_utils/_runner.py connection_argument_spec) and every
other place that states them must agree: the doc fragment, the connection sub-spec of both roles'
argument specs, and the AWX credential type (its inputs and the VSP_* variables it injects).
A change in one place that is not made in the others fails here.
"""
import os

import yaml

from ansible_collections.vsp.encryption.plugins.doc_fragments.connection import ModuleDocFragment
from ansible_collections.vsp.encryption.plugins.module_utils._runner import connection_argument_spec

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROLES = ("encryption_key_backup", "encryption_key_restore")
# AWX inputs that are not module options, and how the others map to options
AWX_ONLY = {"ca_cert": "ca_path"}  # the PEM contents, written to a file that is passed as VSP_CA_PATH


def load(*parts):
    with open(os.path.join(ROOT, *parts)) as handle:
        return yaml.safe_load(handle)


def spec():
    return connection_argument_spec()


def fragment_options():
    return yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"]


def role_connection(role):
    specs = load("roles", role, "meta", "argument_specs.yml")
    return specs["argument_specs"]["main"]["options"]["%s_connection" % role]["options"]


def env_names(option):
    fallback = option.get("fallback")
    return list(fallback[1]) if fallback else []


def test_the_doc_fragment_documents_exactly_the_argument_spec():
    options = fragment_options()
    assert set(options) == set(spec())
    for name, option in spec().items():
        doc = options[name]
        assert doc["type"] == option["type"], name
        assert doc.get("default") == option.get("default"), name
        assert bool(doc.get("required")) == bool(option.get("required")), name
        assert doc.get("choices") == option.get("choices"), name
        if option.get("no_log"):  # a doc fragment has no no_log key: it says so in words
            assert "Never returned or logged" in " ".join(doc["description"]), name
        for env in env_names(option):  # the fallback is documented where users read it
            assert "E(%s)" % env in " ".join(doc["description"]), (name, env)


def test_both_roles_take_exactly_the_connection_options():
    for role in ROLES:
        options = role_connection(role)
        assert set(options) == set(spec()), role
        for name, option in spec().items():
            assert options[name]["type"] == option["type"], (role, name)
            assert options[name].get("choices") == option.get("choices"), (role, name)
        assert options["password"].get("no_log") is True, role


def test_the_awx_credential_type_injects_what_the_modules_read():
    inputs = load("extensions", "awx", "credential_type_inputs.yml")
    injectors = load("extensions", "awx", "credential_type_injectors.yml")
    env_of = dict((env, name) for name, option in spec().items() for env in env_names(option))
    fields = dict((f["id"], f) for f in inputs["fields"])
    for field in fields:
        assert field in spec() or field in AWX_ONLY, "AWX input %s is no connection option" % field
    injected = injectors["env"]
    for env in injected:
        assert env in env_of, "the credential injects %s, which no option reads" % env
    for env, option in env_of.items():
        if option in fields or option == AWX_ONLY.get("ca_cert"):
            assert env in injected, "%s is an AWX input but %s is not injected" % (option, env)
    assert fields["password"].get("secret") is True
    assert set(inputs.get("required", [])) <= set(name for name, o in spec().items() if o.get("required"))
