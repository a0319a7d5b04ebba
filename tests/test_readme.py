"""The README's commands and snippets run as written (issue 26).

Every fenced code block and every indented block of README.md is read: a ```python block is one
snippet, a shell block is split into commands (backslash lines joined). Each becomes one test.
A command that needs a download, a GPU, several processes, an install from PyPI or long
training is skipped by a rule of SKIP, which says why; a block that is not commands at all (the
Architecture file tree) by NOT_COMMANDS. Every other command and snippet runs in its own copy of
a small work folder, with the test environment's ``kerascnn`` and ``python`` first on PATH,
downloads off (KERASCNN_NO_DOWNLOAD=1) and HOME and KERAS_HOME inside the folder, and must exit 0.
A new README command is run unless a rule skips it, so a README bug shows here.

The work folder holds what the README's commands take as given: ``runs/a`` (a ``--save-models``
run: LeNet, 2 steps, where the README's bench line trains MobileNetV2 for an epoch), the run
folders its placeholders name (``reports/runs/<time>``, ``<other>``, ``models/<key>.keras``),
``model.keras``, ``lenet.keras`` ("weights you saved before") and, in the Keras cache, a file in
the layout of keras.applications' MobileNetV2 ImageNet weights ("from the Keras cache"; built
with weights=None, so nothing is downloaded).

Template syntax is expanded into real commands: ``[--opt x]`` optional (one instance without
every optional part, the others with all of them) and ``a|b|c`` alternatives (each alternative
in one instance). A failing command or snippet is a README bug (or kerascnn's).
"""

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
BIN = Path(sys.executable).parent  # the test environment's kerascnn and python
TIMEOUT = 240  # seconds per command; each takes well under a minute on 2 CPU cores

INSTALL = "installs from PyPI (network): tests/test_install.py builds the wheel and installs it"
LONG = "minutes of training on a CPU"
SKIP = [  # (regex searched in the command, reason); the first that matches says why
    (r"^make bench\b", "the main job: an install, then three models trained ~30 s each"),
    (r"^make test\b", "the whole test suite (this file is part of it)"),
    (r"^make install\b|pip install|^python3? -m venv\b", INSTALL),
    (r" -m build\b", "builds from the checkout: tests/test_install.py builds the same wheel"),
    (r"--coordinator\b|--num-processes\b", "several processes"),
    (r"^KERASTUNER_TUNER_ID=", "several processes (KerasTuner's chief and workers)"),
    (r"--dataset folder:~", "needs your own image folder"),
    (r"--dataset tfds:", "needs a tensorflow-datasets set prepared in --data-dir"),
    (r"--dataset (fashion_mnist|mnist|cifar10|cifar100)\b", "needs a downloaded dataset"),
    (r"--suite\b", "a suite on a full dataset: a download, then " + LONG),
    (r"--budget\b", "calibrated equal-time training: " + LONG),
    (r"--epochs\b", "trains whole epochs: " + LONG),
    (r"--steps [1-9]\d{2,}\b", "hundreds of training steps: over a minute on 2 CPU cores"),
    (r"^kerascnn throughput .*--image-size 224\b", "ResNet-18 and MobileNetV2 at 224 px: " + LONG),
]
NOT_COMMANDS = {  # first word of a shell block that is no command: reason
    "pyproject.toml": "the Architecture file tree",
}
MOBILENETV2_NO_TOP = "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5"


@dataclass(frozen=True)
class Snippet:
    line: int  # 1-based line of README.md where it starts
    kind: str  # "python" or "shell"
    text: str

    @property
    def id(self) -> str:
        head = self.text.strip().splitlines()[0] if self.kind == "shell" else "python"
        return f"L{self.line}:{head[:60]}"


