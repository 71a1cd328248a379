# SPDX-License-Identifier: GPL-2.0-or-later
"""What ansible-test sanity would check, offline: each module's
DOCUMENTATION, EXAMPLES and RETURN parse as YAML, the documented options
(doc fragment included) equal the module's argument_spec, ansible-doc
shows every module, ansible-galaxy builds the collection, every plugin
compiles."""
import ast
import json
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
import yaml

from rkansible import COLLECTION, MODULES, PYTHON, ansible_env

PLUGINS = sorted((COLLECTION / "plugins").rglob("*.py"))


def module_strings(name):
    tree = ast.parse((COLLECTION / "plugins" / "modules" / (name + ".py")).read_text())
    out = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            if node.targets[0].id in ("DOCUMENTATION", "EXAMPLES", "RETURN"):
                out[node.targets[0].id] = node.value.value
    return out


def argument_spec(name):
    """The module's argument_spec, captured where AnsibleModule gets it."""
    code = f"""
import json, sys
sys.argv = ['x']
import ansible.module_utils.basic as basic
class Got(Exception): pass
def capture(self, argument_spec, **kw):
    print(json.dumps(argument_spec)); raise Got()
basic.AnsibleModule.__init__ = capture
sys.path.insert(0, {str(COLLECTION / 'plugins' / 'modules')!r})
import runpy
try:
    runpy.run_path({str(COLLECTION / 'plugins' / 'modules' / (name + '.py'))!r}, run_name='__main__')
except Got:
    pass
"""
    return code


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    return ansible_env(tmp_path_factory.mktemp("ansible"))


@pytest.mark.parametrize("name", MODULES)
def test_documentation_examples_return_are_yaml(name):
    s = module_strings(name)
    assert set(s) == {"DOCUMENTATION", "EXAMPLES", "RETURN"}
    doc = yaml.safe_load(s["DOCUMENTATION"])
    assert doc["module"] == name and doc["short_description"] and doc["description"]
    assert doc["extends_documentation_fragment"] == ["resetkit.appliance.resetctl"]
    examples = yaml.safe_load(s["EXAMPLES"])
    assert examples and all(task.get("name") for task in examples)
    assert any(f"resetkit.appliance.{name}" in task for task in examples)
    ret = yaml.safe_load(s["RETURN"])
    for key, r in ret.items():
        assert {"description", "returned", "type"} <= set(r), key
    assert "sha256" in ret


