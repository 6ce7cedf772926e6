"""The declared input and output variables of a property, in either VNN-LIB dialect.

VNN-LIB 1.0 (as VNN-COMP uses it) declares scalars `X_0 ... X_{n-1}` and
`Y_0 ... Y_{m-1}`. VNN-LIB 2.0 declares one input and one output tensor inside
`(declare-network ...)` and refers to elements as `X[0,2]`; element indices are
flattened in row-major (C) order, which is how VNN-COMP numbers X_i as well.
"""

from __future__ import annotations

import math
import re

from core.spec.errors import SpecSyntaxError
from core.spec.sexpr import Atom, Bracket

INPUT, OUTPUT = "X", "Y"
_SCALAR_NAME = re.compile(r"([XY])_(0|[1-9][0-9]*)\Z")
_INDEX = re.compile(r"(0|[1-9][0-9]*)\Z")
FLOAT_TYPES = frozenset({"Real", "float16", "float32", "float64", "bfloat16", "F16", "F32", "F64", "BF16"})


class Variables:
    """Name -> (side, flat index), plus where each side was declared (for error positions)."""

    def __init__(self) -> None:
        self._scalars: dict[str, tuple[str, int]] = {}
        self._tensors: dict[str, tuple[str, tuple[int, ...]]] = {}
        self._tensor_names: dict[str, str] = {}
        self._scalar_pos: dict[tuple[str, int], int] = {}
        self._side_pos: dict[str, int] = {}
        self._network_seen = False

    def declare_scalar(self, name: Atom) -> None:
        """A 1.0 `(declare-const X_3 Real)`: only X_i and Y_j names carry meaning."""
        if self._tensors:
            raise SpecSyntaxError(name.pos, "declare-const mixed with VNN-LIB 2.0 declare-network declarations")
        match = _SCALAR_NAME.match(name.text)
        if match is None:
            raise SpecSyntaxError(
                name.pos, f"cannot declare {name.text!r}: only X_<i> (inputs) and Y_<j> (outputs) are supported")
        if name.text in self._scalars:
            raise SpecSyntaxError(name.pos, f"{name.text} is declared twice")
        key = (match.group(1), int(match.group(2)))
        self._scalars[name.text] = key
        self._scalar_pos[key] = name.pos
        self._side_pos.setdefault(key[0], name.pos)

    def begin_network(self, pos: int) -> None:
        """A 2.0 `(declare-network ...)`; one per property, as the engine checks one network."""
        if self._network_seen:
            raise SpecSyntaxError(pos, "only one declare-network per property is supported")
        self._network_seen = True

    def declare_tensor(self, side: str, name: Atom, shape: Bracket) -> None:
        """A 2.0 `(declare-input X Real [1,5])` or `(declare-output ...)`."""
        if self._scalars:
            raise SpecSyntaxError(name.pos, "declare-network mixed with VNN-LIB 1.0 declare-const declarations")
        if side in self._side_pos:
            what = "input" if side == INPUT else "output"
            raise SpecSyntaxError(name.pos, f"only one {what} tensor per network is supported")
        if name.text in self._tensors:
            raise SpecSyntaxError(name.pos, f"{name.text} is declared twice")
        dims = tuple(_index(atom, "shape dimension") for atom in shape.items)
        if any(d == 0 for d in dims):
            raise SpecSyntaxError(shape.pos, f"tensor {name.text} has an empty dimension in its shape")
        self._tensors[name.text] = (side, dims)
        self._tensor_names[side] = name.text
        self._side_pos[side] = name.pos

    def count(self) -> int:
        """How many inputs and outputs are declared so far."""
        return len(self._scalars) + sum(math.prod(dims) for _, dims in self._tensors.values())

    def resolve(self, name: Atom, index: Bracket | None) -> tuple[str, int]:
        """The (side, flat index) that `name` (with its 2.0 `[...]` index, if any) refers to."""
        if index is None:
            found = self._scalars.get(name.text)
            if found is not None:
                return found
            if name.text in self._tensors and not self._tensors[name.text][1]:
                return self._tensors[name.text][0], 0
            if name.text in self._tensors:
                raise SpecSyntaxError(name.pos, f"tensor {name.text} needs an index such as {name.text}[0]")
            raise SpecSyntaxError(name.pos, f"unknown variable {name.text!r}")
        if name.text not in self._tensors:
            raise SpecSyntaxError(name.pos, f"unknown tensor {name.text!r}")
        side, dims = self._tensors[name.text]
        indices = [_index(atom, "index") for atom in index.items]
        if len(indices) != len(dims):
            raise SpecSyntaxError(
                index.pos, f"{name.text} has {len(dims)} dimensions but {len(indices)} indices were given")
        flat = 0
        for position, (i, d) in enumerate(zip(indices, dims)):
            if i >= d:
                raise SpecSyntaxError(index.items[position].pos, f"index {i} out of range for dimension of size {d}")
            flat = flat * d + i
        return side, flat

    def sizes(self, end: int) -> tuple[int, int]:
        """(n_inputs, n_outputs), checking both sides exist and 1.0 names are X_0..X_{n-1}."""
        counts = []
        for side, what in ((INPUT, "input"), (OUTPUT, "output")):
            if side not in self._side_pos:
                raise SpecSyntaxError(end, f"no {what} variables are declared")
            if side in self._tensor_names:
                counts.append(math.prod(self._tensors[self._tensor_names[side]][1]))
                continue
            indices = sorted(i for s, i in self._scalar_pos if s == side)
            missing = next((k for k, i in enumerate(indices) if k != i), None)
            if missing is not None:
                raise SpecSyntaxError(
                    self._side_pos[side], f"{side}_{missing} is never declared, but {side}_{indices[-1]} is")
            counts.append(len(indices))
        return counts[0], counts[1]

    def name(self, side: str, flat: int) -> str:
        """How the file spells one element, for error messages."""
        tensor = self._tensor_names.get(side)
        if tensor is None:
            return f"{side}_{flat}"
        dims = self._tensors[tensor][1]
        indices = []
        for d in reversed(dims):
            indices.append(flat % d)
            flat //= d
        return f"{tensor}[{','.join(str(i) for i in reversed(indices))}]"

    def position(self, side: str, flat: int) -> int:
        """Where the variable (or its tensor) was declared."""
        return self._scalar_pos.get((side, flat), self._side_pos.get(side, 0))


def _index(atom: Atom, what: str) -> int:
    if not _INDEX.match(atom.text):
        raise SpecSyntaxError(atom.pos, f"bad {what} {atom.text!r}: expected a non-negative integer")
    return int(atom.text)