def _blocks(lines: list[str]) -> list[tuple[int, str, list[str]]]:
    """(line, language, lines) of every fenced block and every indented block."""
    blocks, i = [], 0
    while i < len(lines):
        if lines[i].startswith("```"):
            end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
            blocks.append((i + 2, lines[i][3:].strip(), lines[i + 1 : end]))
            i = end + 1
        elif lines[i].startswith("    ") and (i == 0 or not lines[i - 1].strip()):
            end = i
            while end < len(lines) and (lines[end].startswith("    ") or not lines[end].strip()):
                end += 1
            body = [text[4:] for text in lines[i:end]]
            while body and not body[-1].strip():
                body.pop()
            blocks.append((i + 1, "", body))
            i = end
        else:
            i += 1
    return blocks


def _strip_comment(line: str) -> str:
    """``line`` without a trailing shell comment (a # outside quotes, after a space)."""
    quote = None
    for i, char in enumerate(line):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip()
    return line.rstrip()


def _commands(first: int, body: list[str]) -> list[Snippet]:
    """The commands of a shell block: comments dropped, backslash-continued lines joined."""
    commands, pending, start = [], "", first
    for offset, raw in enumerate(body):
        line = _strip_comment(raw)
        if not pending:
            start = first + offset
        if line.endswith("\\"):
            pending += line[:-1].strip() + " "
            continue
        text = (pending + line.strip()).strip()
        pending = ""
        if text:
            commands.append(Snippet(start, "shell", re.sub(r"\s+", " ", text)))
    return commands


def readme_snippets(text: str) -> tuple[list[Snippet], list[tuple[int, str]]]:
    """The runnable snippets of ``text``, and the (line, reason) of blocks that are no commands."""
    snippets, not_commands = [], []
    for line, lang, body in _blocks(text.splitlines()):
        if lang == "python":
            snippets.append(Snippet(line, "python", "\n".join(body) + "\n"))
        elif lang in ("", "bash", "sh", "shell", "console"):
            first_word = next((b.split()[0] for b in body if b.strip()), "")
            if first_word in NOT_COMMANDS:
                not_commands.append((line, NOT_COMMANDS[first_word]))
            else:
                snippets.extend(_commands(line, body))
        else:
            raise AssertionError(f"README line {line}: a ```{lang} block: say how to test it")
    return snippets, not_commands


SNIPPETS, NOT_COMMAND_BLOCKS = readme_snippets(README.read_text())


def skip_reason(snippet: Snippet) -> str | None:
    if snippet.kind != "shell":
        return None
    return next((why for rule, why in SKIP if re.search(rule, snippet.text)), None)


def _choose(k: int):
    """A re.sub replacement: the k-th alternative of an ``a|b|c`` match (cycling)."""

    def pick(match):
        parts = match.group(1).split("|")
        return parts[k % len(parts)]

    return pick


def instances(command: str) -> list[str]:
    """Real commands for a template: without its [optional] parts, then with all of them and
    each ``a|b`` alternative in turn. A command without template syntax is its own instance."""
    optional = re.compile(r"(?<=\s)\[([^\]]+)\]")
    alternatives = re.compile(r"(?<![\w\"'/])([\w.-]+(?:\|[\w.-]+)+)(?![\w\"'])")
    bare, full = optional.sub("", command), optional.sub(r"\1", command)
    widths = [m.group(1).count("|") + 1 for m in alternatives.finditer(full)]
    found = [alternatives.sub(_choose(0), bare)]
    found += [alternatives.sub(_choose(k), full) for k in range(max(widths, default=1))]
    return list(dict.fromkeys(" ".join(c.split()) for c in found))


PREPARE = f"""
import keras
from kerascnn import create_model

create_model("lenet", classes=10).save("lenet.keras")  # weights you saved before
app = keras.applications.MobileNetV2(weights=None, include_top=False, input_shape=(224, 224, 3))
app.save("keras_home/models/{MOBILENETV2_NO_TOP}")  # keras.applications' layout, legacy HDF5
"""


