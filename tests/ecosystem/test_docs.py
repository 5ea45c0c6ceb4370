"""The documentation is there and stays true: ansible-doc for every module and role, and the user
guide in docs/ names only variables, modules, roles, playbooks, files and make targets that exist."""
import glob
import json
import os
import re

import pytest
import yaml
from ecosystem_helpers import BIN, DEV_COLLECTIONS, ROOT, clean_env, run

MODULES = sorted(os.path.basename(p)[:-3] for p in glob.glob(os.path.join(ROOT, "plugins", "modules", "*.py"))
                 if not os.path.basename(p).startswith("_"))
ROLES = sorted(os.path.basename(os.path.dirname(os.path.dirname(p)))
               for p in glob.glob(os.path.join(ROOT, "roles", "*", "meta", "argument_specs.yml")))
GUIDE = sorted(glob.glob(os.path.join(ROOT, "docs", "*.md")))
# local modules: they read files on the host that runs them, no array connection, not in the action group
LOCAL_MODULES = {"encryption_key_file_info", "encryption_key_audit_info"}
PLAYBOOKS = set(os.path.basename(p)[:-4] for p in glob.glob(os.path.join(ROOT, "playbooks", "*.yml")))
FILTERS = set(os.path.basename(p)[:-4] for p in glob.glob(os.path.join(ROOT, "plugins", "filter", "*.yml")))
USER_GUIDE = ["backup.md", "disaster-recovery.md", "simulator.md", "twin.md", "troubleshooting.md", "awx.md", "events.md",
              "release.md"]
# Event-Driven Ansible: the event sources and rulebooks of extensions/eda, named by FQCN too
EDA_NAMES = set(os.path.basename(p)[:-3] for p in glob.glob(os.path.join(ROOT, "extensions", "eda", "plugins", "event_source", "*.py"))) | set(
    os.path.basename(p)[:-4] for p in glob.glob(os.path.join(ROOT, "extensions", "eda", "rulebooks", "*.yml")))


def read(path):
    with open(path) as handle:
        return handle.read()


def role_spec(role):
    return yaml.safe_load(read(os.path.join(ROOT, "roles", role, "meta", "argument_specs.yml")))["argument_specs"]["main"]


def test_ansible_doc_for_every_module(tmp_path):
    assert MODULES, "no modules"
    proc = run([os.path.join(BIN, "ansible-doc"), "--json", "-t", "module"] + ["vsp.encryption." + m for m in MODULES],
               env=clean_env(ANSIBLE_COLLECTIONS_PATH=DEV_COLLECTIONS), cwd=str(tmp_path))
    docs = json.loads(proc.stdout)
    for module in MODULES:
        entry = docs["vsp.encryption." + module]
        doc = entry["doc"]
        assert doc.get("short_description"), module
        assert module in LOCAL_MODULES or {"host", "username", "password", "validate_certs", "ca_path"} <= set(doc["options"]), module
        assert entry.get("examples"), "%s has no EXAMPLES" % module
        assert entry.get("return"), "%s has no RETURN" % module
        assert module in LOCAL_MODULES or "action_group" in doc.get("attributes", {}), "%s does not document its action group" % module


def test_ansible_doc_for_every_role(tmp_path):
    assert ROLES, "no role has meta/argument_specs.yml"
    env = clean_env(ANSIBLE_COLLECTIONS_PATH=DEV_COLLECTIONS)
    for role in ROLES:
        proc = run([os.path.join(BIN, "ansible-doc"), "--json", "-t", "role", "vsp.encryption." + role],
                   env=env, cwd=str(tmp_path))
        entry = json.loads(proc.stdout)["vsp.encryption." + role]
        assert entry["entry_points"]["main"]["options"], role


@pytest.mark.parametrize("page", USER_GUIDE)
def test_user_guide_page_exists(page):
    text = read(os.path.join(ROOT, "docs", page))
    assert text.startswith("# ") and len(text) > 1500, "docs/%s is missing or a stub" % page


