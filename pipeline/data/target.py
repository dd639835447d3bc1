"""The target's description (<target folder>/target.yaml), validated on load.

Everything the code says about the target it reads here, so a second target is a second
folder of data files (README: Targets), never a change of code.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.errors import DataError
from pipeline.files import expect_list_of_strings, expect_mapping, load_yaml

TEXT_FIELDS = ("name", "description", "guide")
LIST_FIELDS = ("not_target", "phrases")


@dataclass(frozen=True)
class Target:
    name: str  # as it reads after "stance toward": "the proposed NATO liaison office in Tokyo"
    description: str  # what it is, for people
    guide: str  # the labelling guide its gold follows (a path from the project root)
    not_target: tuple[str, ...]  # neighbouring targets, which stay neutral
    phrases: tuple[str, ...]  # paraphrases the behavioural templates fill {target} with

    @classmethod
    def load(cls, path) -> Target:
        data = expect_mapping(load_yaml(path), path, "the target description")
        for key in data:
            if key not in TEXT_FIELDS + LIST_FIELDS:
                raise DataError(
                    path, data.key_lines[key], f"unknown key {key!r}; use {', '.join(TEXT_FIELDS + LIST_FIELDS)}"
                )
        fields = {}
        for key in TEXT_FIELDS + LIST_FIELDS:
            if key not in data:
                raise DataError(
                    path, data.line or 1, f"missing {key!r}; the file needs {', '.join(TEXT_FIELDS + LIST_FIELDS)}"
                )
            if key in TEXT_FIELDS:
                if not isinstance(data[key], str) or not data[key].strip():
                    raise DataError(path, data.key_lines[key], f"{key} must be a line of text")
                fields[key] = " ".join(data[key].split())
            else:
                values = expect_list_of_strings(data[key], path, key, data.key_lines[key])
                fields[key] = tuple(str(value) for value in values)
        if not fields["phrases"]:
            raise DataError(path, data.key_lines["phrases"], "phrases needs at least one paraphrase of the target")
        return cls(**fields)
