"""VNN-LIB properties -> `Property` (input boxes, unsafe output region)."""

from core.spec.property import Box as Box, Conjunction as Conjunction, Property as Property, Region as Region
