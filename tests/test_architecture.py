"""The rules of the README's Architecture section, enforced on the source (every import statement,
at module level or inside a function, read with :mod:`ast`). That ``import kerascnn`` and every
builder work with JAX and no TensorFlow installed is tests/test_backends.py."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "kerascnn"
MAX_LINES = 400


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
        yield ".".join(parts), path


MODULES = dict(_modules())


def imports(path: Path) -> set[str]:
    """Every module ``path`` imports (absolute names; relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: use absolute imports"
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _in(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def _violations(source_pkg: str, forbidden: tuple[str, ...]) -> list[str]:
    bad = []
    for module, path in MODULES.items():
        if _in(module, source_pkg):
            bad += [
                f"{module} imports {n}" for n in imports(path) if any(_in(n, f) for f in forbidden)
            ]
    return bad


# (package, what it must never import, why): what the layers below cannot say (backends)
RULES = [
    ("kerascnn.models", ("tensorflow", "tensorflow_datasets", "jax", "torch"), "keras only"),
    ("kerascnn.layers", ("tensorflow", "tensorflow_datasets", "jax", "torch"), "keras only"),
    ("kerascnn.blocks", ("tensorflow", "tensorflow_datasets", "jax", "torch"), "keras only"),
    (
        "kerascnn.analysis",
        ("tensorflow", "tensorflow_datasets", "torch"),
        "keras only (JAX: xla.py)",
    ),
    ("kerascnn.record", ("keras", "tensorflow", "jax", "torch"), "the record is plain Python"),
    ("kerascnn.geometry", ("keras", "numpy", "tensorflow", "jax"), "plain Python"),
]

# The README's Architecture picture, bottom to top: a kerascnn module imports only modules of
# its own package or of a lower layer (never one of its layer's other packages, never upward).
LAYERS = [
    ("kerascnn.errors", "kerascnn._utils", "kerascnn._dtype", "kerascnn._quiet"),
    ("kerascnn.checks", "kerascnn.geometry", "kerascnn.recipe"),
    ("kerascnn.record", "kerascnn.data", "kerascnn.detection", "kerascnn.scratch"),
    ("kerascnn.blocks",),
    ("kerascnn.models",),
    ("kerascnn.analysis",),
    ("kerascnn.layers", "kerascnn.measure", "kerascnn.distributed", "kerascnn._compile"),
    ("kerascnn.accel", "kerascnn.viz"),
    ("kerascnn.bench",),
    ("kerascnn.deploy", "kerascnn.experiments", "kerascnn.catalog"),
    ("kerascnn.report",),
    ("kerascnn.cli",),
    ("kerascnn",),
]


def package_of(module: str) -> str:
    """The LAYERS entry ``module`` belongs to (``kerascnn`` itself: the package's __init__)."""
    if module == "kerascnn":
        return module
    return ".".join(module.split(".")[:2])


LAYER_OF = {pkg: i for i, layer in enumerate(LAYERS) for pkg in layer}


def kerascnn_imports(path: Path) -> set[str]:
    """The kerascnn modules ``path`` imports (``from kerascnn import checks`` is the module
    kerascnn.checks, not the package's __init__; a name from a module is that module)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                names.add(full if full in MODULES else node.module)
    found = set()
    for name in names:
        while name and name not in MODULES:
            name = name.rpartition(".")[0]
        if _in(name, "kerascnn"):
            found.add(name)
    return found


GRAPH = {module: kerascnn_imports(path) - {module} for module, path in MODULES.items()}


def _upward(graph: dict[str, set[str]]) -> list[str]:
    bad = []
    for module, targets in graph.items():
        for target in targets:
            source_pkg, target_pkg = package_of(module), package_of(target)
            if source_pkg == target_pkg:
                continue
            if LAYER_OF[target_pkg] >= LAYER_OF[source_pkg]:
                bad.append(f"{module} imports {target}")
    return sorted(bad)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_every_package_has_a_layer():
    assert not {package_of(m) for m in MODULES} - set(LAYER_OF)


def test_no_import_upward_or_sideways():
    assert not _upward(GRAPH), "see LAYERS: the README's Architecture picture"


def test_no_import_circle():
    assert not _cycles(GRAPH)


def test_the_layer_and_circle_checks_find_violations():
    graph = {"kerascnn.record.run": {"kerascnn.bench.runner"}, "kerascnn.bench.runner": set()}
    assert _upward(graph) == ["kerascnn.record.run imports kerascnn.bench.runner"]
    assert _upward({"kerascnn.bench.runner": {"kerascnn.deploy.runner"}})  # sideways
    assert not _upward({"kerascnn.bench.runner": {"kerascnn.bench.config", "kerascnn.record"}})
    circle = {
        "kerascnn.a": {"kerascnn.b"},
        "kerascnn.b": {"kerascnn.c"},
        "kerascnn.c": {"kerascnn.a"},
    }
    assert _cycles({**circle, "kerascnn.d": {"kerascnn.a"}}) == [
        ["kerascnn.a", "kerascnn.b", "kerascnn.c"]
    ]


@pytest.mark.parametrize("package, forbidden, why", RULES, ids=[f"{r[0]}-{r[2]}" for r in RULES])
def test_import_rules(package, forbidden, why):
    assert any(_in(m, package) for m in MODULES), f"no module {package}"
    assert not _violations(package, forbidden), why


def test_the_rule_finds_a_violation(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    import tensorflow as tf\n    from kerascnn.report import x\n")
    assert {"tensorflow", "kerascnn.report", "kerascnn.report.x"} <= imports(bad)


def test_no_module_over_the_size_limit():
    long = {m: n for m, p in MODULES.items() if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, f"split these modules (limit {MAX_LINES} lines): {long}"


MAX_FUNCTION_LINES = 60


def function_lengths(path: Path) -> dict[str, int]:
    """Lines of each function's body in ``path``, its docstring left out."""
    lengths = {}
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            first = node.body[0]
            docstring = isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
            start = first.end_lineno + 1 if docstring and len(node.body) > 1 else first.lineno
            lengths[f"{node.name}:{node.lineno}"] = node.end_lineno - start + 1
    return lengths


def test_no_function_over_the_size_limit():
    long = {
        f"{m}.{name}": n
        for m, p in MODULES.items()
        for name, n in function_lengths(p).items()
        if n > MAX_FUNCTION_LINES
    }
    assert not long, f"split these functions (limit {MAX_FUNCTION_LINES} lines): {long}"


def test_the_function_size_rule_counts_the_body(tmp_path):
    src = tmp_path / "f.py"
    src.write_text('def f():\n    """Doc\n    string."""\n    a = 1\n    return a\n')
    assert function_lengths(src) == {"f:1": 2}
