"""VNN-LIB properties -> `Property` (input boxes, unsafe output region); torch-free."""

from core.spec.errors import VnnlibError as VnnlibError
from core.spec.limits import PropertyLimits as PropertyLimits
from core.spec.parser import load_property as load_property, parse_vnnlib as parse_vnnlib
from core.spec.property import Box as Box, Conjunction as Conjunction, Property as Property, Region as Region
from core.spec.writer import format_vnnlib as format_vnnlib
