"""VNN-LIB text -> `Property`: the commands of VNN-LIB 1.0 (VNN-COMP) and 2.0.

1.0: `(declare-const X_0 Real)` ... `(assert ...)`. 2.0: `(vnnlib-version <2.0>)`,
`(declare-network N (declare-input X Real [1,5]) (declare-output Y Real [1,5]))`,
asserts over `X[0,2]`. SMT-LIB housekeeping commands (`set-logic`, `check-sat`, ...)
are accepted and ignored. Forms are handled as they are read, so bad input fails at
its first bad form.
"""

from __future__ import annotations

from pathlib import Path

from core.gunzip import MAX_PROPERTY_BYTES, GunzipError, gunzip_once, is_gzip
from core.spec.errors import SpecSyntaxError, VnnlibError
from core.spec.formula import Dnf, dnf
from core.spec.limits import DEFAULT_LIMITS, PropertyLimits
from core.spec.normalize import build_property
from core.spec.property import Property
from core.spec.sexpr import Atom, Bracket, SList, read_forms
from core.spec.terms import operands
from core.spec.variables import FLOAT_TYPES, INPUT, OUTPUT, Variables

_IGNORED = frozenset({"set-logic", "set-info", "set-option", "check-sat", "get-model", "exit"})


def parse_vnnlib(text: str, limits: PropertyLimits = DEFAULT_LIMITS) -> Property:
    """The property a VNN-LIB file describes; a VnnlibError (with line, column) if it is
    malformed or larger than `limits` allow."""
    try:
        return _parse(text, limits)
    except SpecSyntaxError as error:
        raise error.located(text) from None


def load_property(source: str | Path | bytes, limits: PropertyLimits = DEFAULT_LIMITS,
                  max_bytes: int = MAX_PROPERTY_BYTES) -> Property:
    """Read a property from a path (plain or .gz) or from raw bytes (gzipped or not);
    gzip is inflated once, to at most `max_bytes`."""
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    if is_gzip(data):
        try:
            data = gunzip_once(data, max_bytes)
        except GunzipError as error:
            raise VnnlibError(1, 1, str(error)) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        prefix = data[: error.start].decode("utf-8")
        problem = f"not UTF-8 text (byte 0x{data[error.start]:02x})"
        raise SpecSyntaxError(len(prefix), problem).located(prefix) from None
    return parse_vnnlib(text, limits)


def _parse(text: str, limits: PropertyLimits) -> Property:
    variables = Variables()
    asserts: list[tuple[int, Dnf]] = []
    for form in read_forms(text, limits):
        head = _command(form)
        if head == "assert":
            if len(asserts) == limits.asserts:
                raise SpecSyntaxError(form.pos, f"the property has more than {limits.asserts} asserts "
                                                "(the limit on asserts)")
            asserts.append((form.pos, _assertion(form, variables, limits.disjuncts)))
        elif head in ("declare-const", "declare-fun"):
            _declare_scalar(form, head, variables)
            _check_variables(form, variables, limits)
        elif head == "declare-network":
            _declare_network(form, variables)
            _check_variables(form, variables, limits)
        elif head == "vnnlib-version":
            _check_version(form)
        elif head not in _IGNORED:
            raise SpecSyntaxError(form.items[0].pos, f"unknown command {head!r}")
    return build_property(asserts, variables, len(text), limits.disjuncts, limits.values)


def _check_variables(form: SList, variables: Variables, limits: PropertyLimits) -> None:
    if variables.count() > limits.variables:
        raise SpecSyntaxError(form.pos, f"the property declares more than {limits.variables} inputs and outputs "
                                        "(the limit on variables)")


def _command(form: SList) -> str:
    if not form.items or not isinstance(form.items[0], Atom):
        raise SpecSyntaxError(form.pos, "expected a command name after '('")
    return form.items[0].text


def _assertion(form: SList, variables: Variables, max_disjuncts: int) -> Dnf:
    args = operands(form)
    if len(args) != 1:
        raise SpecSyntaxError(form.pos, f"assert takes one formula, found {len(args)}")
    return dnf(args[0], variables, max_disjuncts)


def _declare_scalar(form: SList, head: str, variables: Variables) -> None:
    items = form.items[1:]
    if head == "declare-fun":
        if len(items) != 3 or not (isinstance(items[1], SList) and not items[1].items):
            raise SpecSyntaxError(form.pos, "expected (declare-fun NAME () Real)")
        items = [items[0], items[2]]
    if len(items) != 2 or not all(isinstance(item, Atom) for item in items):
        raise SpecSyntaxError(form.pos, f"expected ({head} NAME Real)")
    if items[1].text != "Real":
        raise SpecSyntaxError(items[1].pos, f"unsupported sort {items[1].text!r}: only Real is supported")
    variables.declare_scalar(items[0])


def _declare_network(form: SList, variables: Variables) -> None:
    items = form.items[1:]
    if not items or not isinstance(items[0], Atom):
        raise SpecSyntaxError(form.pos, "expected (declare-network NAME (declare-input ...) (declare-output ...))")
    variables.begin_network(form.pos)
    declarations = items[1:]
    # Early 2.0 drafts wrapped the declarations in one more pair of parentheses.
    if len(declarations) == 1 and isinstance(declarations[0], SList) and declarations[0].items \
            and isinstance(declarations[0].items[0], SList):
        declarations = declarations[0].items
    for declaration in declarations:
        if not isinstance(declaration, SList):
            raise SpecSyntaxError(declaration.pos, "expected (declare-input ...) or (declare-output ...)")
        kind = _command(declaration)
        sides = {"declare-input": INPUT, "declare-output": OUTPUT}
        if kind not in sides:
            raise SpecSyntaxError(declaration.items[0].pos,
                                  f"unsupported network declaration {kind!r}: only declare-input and declare-output")
        _declare_tensor(declaration, sides[kind], variables)


def _declare_tensor(declaration: SList, side: str, variables: Variables) -> None:
    items = declaration.items[1:]
    shapes = [item for item in items if isinstance(item, Bracket)]
    words = [item for item in items if isinstance(item, Atom) and not item.text.startswith('"')]
    if len(shapes) != 1 or len(words) != 2 or any(isinstance(item, SList) for item in items):
        raise SpecSyntaxError(declaration.pos, "expected (declare-input NAME TYPE [d1,d2,...] [\"onnx-name\"])")
    name, element_type = words
    if element_type.text not in FLOAT_TYPES:
        raise SpecSyntaxError(element_type.pos,
                              f"unsupported element type {element_type.text!r}: expected Real or a float type")
    variables.declare_tensor(side, name, shapes[0])


def _check_version(form: SList) -> None:
    items = form.items[1:]
    version = items[0].text if len(items) == 1 and isinstance(items[0], Atom) else ""
    if version.strip("<>").split(".")[0] not in ("1", "2"):
        raise SpecSyntaxError(form.pos, f"unsupported VNN-LIB version {version!r}: expected <2.0>")
