"""The Wycheproof-style envelope shared by every vector family.

A vector file is one JSON object::

    {
      "algorithm": "...",              # what the file tests
      "schema": "<family>_v1.json",    # file name under vectors/schemas/
      "numberOfTests": 123,            # total tests over all groups
      "header": ["...", ...],          # free text for the reader
      "notes": {FLAG: {"bugType": ..., "description": ..., "effect": ...}},
      "testGroups": [{"type": ..., ..., "tests": [{"tcId": 1, "comment": ...,
                      "flags": [...], "result": "valid" | "invalid" | "acceptable", ...}]}]
    }

``tcId`` runs 1, 2, 3, ... in file order; it is stable because generation is
deterministic (the same code always emits the same cases in the same order).
Files are written in one canonical format (:func:`dump_json`): UTF-8, two
spaces of indentation, keys in the order the generator emits them, a final
newline.  ``vigilnet vectors lint`` holds every file to all of this.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "RESULTS",
    "Case",
    "Family",
    "Group",
    "Note",
    "dump_json",
    "envelope",
    "envelope_schema",
    "hex_string",
]

RESULTS = ("valid", "invalid", "acceptable")


@dataclass(frozen=True, slots=True, kw_only=True)
class Note:
    """What a flag means, in Wycheproof's terms."""

    bug_type: str
    description: str
    effect: str = ""

    def to_json(self) -> dict[str, str]:
        out = {"bugType": self.bug_type, "description": self.description}
        if self.effect:
            out["effect"] = self.effect
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class Case:
    """One test before numbering: its family-specific fields plus the
    common ones."""

    comment: str
    result: str
    flags: tuple[str, ...]
    fields: Mapping[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class Group:
    type: str
    fields: Mapping[str, Any]
    cases: tuple[Case, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Family:
    """A vector family: one file, one schema, one generator, one verifier.

    ``verify_case(group, test)`` replays one test through the implementation
    and returns ``None`` when the implementation agrees with the recorded
    result, or a sentence saying how it disagrees.
    """

    name: str
    algorithm: str
    header: tuple[str, ...]
    notes: Mapping[str, Note]
    group_schema: Mapping[str, Any]
    test_schema: Mapping[str, Any]
    build: Callable[[], Iterable[Group]]
    verify_case: Callable[[Mapping[str, Any], Mapping[str, Any]], str | None]

    @property
    def file_name(self) -> str:
        return f"{self.name}_test.json"

    @property
    def schema_name(self) -> str:
        return f"{self.name}_v1.json"


def hex_string(description: str) -> dict[str, str]:
    return {"type": "string", "pattern": "^([0-9a-f]{2})*$", "description": description}


def envelope(family: Family) -> dict[str, Any]:
    """Build the whole file for ``family``, numbering tests from 1."""
    groups = []
    tc_id = 0
    for group in family.build():
        tests = []
        for case in group.cases:
            tc_id += 1
            unknown = set(case.flags) - set(family.notes)
            if unknown:
                raise ValueError(f"{family.name}: flags {sorted(unknown)} have no note")
            test = {"tcId": tc_id, "comment": case.comment, "flags": list(case.flags)}
            test.update(case.fields)
            test["result"] = case.result
            tests.append(test)
        entry: dict[str, Any] = {"type": group.type}
        entry.update(group.fields)
        entry["tests"] = tests
        groups.append(entry)
    return {
        "algorithm": family.algorithm,
        "schema": family.schema_name,
        "numberOfTests": tc_id,
        "header": list(family.header),
        "notes": {flag: note.to_json() for flag, note in sorted(family.notes.items())},
        "testGroups": groups,
    }


def envelope_schema(family: Family) -> dict[str, Any]:
    """The JSON schema of ``family``'s file; every object is closed
    (``additionalProperties: false``)."""
    test_properties: dict[str, Any] = {
        "tcId": {"type": "integer", "minimum": 1, "description": "unique, stable test id"},
        "comment": {"type": "string"},
        "flags": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
        "result": {"enum": list(RESULTS)},
    }
    test_properties.update(family.test_schema["properties"])
    group_properties: dict[str, Any] = {"type": family.group_schema["type"]}
    group_properties.update(family.group_schema["properties"])
    group_properties["tests"] = {"type": "array", "items": {"$ref": "#/definitions/Test"}}
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": f"vigilnet {family.name} test vectors, version 1",
        "type": "object",
        "definitions": {
            "Note": {
                "type": "object",
                "properties": {
                    "bugType": {"type": "string"},
                    "description": {"type": "string"},
                    "effect": {"type": "string"},
                },
                "required": ["bugType", "description"],
                "additionalProperties": False,
            },
            "TestGroup": {
                "type": "object",
                "properties": group_properties,
                "required": sorted(group_properties),
                "additionalProperties": False,
            },
            "Test": {
                "type": "object",
                "properties": test_properties,
                "required": ["tcId", "comment", "flags", "result", *family.test_schema["required"]],
                "additionalProperties": False,
            },
        },
        "properties": {
            "algorithm": {"const": family.algorithm},
            "schema": {"const": family.schema_name},
            "numberOfTests": {"type": "integer", "minimum": 0},
            "header": {"type": "array", "items": {"type": "string"}},
            "notes": {"type": "object", "additionalProperties": {"$ref": "#/definitions/Note"}},
            "testGroups": {"type": "array", "items": {"$ref": "#/definitions/TestGroup"}},
        },
        "required": ["algorithm", "schema", "numberOfTests", "header", "notes", "testGroups"],
        "additionalProperties": False,
    }


def dump_json(document: Any) -> str:
    """The one canonical text of a vector or schema file."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
