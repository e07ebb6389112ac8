"""Griffe extension: the reStructuredText parts of our numpydoc docstrings, in mkdocs terms.

The docstrings are numpydoc, written for ``help()``, doctests and Sphinx alike: they use Sphinx
roles (``:func:`rfm_summary```), ``:math:`` roles and ``.. math::`` directives, shared parameter
entries (``customer_col, date_col : str``) and value sets (``unit : {'H', 'D', 'W'}``).
mkdocstrings renders docstrings as Markdown, so without this extension the site shows the roles
literally and leaves the equations untypeset; and griffe takes a parameter's default from the
docstring, not the signature: every name of a shared entry gets the first one's default
(``date_col`` showed ``'customer_id'``), a value set its first value (``unit`` showed ``'H'``, the
signature says ``'D'``). The docstrings stay as they are; this rewrites them only for the site
(mkdocs.yml: ``extensions: [griffe_numpydoc.py]``):

- a citation ``.. [1] ...`` becomes a list item ``[1] ...`` and its references ``[1]_`` plain ``[1]``;
- a role becomes a link to the object when the site documents it (an *optional* autorefs
  reference, so a name the site does not document, e.g. ``os.replace``, is plain code and not a
  broken link), resolved like Sphinx: in the object, its parents, then the package;
- ``:math:`x``` becomes ``\\(x\\)`` and a ``.. math::`` directive a ``$$`` block, which
  pymdownx.arithmatex hands to the bundled MathJax;
- every documented parameter shows the default of the signature (none for a required one):
  the signature is what the code does.

``tests/test_docs.py`` checks the built site: no literal role, every default as in the signature.
"""

from __future__ import annotations

import html
import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:py:)?(?P<role>class|func|meth|data|mod|attr|exc|obj|const):`(?P<text>[^`]+)`")
MATH_ROLE = re.compile(r":math:`(?P<tex>[^`]+)`")
MATH_DIRECTIVE = re.compile(r"^(?P<indent>\s*)\.\. math::\s*(?P<first>.*)$")
CITATION = re.compile(r"^(?P<indent>\s*)\.\. \[(?P<label>[\w-]+)\]\s+", flags=re.M)
CITATION_REFERENCE = re.compile(r"\[(?P<label>[\w-]+)\]_")


class NumpydocForMkdocs(griffe.Extension):
    """Rewrite every docstring of the loaded package once it is fully loaded."""

    def on_package(self, *, pkg: griffe.Module, loader: griffe.GriffeLoader, **kwargs: Any) -> None:
        objects = list(_walk(pkg))
        bases = set()
        for obj in objects:
            if obj.is_class:
                try:
                    bases.update(base.path for base in obj.mro())
                except (griffe.AliasResolutionError, griffe.CyclicAliasError, ValueError):
                    pass
        for obj in objects:
            if obj.docstring is not None:
                obj.docstring.value = rewrite(obj.docstring.value, obj, loader.modules_collection, bases)
                # parsed once here (with the site's parser and options), then kept by griffe
                _defaults_from_signature(obj)


def _walk(obj: griffe.Object):
    yield obj
    for member in obj.members.values():
        # an alias's docstring is its target's, rewritten where the target is defined
        if not member.is_alias:
            yield from _walk(member)


def rewrite(text: str, obj: griffe.Object, collection, bases: set[str] = frozenset()) -> str:
    text = _math_blocks(text)
    # numpydoc's References: ".. [1] Author (year)..." entries, cited as "[1]_"
    text = CITATION.sub(lambda m: f"{m['indent']}- [{m['label']}] ", text)
    text = CITATION_REFERENCE.sub(lambda m: f"[{m['label']}]", text)
    text = MATH_ROLE.sub(lambda m: rf"\({m['tex']}\)", text)
    return ROLE.sub(lambda m: _reference(m["text"], obj, collection, bases), text)


def _reference(text: str, obj: griffe.Object, collection, bases) -> str:
    # Sphinx: "~a.b.c" shows "c"; "title <target>" shows the title
    explicit = re.fullmatch(r"(?P<title>.+?)\s*<(?P<target>[^>]+)>", text)
    if explicit:
        title, target = explicit["title"], explicit["target"]
    else:
        target = text.lstrip("~")
        title = target.rsplit(".", 1)[-1] if text.startswith("~") else target
    target = target.lstrip(".").removesuffix("()")
    code = f"<code>{html.escape(title)}</code>"
    path = _resolve(target, obj, collection, bases)
    if path is None:
        return code
    return f'<autoref identifier="{html.escape(path)}" optional>{code}</autoref>'


def _resolve(target: str, obj: griffe.Object, collection, bases) -> str | None:
    scopes = []
    scope = obj
    while scope is not None:
        scopes.append(scope.path)
        scope = scope.parent
    for prefix in [*scopes, ""]:
        candidate = f"{prefix}.{target}" if prefix else target
        try:
            found = collection.get_member(candidate)
        except (KeyError, ValueError, AttributeError, griffe.AliasResolutionError, griffe.CyclicAliasError):
            continue
        try:
            found = found.final_target if found.is_alias else found
        except (griffe.AliasResolutionError, griffe.CyclicAliasError):
            return found.path
        owner = found.parent
        if owner is not None and owner.path in bases:
            # a base-class member is rendered once per documented subclass (inherited_members),
            # so no single anchor answers for it: leave it as code rather than guess one
            return None
        return found.path
    return None


def _math_blocks(text: str) -> str:
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        match = MATH_DIRECTIVE.match(lines[i])
        if not match:
            out.append(lines[i])
            i += 1
            continue
        indent = match["indent"]
        body = [match["first"].strip()] if match["first"].strip() else []
        i += 1
        # the directive's content: the following lines indented deeper, and blank lines among them
        while i < len(lines) and (not lines[i].strip() or _indent(lines[i]) > len(indent)):
            body.append(lines[i].strip())
            i += 1
        while body and not body[-1]:
            body.pop()
        trailing_blank = i < len(lines)
        body = [line for line in body if line]
        out += ["", f"{indent}$$", *(f"{indent}{line}" for line in body), f"{indent}$$"]
        if trailing_blank:
            out.append("")
    return "\n".join(out)


def _defaults_from_signature(obj: griffe.Object) -> None:
    try:
        parameters = {p.name: p for p in obj.parameters}
    except (AttributeError, TypeError, griffe.AliasResolutionError):
        return
    for section in obj.docstring.parsed:
        if section.kind not in (griffe.DocstringSectionKind.parameters, griffe.DocstringSectionKind.other_parameters):
            continue
        for entry in section.value:
            signature = parameters.get(entry.name)
            if signature is not None and signature.kind not in (
                griffe.ParameterKind.var_positional, griffe.ParameterKind.var_keyword,
            ):
                entry.value = None if signature.default is None else str(signature.default)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())