def removed_names():
    """Names recorded as removed, which an upgrade note may name: in a breaking_changes entry of a changelog fragment
    or of a release (changelogs/changelog.yaml), or in the first column of docs/release.md's table of what changed
    for a playbook written against main before 1.0."""
    entries = []
    for path in glob.glob(os.path.join(ROOT, "changelogs", "fragments", "*.yml")):
        entries += (yaml.safe_load(read(path)) or {}).get("breaking_changes") or []
    for release in ((yaml.safe_load(read(os.path.join(ROOT, "changelogs", "changelog.yaml"))) or {}).get("releases") or {}).values():
        entries += (release.get("changes") or {}).get("breaking_changes") or []
    names = set()
    for entry in entries:
        names |= set(re.findall(r"``([a-z0-9_]+)``", entry))
    upgrade = re.search(r"^## Upgrading a playbook written against main before 1\.0\n(.*?)(?=^## )",
                        read(os.path.join(ROOT, "docs", "release.md")), re.S | re.M)
    for row in re.findall(r"^\| ([^|]+) \|", upgrade.group(1) if upgrade else "", re.M):
        names |= set(re.findall(r"\b[a-z0-9_]+\b", row))
    return names


REMOVED = removed_names()


def known_role_words(role):
    """Options of the role plus the names its argument spec mentions (facts it sets, for example)."""
    spec_text = read(os.path.join(ROOT, "roles", role, "meta", "argument_specs.yml"))
    return set(role_spec(role)["options"]) | set(re.findall(r"\b%s_[a-z0-9_]+\b" % role, spec_text))


MUTANT_ROW = re.compile(r"^\| `[^`]+` \| (?:survived|timeout) \|.*$", re.M)


def claims(text):
    """The text of a page without the rows of mutation.md's survivor table: each quotes a deliberately broken line
    of code (a mutant such as 'VSP_CONNECTION.HOST'), which names nothing the guide claims exists."""
    return MUTANT_ROW.sub("", text)


def test_claims_leaves_out_only_the_mutant_rows():
    row = "| `validate.x_f__mutmut_1` | survived | text | `'VSP_NOPE'` | only a string literal differs |"
    assert claims("a VSP_HOST\n%s\nb make demo\n" % row) == "a VSP_HOST\n\nb make demo\n"
    assert claims("| `make demo` | survived by the docs |") == "| `make demo` | survived by the docs |"


@pytest.mark.parametrize("page", ["docs/" + os.path.basename(p) for p in GUIDE] + ["README.md"])
def test_guide_names_what_exists(page):
    text = claims(read(os.path.join(ROOT, page)))
    problems = []
    for role in ("encryption_key_backup", "encryption_key_restore"):
        if not os.path.isdir(os.path.join(ROOT, "roles", role)):
            continue
        known = known_role_words(role) if role in ROLES else set()
        for var in sorted(set(re.findall(r"\b%s_[a-z0-9_]+\b" % role, text))):
            if var not in known and var not in REMOVED:
                problems.append("role variable %s is not in roles/%s/meta/argument_specs.yml" % (var, role))
    # FQCNs, not Python import paths (ansible_collections.vsp.encryption.plugins...)
    fqcns = set(re.findall(r"(?<!ansible_collections\.)\bvsp\.encryption\.([a-z_]+)\b", text))
    for name in sorted(fqcns - set(MODULES) - set(ROLES) - PLAYBOOKS - FILTERS - EDA_NAMES - {"vsp", "connection", "attributes"}):
        problems.append("vsp.encryption.%s is neither a module, a role, a playbook nor a filter" % name)
    for path in sorted(set(re.findall(r"\b((?:playbooks|roles|extensions|hack|docs|changelogs)/[\w./-]*\w)", text))):
        if not glob.glob(os.path.join(ROOT, path)) and not path.startswith("docs/_build"):
            problems.append("%s does not exist" % path)
    targets = make_targets()
    for target in sorted(set(re.findall(r"`make ([a-z][\w-]*)", text))):
        if target not in targets:
            problems.append("make %s is not a target" % target)
    for var in sorted(set(re.findall(r"\bVSP_[A-Z_]+\b", text))):
        if var not in ENV_KNOWN:
            problems.append("%s is read by no module and set by no tool" % var)
    assert not problems, "%s:\n  " % page + "\n  ".join(problems)