@dataclass(frozen=True)
class Workspace:
    folder: Path
    placeholders: dict


def _env(work: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    path = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    keras_home = str(work / "keras_home")
    return {**env, "PATH": path, "KERAS_HOME": keras_home, "KERASCNN_NO_DOWNLOAD": "1"}


def _run(args: list[str], work: Path, what: str) -> None:
    proc = subprocess.run(
        args, cwd=work, env=_env(work), capture_output=True, text=True, timeout=TIMEOUT
    )
    output = (proc.stdout + proc.stderr)[-3000:]
    assert proc.returncode == 0, f"{what}: exit {proc.returncode} in {work}\n{output}"


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Workspace:
    """The files the README's commands take as given (see the module's docstring)."""
    folder = tmp_path_factory.mktemp("readme")
    (folder / "keras_home" / "models").mkdir(parents=True)
    _run([sys.executable, "-c", PREPARE], folder, "preparing the work folder")
    bench = "kerascnn bench --models lenet --steps 2 --save-models --no-report --out runs/a"
    _run(["bash", "-c", bench], folder, bench)
    (model,) = (folder / "runs" / "a" / "models").glob("*.keras")
    shutil.copy2(model, folder / "model.keras")
    for name in ("t1", "t2"):
        shutil.copytree(folder / "runs" / "a", folder / "reports" / "runs" / name)
    return Workspace(folder, {"<time>": "t1", "<other>": "t2", "<key>": model.stem})


def fill(text: str, placeholders: dict) -> str:
    """``text`` with the work folder's names for its <placeholders>."""
    for name, value in placeholders.items():
        text = text.replace(name, value)
    left = re.findall(r"<\w+>", text)
    assert not left, f"placeholders the work folder does not provide: {left}"
    return text


def _param(snippet: Snippet):
    reason = skip_reason(snippet)
    marks = [pytest.mark.skip(reason=f"README line {snippet.line}: {reason}")] if reason else []
    return pytest.param(snippet, marks=marks, id=snippet.id)


@pytest.mark.parametrize("snippet", [_param(s) for s in SNIPPETS])
def test_readme_snippet_runs(snippet, workspace, tmp_path):
    work = tmp_path / "work"
    shutil.copytree(workspace.folder, work)
    if snippet.kind == "python":
        (work / "snippet.py").write_text(fill(snippet.text, workspace.placeholders))
        _run([sys.executable, "snippet.py"], work, f"README line {snippet.line} (python)")
        return
    for command in instances(snippet.text):
        command = fill(command, workspace.placeholders)
        _run(["bash", "-c", command], work, f"README line {snippet.line}: {command}")


def test_the_readme_has_what_this_file_expects():
    texts = {s.text for s in SNIPPETS}
    assert {"kerascnn --help", "kerascnn models lenet"} <= texts
    assert sum(s.kind == "python" for s in SNIPPETS) >= 3
    assert [reason for _, reason in NOT_COMMAND_BLOCKS] == ["the Architecture file tree"]


@pytest.mark.parametrize("rule", [rule for rule, _ in SKIP])
def test_every_skip_rule_skips_a_readme_command(rule):
    assert any(re.search(rule, s.text) for s in SNIPPETS if s.kind == "shell"), rule


def test_templates_become_commands():
    assert instances("kerascnn report D [--compare E] [--format md|csv]") == [
        "kerascnn report D",
        "kerascnn report D --compare E --format md",
        "kerascnn report D --compare E --format csv",
    ]
    plain = 'kerascnn bench --models "a|b" --out x'
    assert instances(plain) == [plain]
    assert _strip_comment('make bench   # the "main" job') == "make bench"
    assert _strip_comment('echo "a # b"  # c') == 'echo "a # b"'
    assert _commands(7, ["# a comment", "a \\", "  b  # c", "d"]) == [
        Snippet(8, "shell", "a b"),
        Snippet(10, "shell", "d"),
    ]
