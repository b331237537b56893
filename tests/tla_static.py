"""Static checks of TLA+ modules and TLC configuration files.

TLC is not served by any registry CI reaches, so the defects it would stop
on at once are checked here, on the tree-sitter parse of each module:

* **sibling bounds**: in ``\\E r \\in S, m \\in T(r) : P`` the sets are
  evaluated outside the scope of every variable of the list, so ``T`` may
  not mention ``r`` (SANY's semantic analysis refuses it);
* **defined names**: every identifier an expression uses is a constant, a
  variable, an operator defined earlier (or declared ``RECURSIVE``), a
  parameter, a ``LET`` definition or a bound variable in scope, or an
  operator of a standard module the module ``EXTENDS``;

and, on the text of each ``.cfg``, that it uses only TLC's configuration
grammar: known keywords, no negative numeric literals (TLC's config parser
has none: ``Lower = -1`` fails with "expecting = or <-"), ``CHECK_DEADLOCK``
present, and a ``SYMMETRY`` only where the constants it permutes are model
values.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field

import tree_sitter
import tree_sitter_tlaplus

__all__ = ["cfg_problems", "module_problems", "parser"]

#: Operators of the standard modules, by module (the subset a spec may name
#: as an identifier; infix symbols are tokens, not identifiers).
STANDARD: dict[str, frozenset[str]] = {
    "Naturals": frozenset({"Nat"}),
    "Integers": frozenset({"Int", "Nat"}),
    "Reals": frozenset({"Real", "Int", "Nat", "Infinity"}),
    "Sequences": frozenset({"Seq", "Len", "Append", "Head", "Tail", "SubSeq", "SelectSeq"}),
    "FiniteSets": frozenset({"IsFiniteSet", "Cardinality"}),
    "Bags": frozenset(
        {
            "IsABag",
            "BagToSet",
            "SetToBag",
            "BagIn",
            "EmptyBag",
            "BagCup",
            "BagCardinality",
            "CopiesIn",
            "SubBag",
            "BagOfAll",
            "BagUnion",
        }
    ),
    "TLC": frozenset(
        {
            "Print",
            "PrintT",
            "Assert",
            "JavaTime",
            "TLCGet",
            "TLCSet",
            "Permutations",
            "SortSeq",
            "RandomElement",
            "Any",
            "ToString",
            "TLCEval",
        }
    ),
}
#: Names every module has (built into TLA+).
BUILTIN = frozenset({"BOOLEAN", "STRING", "TRUE", "FALSE"})

_BINDERS = ("bounded_quantification", "set_map", "set_filter", "function_literal")


def parser() -> tree_sitter.Parser:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        language = tree_sitter.Language(tree_sitter_tlaplus.language())
    return tree_sitter.Parser(language)


@dataclass
class _Walk:
    source: bytes
    problems: list[str] = field(default_factory=list)

    def text(self, node: tree_sitter.Node) -> str:
        return self.source[node.start_byte : node.end_byte].decode()

    def line(self, node: tree_sitter.Node) -> int:
        return node.start_point[0] + 1

    def bound_names(self, bound: tree_sitter.Node) -> list[str]:
        names: list[str] = []
        for child in bound.children:
            if child.type == "identifier":
                names.append(self.text(child))
            elif child.type == "tuple_of_identifiers":
                names.extend(self.text(c) for c in child.children if c.type == "identifier")
        return names

    def bound_set(self, bound: tree_sitter.Node) -> tree_sitter.Node | None:
        seen_in = False
        for child in bound.children:
            if seen_in:
                return child
            seen_in = child.type == "set_in"
        return None

    def refs(self, node: tree_sitter.Node) -> list[tree_sitter.Node]:
        out: list[tree_sitter.Node] = []
        stack = [node]
        while stack:
            n = stack.pop()
            if n.type == "identifier_ref":
                out.append(n)
            stack.extend(n.children)
        return out

    # -- scope-aware expression walk ------------------------------------------

    def expr(self, node: tree_sitter.Node, scope: frozenset[str]) -> None:
        kind = node.type
        if kind == "identifier_ref":
            name = self.text(node)
            if name not in scope:
                self.problems.append(f"line {self.line(node)}: {name} is not defined")
            return
        if kind in ("record_value",):
            self.expr(node.children[0], scope)  # the field name is not a reference
            return
        if kind in ("except_update_record_field", "comment", "block_comment"):
            return
        if kind in _BINDERS:
            bounds = [c for c in node.children if c.type == "quantifier_bound"]
            names = [n for b in bounds for n in self.bound_names(b)]
            for b in bounds:
                target = self.bound_set(b)
                if target is None:
                    continue
                for ref in self.refs(target):
                    if self.text(ref) in names:
                        self.problems.append(
                            f"line {self.line(ref)}: bound {self.text(ref)} used in a sibling"
                            " bound of the same list"
                        )
                self.expr(target, scope)
            inner = scope | set(names)
            for c in node.children:
                if c.type != "quantifier_bound":
                    self.expr(c, inner)
            return
        if kind in ("choose", "unbounded_quantification"):
            names = [self.text(c) for c in node.children if c.type == "identifier"]
            inner = scope | set(names)
            after_in = False
            for c in node.children:
                if c.type == "set_in":
                    after_in = True
                    continue
                if after_in and c.type not in (":",):
                    # CHOOSE x \in S: S is outside x's scope.
                    self.expr(c, scope)
                    after_in = False
                    continue
                if c.type != "identifier":
                    self.expr(c, inner)
            return
        if kind == "let_in":
            inner = scope
            for c in node.children:
                if c.type == "operator_definition":
                    inner = self.definition(c, inner)
                elif c.type == "recursive_declaration":
                    inner = inner | self.declared(c)
                elif c.is_named:
                    self.expr(c, inner)
            return
        if kind in ("record_literal", "set_of_records"):
            for c in node.children:
                if c.type != "identifier":
                    self.expr(c, scope)
            return
        for c in node.children:
            self.expr(c, scope)

    def declared(self, node: tree_sitter.Node) -> set[str]:
        names = set()
        for c in node.children:
            if c.type == "identifier":
                names.add(self.text(c))
            elif c.type == "operator_declaration":
                names.add(self.text(c.children[0]))
        return names

    def definition(self, node: tree_sitter.Node, scope: frozenset[str]) -> frozenset[str]:
        name = self.text(node.children[0])
        params: set[str] = set()
        body_start = 0
        for i, c in enumerate(node.children):
            if c.type == "def_eq":
                body_start = i + 1
                break
            if i == 0:
                continue
            if c.type == "identifier":
                params.add(self.text(c))
            elif c.type == "operator_declaration":
                params.add(self.text(c.children[0]))
        for c in node.children[body_start:]:
            self.expr(c, scope | params)
        return scope | {name}


def module_problems(source: bytes) -> list[str]:
    """Sibling-bound and undefined-name problems of one module."""
    tree = parser().parse(source)
    walk = _Walk(source)
    module = next(c for c in tree.root_node.children if c.type == "module")
    scope = frozenset(BUILTIN)
    for node in module.children:
        if node.type == "extends":
            for ref in node.children:
                if ref.type == "identifier_ref":
                    std = walk.text(ref)
                    if std not in STANDARD:
                        walk.problems.append(f"EXTENDS {std}: not a standard module we know")
                    scope = scope | STANDARD.get(std, frozenset())
        elif node.type in ("constant_declaration", "variable_declaration", "recursive_declaration"):
            scope = scope | walk.declared(node)
        elif node.type == "operator_definition":
            scope = walk.definition(node, scope)
        elif node.type == "assumption":
            for c in node.children:
                if c.is_named:
                    walk.expr(c, scope)
        elif node.type in ("function_definition", "instance", "module_definition", "theorem"):
            walk.problems.append(f"line {walk.line(node)}: {node.type} is not checked here")
    return walk.problems


_CFG_KEYWORDS = frozenset(
    {"CONSTANT", "CONSTANTS", "INIT", "NEXT", "SPECIFICATION", "INVARIANT", "INVARIANTS",
     "PROPERTY", "PROPERTIES", "SYMMETRY", "VIEW", "CONSTRAINT", "CONSTRAINTS",
     "ACTION_CONSTRAINT", "ACTION_CONSTRAINTS", "CHECK_DEADLOCK", "POSTCONDITION", "ALIAS"}
)  # fmt: skip
_CFG_TOKEN = re.compile(r'\s*(?:(\\\*[^\n]*)|(\(\*.*?\*\))|([A-Za-z_][A-Za-z0-9_!]*)|(<-|=|\{|\}|,)|(\d+)|("[^"]*")|(\S))', re.S)  # fmt: skip


def cfg_problems(text: str) -> list[str]:
    """Problems of one TLC configuration file (see the module docstring)."""
    problems: list[str] = []
    tokens: list[str] = []
    for match in _CFG_TOKEN.finditer(text):
        comment, block, word, punct, number, string, other = match.groups()
        if comment or block:
            continue
        token = word or punct or number or string or other
        if token is None:
            continue
        if other is not None:
            problems.append(f"unexpected character {other!r} (no negative literals in a cfg)")
        tokens.append(token)
    if "CHECK_DEADLOCK" not in tokens:
        problems.append("CHECK_DEADLOCK missing (TLC checks deadlock by default)")
    else:
        i = tokens.index("CHECK_DEADLOCK")
        if i + 1 >= len(tokens) or tokens[i + 1] not in ("TRUE", "FALSE"):
            problems.append("CHECK_DEADLOCK needs TRUE or FALSE")
    if "SYMMETRY" in tokens:
        # A symmetry set must be a set of model values: some constant must be
        # assigned a set of bare identifiers (model values), not numbers.
        sets = re.findall(r"=\s*\{([^}]*)\}", re.sub(r"\\\*[^\n]*", "", text))
        if not any(s.strip() and all(re.fullmatch(r"[A-Za-z_]\w*", x.strip()) for x in s.split(","))
                   for s in sets):  # fmt: skip
            problems.append("SYMMETRY without any set of model values")
    first = next((t for t in tokens), None)
    if first is not None and first not in _CFG_KEYWORDS:
        problems.append(f"cfg starts with {first!r}, not a keyword")
    return problems