# read by a module (env_fallback), or set by one of the project's tools (make targets, hack/with-simulator through
# vsp_simulator.harness: `"VSP_...": ` in RunningSimulator.environment)
ENV_KNOWN = set(re.findall(r"env_fallback, \['(VSP_[A-Z_]+)'\]", read(os.path.join(ROOT, "plugins", "module_utils", "_runner.py")))) | set(
    re.findall(r"\b(VSP_[A-Z_]+)(?:=|\"(?=: ))", "".join(read(p) for p in glob.glob(os.path.join(ROOT, "mk", "*.mk")) + [
        os.path.join(ROOT, "Makefile"), os.path.join(ROOT, "simulator", "vsp_simulator", "harness.py")])))


def make_targets():
    text = read(os.path.join(ROOT, "Makefile")) + "".join(read(p) for p in glob.glob(os.path.join(ROOT, "mk", "*.mk")))
    return set(re.findall(r"^([a-z][\w-]*)\s*:(?!=)", text, re.M))


def test_env_variables_in_credential_type_are_documented():
    text = read(os.path.join(ROOT, "docs", "awx.md"))
    injectors = yaml.safe_load(read(os.path.join(ROOT, "extensions", "awx", "credential_type_injectors.yml")))
    for var in injectors["env"]:
        assert var in text, "docs/awx.md does not mention %s" % var


# -- the options in the YAML examples -----------------------------------------------------------------------------
YAML_BLOCK = re.compile(r"^( *)```ya?ml\n(.*?)^\1```", re.M | re.S)
PAGES_WITH_EXAMPLES = ["README.md"] + ["docs/" + os.path.basename(p) for p in GUIDE]


@pytest.fixture(scope="module")
def module_options(tmp_path_factory):
    """{module: set of its options}, as ansible-doc renders them (doc fragments included)."""
    proc = run([os.path.join(BIN, "ansible-doc"), "--json", "-t", "module"] + ["vsp.encryption." + m for m in MODULES],
               env=clean_env(ANSIBLE_COLLECTIONS_PATH=DEV_COLLECTIONS), cwd=str(tmp_path_factory.mktemp("doc")))
    return dict((m, set(entry["doc"]["options"])) for m, entry in
                ((name.split(".")[-1], entry) for name, entry in json.loads(proc.stdout).items()))


def yaml_examples(text):
    """The YAML code blocks of a page, parsed (blocks that are not YAML on their own, such as fragments with
    placeholders, are left out: they hold no task)."""
    for match in YAML_BLOCK.finditer(text):
        body = "\n".join(line[len(match.group(1)):] for line in match.group(2).splitlines())
        try:
            yield yaml.safe_load(body)
        except yaml.YAMLError:
            continue


def module_calls(node):
    """(module, options) for every dict key `vsp.encryption.<module>` whose value is a dict (a task's module call)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(key, str) and key.startswith("vsp.encryption.") and isinstance(value, dict):
                yield key.split(".")[-1], set(value)
            yield from module_calls(value)
    elif isinstance(node, list):
        for item in node:
            yield from module_calls(item)


@pytest.mark.parametrize("page", PAGES_WITH_EXAMPLES)
def test_yaml_examples_use_only_options_the_modules_have(page, module_options):
    problems = []
    for example in yaml_examples(read(os.path.join(ROOT, page))):
        for module, options in module_calls(example):
            if module in module_options:
                problems.extend("%s: option %s" % (module, o) for o in sorted(options - module_options[module]))
    assert not problems, "%s names options that do not exist:\n  " % page + "\n  ".join(problems)


def test_yaml_examples_check_finds_an_option_that_does_not_exist(module_options):
    page = "```yaml\n- name: x\n  vsp.encryption.encryption_key_backup:\n    path: /b/\n    no_such_option: true\n```\n"
    calls = [c for e in yaml_examples(page) for c in module_calls(e)]
    assert calls == [("encryption_key_backup", {"path", "no_such_option"})]
    assert calls[0][1] - module_options["encryption_key_backup"] == {"no_such_option"}
