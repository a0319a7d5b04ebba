"""The course book (`make book`): figures inline in a kernel, MathML, the front page, and every
page of a real build opened in Chromium.

The quick tests build tiny Sphinx projects (nothing executed); test_every_page_in_chromium
builds the whole book in fast mode (every lesson executed in a Jupyter kernel) and checks each
page in headless Chromium (Debian's chromium and chromium-driver): images load, internal links
resolve, no console error, formulas typeset, every figure inline, nothing fetched from the
network; it saves two screenshots under $KERASCNN_ARTIFACTS (default build/test-artifacts).
KERASCNN_BOOK_BUILT=build/book checks a book already built (by make book) instead.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
import types
from pathlib import Path
from urllib.parse import unquote, urlsplit

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
BOOK_PACKAGES = ("sphinx", "myst_nb", "latex2mathml", "furo", "ipykernel", "jupytext")


def _missing(modules) -> list[str]:
    return [name for name in modules if importlib.util.find_spec(name) is None]


needs_sphinx = pytest.mark.skipif(
    bool(_missing(BOOK_PACKAGES)),
    reason=f"the book's packages are missing ({', '.join(_missing(BOOK_PACKAGES))}): "
    'pip install -e ".[book]" (make install has it)',
)


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make_book = _load("kerascnn_make_book", BOOK / "make_book.py")


@pytest.fixture(autouse=True)
def _clear_keras_session():
    """Overrides conftest's per-test clear_session(): nothing here builds a Keras model."""
    yield


# --- save_figure shows the figure inline inside a Jupyter kernel --------------------------------


def _figure():
    from kerascnn.viz import new_figure

    fig = new_figure((2, 2))
    fig.add_subplot().plot(np.arange(3))
    return fig


def test_in_jupyter_kernel_reads_ipython_only_when_loaded(monkeypatch):
    from kerascnn.viz import canvas

    monkeypatch.delitem(sys.modules, "IPython", raising=False)
    assert not canvas.in_jupyter_kernel()  # a script: IPython not even imported
    fake = types.ModuleType("IPython")
    monkeypatch.setitem(sys.modules, "IPython", fake)
    fake.get_ipython = lambda: None
    assert not canvas.in_jupyter_kernel()  # imported, but no shell
    fake.get_ipython = lambda: types.SimpleNamespace()
    assert not canvas.in_jupyter_kernel()  # a terminal IPython shell: no kernel
    fake.get_ipython = lambda: types.SimpleNamespace(kernel=object())
    assert canvas.in_jupyter_kernel()


def test_save_figure_displays_the_png_in_a_kernel_and_still_writes_it(monkeypatch, tmp_path):
    pytest.importorskip("IPython")
    import IPython.display

    from kerascnn.viz import canvas, save_figure

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda obj: shown.append(obj))
    monkeypatch.setattr(canvas, "in_jupyter_kernel", lambda: False)
    save_figure(_figure(), tmp_path / "script.png")
    assert shown == [] and (tmp_path / "script.png").is_file()  # as a script: nothing shown

    monkeypatch.setattr(canvas, "in_jupyter_kernel", lambda: True)
    path = save_figure(_figure(), tmp_path / "kernel.png")
    assert path.is_file()
    (image,) = shown
    assert isinstance(image, IPython.display.Image)
    assert image.data == path.read_bytes() and image.data[:8] == b"\x89PNG\r\n\x1a\n"


@needs_sphinx
def test_save_figure_output_in_a_real_kernel(tmp_path):
    """A real ipykernel runs save_figure: the cell's output is the PNG, the file is written."""
    import nbformat
    from nbclient import NotebookClient

    code = (
        "import numpy as np\n"
        "from kerascnn.viz import new_figure, save_figure\n"
        "fig = new_figure((2, 2)); fig.add_subplot().plot(np.arange(3))\n"
        f"save_figure(fig, {str(tmp_path / 'f.png')!r});"
    )
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    outputs = nb.cells[0].outputs
    assert [o.output_type for o in outputs] == ["display_data"], outputs
    assert "image/png" in outputs[0].data
    assert (tmp_path / "f.png").is_file()


# --- the pieces of the build ---------------------------------------------------------------------


