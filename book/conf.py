"""Sphinx configuration of the course book (`make book`; book/make_book.py stages the sources).

Every page is a lesson's jupytext percent file, executed in a Jupyter kernel at build time in
fast mode (book/make_book.py sets KERASCNN_FAST=1 and KERASCNN_OUT for the kernels); math is
rendered to MathML at build time (book/_ext/mathml.py); the theme (furo) ships its own CSS and
JS: the site needs no network.
"""

import sys
from pathlib import Path

BOOK = Path(__file__).resolve().parent
ROOT = BOOK.parent
sys.path.insert(0, str(BOOK / "_ext"))

project = "kerascnn"
author = "the kerascnn authors"
copyright = "the kerascnn authors, Apache-2.0"
html_title = "kerascnn: the course"

extensions = ["myst_nb", "mathml", "lessons"]

# the lessons: jupytext percent .py files, one truth (the .ipynb beside them are generated)
nb_custom_formats = {".py": ["jupytext.reads", {"fmt": "py:percent"}]}
book_lessons_dir = str(ROOT / "tutorials")

# execute every page at build time; a failing cell fails the build
nb_execution_mode = "force"
nb_execution_timeout = 300  # seconds per cell
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_merge_streams = True
nb_ipywidgets_js = {}  # no widget scripts from a CDN

# $...$ and $$...$$ in markdown cells, rendered server-side to MathML
myst_enable_extensions = ["dollarmath"]
myst_update_mathjax = False
html_math_renderer = "mathml"

html_theme = "furo"
html_show_sourcelink = False
html_copy_source = False
html_last_updated_fmt = None
exclude_patterns = ["_build"]
html_static_path = ["_static"]
html_css_files = ["book.css"]