@pytest.mark.parametrize("name", MODULES)
def test_options_equal_the_argument_spec(env, tmp_path, name):
    # the documentation as ansible-doc merges it with the doc fragment
    p = subprocess.run(["ansible-doc", "--json", "-t", "module", f"resetkit.appliance.{name}"],
                       capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == 0, p.stderr
    options = json.loads(p.stdout)[f"resetkit.appliance.{name}"]["doc"]["options"]
    script = tmp_path / "spec.py"
    script.write_text(argument_spec(name))
    q = subprocess.run([PYTHON, str(script)], capture_output=True, text=True, timeout=60,
                       env=dict(env, PYTHONPATH=str(Path(env["ANSIBLE_COLLECTIONS_PATH"]))))
    assert q.returncode == 0, q.stderr
    spec = json.loads(q.stdout)
    # internal arguments (the action plugin's _phase) are not documented
    spec = {k: v for k, v in spec.items() if not k.startswith("_")}
    assert set(options) == set(spec)
    for opt, s in spec.items():
        d = options[opt]
        assert d.get("type", "str") == s.get("type", "str"), opt
        assert d.get("default") == s.get("default"), opt
        assert d.get("choices") == s.get("choices"), opt
        assert bool(d.get("required", False)) == bool(s.get("required", False)), opt
        assert d.get("description"), opt


@pytest.mark.parametrize("name", MODULES)
def test_ansible_doc_shows_the_module(env, name):
    p = subprocess.run(["ansible-doc", "-t", "module", f"resetkit.appliance.{name}"],
                       capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == 0, p.stderr
    assert f"RESETKIT.APPLIANCE.{name.upper()}" in p.stdout and "EXAMPLES:" in p.stdout
    assert "[WARNING]" not in p.stderr, p.stderr


def test_ansible_doc_lists_the_collection(env):
    p = subprocess.run(["ansible-doc", "-l", "resetkit.appliance"], capture_output=True, text=True, env=env,
                       timeout=120)
    assert p.returncode == 0, p.stderr
    assert sorted(line.split()[0] for line in p.stdout.splitlines() if line.strip()) == \
        sorted(f"resetkit.appliance.{m}" for m in MODULES)


def test_galaxy_builds_the_collection(env, tmp_path):
    # a copy of the collection with what build_ignore must keep out of the tarball
    src = tmp_path / "src"
    shutil.copytree(COLLECTION, src, ignore=shutil.ignore_patterns("__pycache__", "*.tar.gz"))
    (src / "plugins/modules/__pycache__").mkdir()
    (src / "plugins/modules/__pycache__/rescue.cpython-311.pyc").write_bytes(b"")
    (src / "tests").mkdir(exist_ok=True)
    (src / "tests/test_x.py").write_text("")
    p = subprocess.run(["ansible-galaxy", "collection", "build", "--output-path", str(tmp_path), str(src)],
                       capture_output=True, text=True, env=env, timeout=120, cwd=str(tmp_path))
    assert p.returncode == 0, p.stderr + p.stdout
    tarball = tmp_path / "resetkit-appliance-0.1.0.tar.gz"
    with tarfile.open(tarball) as t:
        names = t.getnames()
        manifest = json.load(t.extractfile("MANIFEST.json"))
    for m in MODULES:
        assert f"plugins/modules/{m}.py" in names
    for f in ("plugins/module_utils/resetctl.py", "plugins/action/config.py", "plugins/action/factory_reset.py",
              "plugins/doc_fragments/resetctl.py", "meta/runtime.yml", "README.md", "FILES.json"):
        assert f in names, f
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc") or n.startswith("tests")], names
    info = manifest["collection_info"]
    assert (info["namespace"], info["name"], info["version"]) == ("resetkit", "appliance", "0.1.0")
    assert info["license"] == ["GPL-2.0-or-later"]
    # and it installs where ansible finds it
    dest = tmp_path / "installed"
    p = subprocess.run(["ansible-galaxy", "collection", "install", "--offline", "-p", str(dest), str(tarball)],
                       capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == 0, p.stderr + p.stdout
    assert (dest / "ansible_collections/resetkit/appliance/plugins/modules/rescue.py").exists()


@pytest.mark.parametrize("path", PLUGINS, ids=[str(p.relative_to(COLLECTION)) for p in PLUGINS])
def test_plugin_compiles(path, tmp_path):
    p = subprocess.run([PYTHON, "-c", "import py_compile, sys; py_compile.compile(sys.argv[1], cfile=sys.argv[2], doraise=True)",
                        str(path), str(tmp_path / "x.pyc")], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr


def test_runtime_requires_ansible_2_14():
    assert yaml.safe_load((COLLECTION / "meta" / "runtime.yml").read_text()) == {"requires_ansible": ">=2.14"}


VALIDATE_MODULES = Path("/usr/lib/python3/dist-packages/ansible_test/_util/controller/sanity/validate-modules")


def test_validate_modules(tmp_path):
    """ansible-test sanity --test validate-modules itself needs the network
    (it installs its requirements with pip into a venv); its checker runs
    offline with Debian's python3-voluptuous.  What it reports must be
    exactly what tests/sanity/ignore-2.14.txt of the collection accepts."""
    pytest.importorskip("voluptuous")
    if not VALIDATE_MODULES.is_dir():
        pytest.skip("no ansible_test in this ansible-core")
    coll = tmp_path / "ansible_collections" / "resetkit" / "appliance"
    shutil.copytree(COLLECTION, coll, ignore=shutil.ignore_patterns("__pycache__"))
    env = ansible_env(tmp_path / "env")
    env.update(ANSIBLE_COLLECTIONS_PATH=str(tmp_path), PYTHONPATH=f"{VALIDATE_MODULES}:{tmp_path}")
    p = subprocess.run([PYTHON, str(VALIDATE_MODULES / "validate.py"), "--collection",
                        "ansible_collections/resetkit/appliance", "--collection-version", "0.1.0", "--arg-spec",
                        "--format", "json", *[f"plugins/modules/{m}.py" for m in MODULES]],
                       capture_output=True, text=True, env=env, cwd=str(coll), timeout=300)
    # exit 3 when it found errors: the JSON says which
    assert p.returncode in (0, 3) and p.stdout.startswith("{"), p.stderr
    found = {(path, f"validate-modules:{e['code']}") for path, r in json.loads(p.stdout).items()
             for e in r["errors"]}
    ignored = set()
    for line in (COLLECTION / "tests/sanity/ignore-2.14.txt").read_text().splitlines():
        path, code = line.split("#")[0].split()
        ignored.add((path, code))
    assert found == ignored