def test_front_page_is_the_readme_learn_section_with_every_row_linked():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    names = [path.stem for path in make_book.lesson_files()]
    page = make_book.front_page(readme, names)
    intro, table = make_book.learn_section(readme)
    assert table[0].startswith("| lesson") and len(table) > 2
    body = page.split("```{toctree}")[0]
    for row in table[2:]:
        number = row.split("|")[1].strip()[:2]
        lesson = next((n for n in names if n.startswith(number)), None)
        if lesson is not None:
            assert f"<{lesson}>`" in body, f"README row {number} is not linked to {lesson}"
    toctree = page.split("```{toctree}")[1]
    assert [line for line in toctree.splitlines() if re.match(r"\d\d_", line)] == names
    assert "](" not in body.replace("](http", "")  # relative README links made plain text


def test_book_notebook_adds_the_hidden_file_cell_and_the_fast_mode_note():
    import jupytext

    lesson = make_book.lesson_files()[0]
    text = make_book_lessons().book_notebook(lesson.read_text(), lesson.stem, lesson)
    nb = jupytext.reads(text, fmt="py:percent")
    original = jupytext.read(lesson)
    assert len(nb.cells) == len(original.cells) + 2
    first = nb.cells[0]
    assert first.cell_type == "code" and first.metadata["tags"] == ["remove-cell"]
    assert first.source == f"__file__ = {str(lesson)!r}"
    assert nb.cells[1].source == original.cells[0].source  # the title cell
    note = nb.cells[2]
    assert note.cell_type == "markdown" and "KERASCNN_FAST=1" in note.source
    assert f"python tutorials/{lesson.stem}.py" in note.source


def make_book_lessons():
    return _load("kerascnn_book_lessons", BOOK / "_ext" / "lessons.py")


def _sphinx_project(tmp_path: Path, pages: dict[str, str]) -> tuple[Path, Path]:
    """A tiny project with the book's math settings and myst-nb (nothing executed)."""
    src, conf = tmp_path / "src", tmp_path / "conf"
    src.mkdir()
    conf.mkdir()
    (conf / "conf.py").write_text(
        textwrap.dedent(
            f"""
            import sys
            sys.path.insert(0, {str(BOOK / "_ext")!r})
            extensions = ["myst_nb", "mathml"]
            nb_custom_formats = {{".py": ["jupytext.reads", {{"fmt": "py:percent"}}]}}
            nb_execution_mode = "off"
            myst_enable_extensions = ["dollarmath"]
            myst_update_mathjax = False
            html_math_renderer = "mathml"
            """
        )
    )
    for name, text in pages.items():
        (src / name).write_text(textwrap.dedent(text))
    return src, tmp_path / "html"


def _sphinx_build(src: Path, html: Path):
    conf = src.parent / "conf"
    return subprocess.run(
        [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-W", "-c", conf, src, html],
        capture_output=True,
        text=True,
        timeout=300,
    )


HEADER = """\
    # ---
    # jupyter:
    #   kernelspec:
    #     display_name: Python 3
    #     language: python
    #     name: python3
    # ---

"""
PERCENT_PAGE = (
    HEADER
    + """\
    # %% [markdown]
    # # A lesson
    #
    # Output size $\\lfloor (n + 2p - k) / s \\rfloor + 1$ and
    #
    # $$
    # \\hat{x} = \\frac{x - \\mu}{\\sqrt{\\sigma^2 + \\epsilon}}
    # $$

    # %%
    x = 1

    # %% [markdown]
    # ## Exercises

    # %% [markdown]
    # ### Exercise 1 · A title

    # %% tags=["solution", "hide-cell"]
    assert x == 1
    """
)


@needs_sphinx
def test_math_is_mathml_and_solutions_fold_away(tmp_path):
    index = "# Home\n\n$a^2 + b^2$\n\n```{toctree}\nlesson\n```\n"
    src, html = _sphinx_project(tmp_path, {"index.md": index, "lesson.py": PERCENT_PAGE})
    result = _sphinx_build(src, html)
    assert result.returncode == 0, result.stderr
    page = (html / "lesson.html").read_text()
    assert page.count("<math ") == 2 and 'display="block"' in page  # notebook markdown cells too
    assert "<mfrac>" in page and "<msqrt>" in page
    assert "<math " in (html / "index.html").read_text()
    assert not re.search(r"<script[^>]*(mathjax|tex-mml)", page, flags=re.I)
    # the solution cell's code sits inside a <details> element
    details = re.findall(r"<details.*?</details>", page, flags=re.S)
    assert any("assert" in d and "x" in d for d in details), page


@needs_sphinx
def test_a_formula_latex2mathml_cannot_convert_fails_the_build_naming_page_and_formula(tmp_path):
    index = "# Home\n\n```{toctree}\nbad\n```\n"
    bad = (
        textwrap.dedent(HEADER)
        + "# %% [markdown]\n# # Bad\n#\n# A formula $\\frobnicate{x}$ here.\n"
    )
    src, html = _sphinx_project(tmp_path, {"index.md": index, "bad.py": bad})
    result = _sphinx_build(src, html)
    assert result.returncode != 0
    message = result.stdout + result.stderr
    assert "bad: latex2mathml does not know \\frobnicate" in message, message


# --- the whole book, page by page, in Chromium ----------------------------------------------------

ARTIFACTS = Path(os.environ.get("KERASCNN_ARTIFACTS", ROOT / "build" / "test-artifacts")) / "book"


def _browser_missing() -> str | None:
    missing = _missing((*BOOK_PACKAGES, "selenium"))
    if missing:
        return f"missing {', '.join(missing)}: pip install -e '.[book]' (make install has it)"
    if not (CHROMIUM.is_file() and CHROMEDRIVER.is_file()):
        return "no /usr/bin/chromium or /usr/bin/chromedriver: apt-get install chromium chromium-driver"
    return None


@pytest.fixture(scope="module")
def built_book(tmp_path_factory):
    reason = _browser_missing()
    if reason:
        pytest.skip(reason)
    if os.environ.get("KERASCNN_BOOK_BUILT"):  # check a book built before (make book's build/book)
        return Path(os.environ["KERASCNN_BOOK_BUILT"]).resolve()
    out = tmp_path_factory.mktemp("book")
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, str(BOOK / "make_book.py"), "--out", str(out), "-q"],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        pytest.fail(f"the book build failed:\n{(result.stdout + result.stderr)[-20000:]}")
    print(f"book built in {seconds:.0f} s")
    return out


