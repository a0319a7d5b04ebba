"""Sphinx HTML math renderer "mathml": LaTeX to MathML at build time, with latex2mathml.

The pages carry MathML, which browsers typeset themselves: no MathJax, no script, no network.
A formula latex2mathml cannot convert (an exception, or a command it does not know, which it
would otherwise pass through as text such as ``\\foo``) stops the build, naming the page and
the formula.
"""

from __future__ import annotations

import re

from docutils import nodes
from latex2mathml.converter import convert
from sphinx.errors import ExtensionError

# latex2mathml writes a command it does not know as an identifier holding the command itself.
UNKNOWN_COMMAND = re.compile(r">(\\[A-Za-z]+)<")


def to_mathml(latex: str, display: str, docname: str) -> str:
    """``latex`` as a <math> element; raises ExtensionError naming ``docname`` and the formula."""
    try:
        mathml = convert(latex, display=display)
    except Exception as exc:  # latex2mathml raises bare StopIteration, IndexError, ... on bad input
        raise ExtensionError(
            f"{docname}: latex2mathml cannot convert the formula ${latex}$ "
            f"({type(exc).__name__}: {exc}). Use plain LaTeX (see CONTRIBUTING.md, 'The book')."
        ) from exc
    unknown = UNKNOWN_COMMAND.findall(mathml)
    if unknown:
        raise ExtensionError(
            f"{docname}: latex2mathml does not know {', '.join(sorted(set(unknown)))} in the "
            f"formula ${latex}$. Use plain LaTeX (see CONTRIBUTING.md, 'The book')."
        )
    return mathml


def visit_inline(self, node: nodes.math) -> None:
    docname = self.builder.current_docname
    self.body.append(
        f'<span class="math notranslate">{to_mathml(node.astext(), "inline", docname)}</span>'
    )
    raise nodes.SkipNode


def visit_block(self, node: nodes.math_block) -> None:
    docname = self.builder.current_docname
    mathml = to_mathml(node.astext(), "block", docname)
    number = node.get("number")
    label = f'<span class="eqno">({number})</span>' if number else ""
    ids = " ".join(node.get("ids", []))
    id_attr = f' id="{ids}"' if ids else ""
    self.body.append(f'<div class="math notranslate"{id_attr}>{label}{mathml}</div>\n')
    raise nodes.SkipNode


def setup(app):
    app.add_html_math_renderer("mathml", (visit_inline, None), (visit_block, None))
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
