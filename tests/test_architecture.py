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


# (package, what it must never import, why)
RULES = [
    ("kerascnn.models", ("tensorflow", "tensorflow_datasets", "jax", "torch"), "keras only"),
    ("kerascnn.layers", ("tensorflow", "tensorflow_datasets", "jax", "torch"), "keras only"),
    ("kerascnn.blocks", ("tensorflow", "tensorflow_datasets", "jax", "torch"), "keras only"),
    (
        "kerascnn.analysis",
        ("tensorflow", "tensorflow_datasets", "torch"),
        "keras only (JAX: xla.py)",
    ),
    (
        "kerascnn.blocks",
        ("kerascnn.models", "kerascnn.layers", "kerascnn.bench"),
        "blocks are the base",
    ),
    (
        "kerascnn.layers",
        ("kerascnn.models", "kerascnn.bench", "kerascnn.report"),
        "made from blocks",
    ),
    (
        "kerascnn.models",
        ("kerascnn.layers", "kerascnn.bench", "kerascnn.report"),
        "flat Keras graphs",
    ),
    ("kerascnn.bench", ("kerascnn.report",), "bench never imports report"),
    ("kerascnn.report", ("kerascnn.bench",), "report reads stored results only"),
    ("kerascnn.record.run", ("kerascnn.bench", "kerascnn.report", "keras"), "the neutral record"),
    *(
        (module, ("kerascnn.bench", "kerascnn.report", "kerascnn.accel", "keras"), "neutral")
        for module in (
            "kerascnn.record.parts",
            "kerascnn.record.flat",
            "kerascnn.record.typed_json",
            "kerascnn.record.tabular",
        )
    ),
    ("kerascnn.report", ("kerascnn.accel",), "report reads stored results only"),
    (
        "kerascnn.report",
        ("kerascnn.deploy.runner", "kerascnn.deploy.export", "kerascnn.deploy.runtimes"),
        "report reads stored deployment records only",
    ),
    ("kerascnn.record.deploy", ("kerascnn.bench", "kerascnn.report", "keras"), "neutral"),
    ("kerascnn.geometry", ("keras", "numpy", "tensorflow", "jax"), "plain Python"),
    ("kerascnn.checks", ("kerascnn.models", "kerascnn.layers", "kerascnn.blocks"), "shared by all"),
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