@pytest.fixture(scope="module")
def chromium():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager: never download a driver
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(arg)
    options.add_argument("--window-size=1280,1600")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


PAGE_FACTS = """
const visible = (el) => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
const folded = (el) => { const d = el.closest('details'); return d !== null && !d.open; };
const maths = [...document.querySelectorAll('math')];
return {
  images: [...document.images].map((i) => [i.getAttribute('src'), i.complete, i.naturalWidth]),
  hrefs: [...document.querySelectorAll('a[href]')].map((a) => a.getAttribute('href')),
  resources: [
    ...[...document.querySelectorAll('script[src]')].map((s) => s.getAttribute('src')),
    ...[...document.querySelectorAll('link[href]')].map((l) => l.getAttribute('href')),
    ...[...document.querySelectorAll('img[src]')].map((i) => i.getAttribute('src')),
    ...[...document.querySelectorAll('iframe[src], source[src], video[src]')].map((e) => e.getAttribute('src')),
  ],
  inline_css: [...document.querySelectorAll('style')].map((s) => s.textContent).join('\\n')
    + [...document.querySelectorAll('[style]')].map((e) => e.getAttribute('style')).join('\\n'),
  math: maths.length,
  math_unseen: maths.filter((m) => !folded(m) && !visible(m)).length,
  output_images: document.querySelectorAll('div.cell_output img').length,
  solutions: document.querySelectorAll('div.cell.tag_solution').length,
  unfolded_solutions: [...document.querySelectorAll('div.cell.tag_solution .cell_input')]
    .filter((c) => c.closest('details') === null).length,
  fast_note: document.body.innerText.includes('KERASCNN_FAST=1'),
  title: document.title,
};
"""
REMOTE = re.compile(r"^(https?:)?//", re.I)
CSS_URL = re.compile(r"(?:url\(\s*['\"]?|@import\s+['\"])\s*((?:https?:)?//[^'\")\s]+)", re.I)


def _has_formulas(lesson: Path) -> bool:
    import jupytext

    cells = jupytext.read(lesson).cells
    text = "\n".join(cell.source for cell in cells if cell.cell_type == "markdown")
    text = re.sub(r"`[^`\n]*`", "", text)  # code spans
    return bool(re.search(r"\$\$|\$[^$\s][^$\n]*\$", text))


def _anchors(path: Path, cache: dict) -> set[str]:
    if path not in cache:
        cache[path] = set(re.findall(r'\bid="([^"]+)"', path.read_text(encoding="utf-8")))
    return cache[path]


def _check_page(page: Path, html: Path, facts: dict, log: list, anchors: dict) -> list[str]:
    problems = []
    for src, complete, width in facts["images"]:
        if not complete or width == 0:
            problems.append(f"broken image {src}")
    for href in facts["hrefs"]:
        if REMOTE.match(href) or href.startswith(("mailto:", "javascript:")):
            continue  # a link to another site is not a resource; resources are checked below
        parts = urlsplit(href)
        target = page if not parts.path else (page.parent / unquote(parts.path)).resolve()
        if target.is_dir():
            target = target / "index.html"
        if not target.is_file():
            problems.append(f"broken link {href}")
        elif parts.fragment and target.suffix == ".html":
            if unquote(parts.fragment) not in _anchors(target, anchors):
                problems.append(f"broken anchor {href}")
    remote = [r for r in facts["resources"] if r and REMOTE.match(r)]
    css = facts["inline_css"]
    for resource in facts["resources"]:
        local = urlsplit(resource or "").path
        if local.endswith(".css") and not REMOTE.match(resource):
            css += (page.parent / unquote(local)).read_text(encoding="utf-8", errors="replace")
    remote += CSS_URL.findall(css)
    if remote:
        problems.append(f"network resources {sorted(set(remote))}")
    errors = [entry["message"] for entry in log if entry.get("level") == "SEVERE"]
    if errors:
        problems.append(f"console errors {errors}")
    return problems


def test_every_page_in_chromium(built_book, chromium):
    html = built_book / "html"
    pages = sorted(html.glob("*.html"))
    # the lessons as they were built (the staged copies: the checkout may have moved on since)
    lessons = {path.stem: path for path in sorted((built_book / "src").glob(make_book.LESSON_GLOB))}
    assert lessons and {p.stem for p in pages} >= {"index", *lessons}
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shots = {"index": ARTIFACTS / "front_page.png"}
    shown = next((n for n in lessons if n.startswith("05_")), next(iter(lessons)))
    shots[shown] = ARTIFACTS / f"{shown}.png"
    anchors: dict = {}
    problems: dict[str, list[str]] = {}
    for page in pages:
        chromium.get_log("browser")  # drop what earlier pages logged
        chromium.get(page.as_uri())
        facts = chromium.execute_script(PAGE_FACTS)
        found = _check_page(page, html, facts, chromium.get_log("browser"), anchors)
        lesson = lessons.get(page.stem)
        if lesson is not None:
            figures = len(list((built_book / "figures" / page.stem).rglob("*.png")))
            if facts["output_images"] < figures:
                found.append(f"{facts['output_images']} inline images, {figures} figures saved")
            if _has_formulas(lesson) and facts["math"] == 0:
                found.append("formulas in the source, no <math> on the page")
            if not facts["fast_note"]:
                found.append("no fast-mode note")
            if facts["unfolded_solutions"]:
                found.append(f"{facts['unfolded_solutions']} solution cells not in <details>")
        if facts["math_unseen"]:
            found.append(f"{facts['math_unseen']} <math> elements with an empty box")
        if page.stem in shots:  # a lesson's shot shows its first figure
            chromium.execute_script(
                "const img = document.querySelector('div.cell_output img');"
                "if (img) img.scrollIntoView({block: 'center', behavior: 'instant'});"
            )
            chromium.save_screenshot(str(shots[page.stem]))
        if found:
            problems[page.name] = found
    # the files themselves, whatever the browser made of them: no CDN script (MathJax, require.js)
    for path in html.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        remote = r"<(script|link)[^>]+(src|href)=\"(https?:)?//|<script[^>]*(mathjax|tex-mml)"
        if re.search(remote + r"|MathJax\s*=", text, re.I):
            problems.setdefault(path.name, []).append("a remote script, stylesheet or MathJax")
    assert not problems, "\n".join(f"{name}: {found}" for name, found in problems.items())
    for shot in shots.values():
        assert shot.is_file() and shot.stat().st_size > 10_000, shot
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_browser_tools_are_where_ci_installs_them():
    """CI installs chromium and chromium-driver (.ci/run); say so when they are missing."""
    if shutil.which("chromium") is None and not CHROMIUM.is_file():
        pytest.skip("chromium is not installed here (apt-get install chromium chromium-driver)")
    assert CHROMEDRIVER.is_file(), (
        "chromium without chromium-driver: apt-get install chromium-driver"
    )
