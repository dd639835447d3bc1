"""The behavioural suite: templated sentences (<target>/behaviour.yaml) expanded for every actor.

Each generated sentence goes through the same candidate generator as any article,
so a test also fails when the matcher does not find the actor it names.
"""

from __future__ import annotations

import itertools
import re
import string
from dataclasses import dataclass

from pipeline.data.actors import ActorRegistry
from pipeline.data.candidates import article_candidates
from pipeline.data.labels import LABELS, best_labels
from pipeline.data.target import Target
from pipeline.errors import DataError
from pipeline.files import expect_list_of_strings, expect_mapping, kind, line_of, load_yaml
from pipeline.modeling.predict import class_scores, pairs_frame

ROLES = ("actor", "other")
PLACES = (*ROLES, "outlet", "target")  # the placeholders a template may use
_DOUBLED = re.compile(r"\{\s*(?:" + "|".join(PLACES) + r")\s*\}")  # a placeholder in doubled braces, once read
SUITE_KEYS = ("outlets", "capabilities")
INVARIANCE = "invariance"


@dataclass
class Case:
    capability: str
    actor: str
    variants: list[tuple[str, dict[str, str]]]  # (sentence, {actor id: expected label})


def load_suite(path, registry: ActorRegistry, target: Target) -> list[Case]:
    """Every template for every actor; {target} takes the target's paraphrases (target.yaml)."""
    data = expect_mapping(load_yaml(path), path, "the behaviour suite")
    for key in data:
        if key not in SUITE_KEYS:
            raise DataError(
                path, data.key_lines[key], f"unknown key {key!r}; the keys here are {', '.join(SUITE_KEYS)}"
            )
    for key in SUITE_KEYS:
        if key not in data:
            raise DataError(path, data.line or 1, f"missing {key!r}")
    outlets = expect_list_of_strings(data["outlets"], path, "outlets", data.key_lines["outlets"])
    if not outlets:
        raise DataError(path, data.key_lines["outlets"], "outlets needs at least one outlet")
    phrases = target.phrases
    capabilities = expect_mapping(data["capabilities"], path, "capabilities", data.key_lines["capabilities"])
    if not capabilities:
        raise DataError(path, data.key_lines["capabilities"], "capabilities needs at least one capability")
    actors = registry.actors
    cases = []
    for capability, templates in capabilities.items():
        if not isinstance(templates, list) or not templates:
            raise DataError(
                path, capabilities.key_lines[capability], f"capability {capability!r} needs a list of templates"
            )
        for template in templates:
            text, expect = _check_template(
                path, capability, template, capabilities.key_lines[capability], registry.author is not None
            )
            for position, actor in enumerate(actors):
                other = actors[(position + 1) % len(actors)]
                names = {"actor": registry.names(actor)[0], "other": registry.names(other)[0]}
                ids = {"actor": actor, "other": other}
                fills = itertools.product(outlets, phrases) if capability == INVARIANCE else [(outlets[0], phrases[0])]
                variants = []
                for outlet, phrase in fills:
                    sentence = text.format(outlet=outlet, target=phrase, **names)
                    variants.append((sentence, {ids[role]: label for role, label in expect.items()}))
                cases.append(Case(capability, actor, variants))
    return cases


def _check_template(path, capability, template, line, author: bool = False):
    """`author`: the registry's one holder is the text's author, whom a template never names."""
    if not isinstance(template, dict) or "text" not in template or "expect" not in template:
        raise DataError(path, line_of(template, line), f"{capability}: each template needs 'text' and 'expect'")
    unknown = sorted(set(template) - {"text", "expect"}, key=str)
    if unknown:
        raise DataError(
            path, line_of(template, line), f"{capability}: unknown key {unknown[0]!r}; a template has text and expect"
        )
    text, expect = template["text"], template["expect"]
    where = line_of(text, line_of(template, line))
    if not isinstance(text, str):
        raise DataError(path, where, f"{capability}: 'text' must be a string, got {kind(text)}")
    if not isinstance(expect, dict) or not expect or set(expect) - set(ROLES):
        raise DataError(path, where, f"{capability}: 'expect' maps {' / '.join(ROLES)} to a label")
    try:  # a name alone: `{outlet.x}`, `{actor[0]}`, `{other!r}` or `{target:>40}` would change the sentence
        parts = list(string.Formatter().parse(text))
        wrong = next(
            (
                "{" + field + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
                for _, field, spec, conversion in parts
                if field is not None and (field not in PLACES or spec or conversion)
            ),
            None,
        )
    except ValueError as err:  # a brace not closed, or one too many
        parts, wrong = [], str(err)
    # "{{actor}}" or "{{ actor }}" (habits of other template languages) is the text "{actor}" in the sentence
    doubled = _DOUBLED.search("".join(part[0] for part in parts))
    if wrong is None and doubled:
        wrong = "{" + doubled.group(0) + "}"
    if wrong is not None:
        raise DataError(
            path,
            where,
            f"{capability}: bad placeholder in {text!r} ({wrong!r}); use {{actor}} {{other}} {{outlet}} {{target}}",
        )
    used = {field for _, field, _, _ in parts if field}
    for role, label in expect.items():
        if label not in LABELS:
            raise DataError(path, where, f"{capability}: label {label!r} is not one of {', '.join(LABELS)}")
        if role not in used and not (author and role == "actor"):
            raise DataError(path, where, f"{capability}: expects a label for {{{role}}} but the text does not use it")
    return text, expect


def label_texts(model, texts, registry: ActorRegistry) -> dict[tuple[str, str], str]:
    """{(text, actor): predicted label} for short texts, each scored as a one-line article.

    The splitter may cut a text ("A backs it; B objects"); an actor's label is that of the
    first sentence that mentions it. Actors the matcher does not find get no entry.
    """
    texts = sorted(set(texts))
    pairs = [(text, c) for text in texts for c in article_candidates("suite", text, registry)]
    predicted: dict[tuple[str, str], str] = {}
    if pairs:
        labels = best_labels(class_scores(model, pairs_frame([c for _, c in pairs])))
        for (text, pair), label in zip(pairs, labels):
            predicted.setdefault((text, pair["actor"]), label)
    return predicted


def run_suite(model, cases: list[Case], registry: ActorRegistry) -> tuple[dict, list[dict]]:
    """Pass rate per capability, and one row per failed check for error analysis."""
    predicted = label_texts(model, (text for case in cases for text, _ in case.variants), registry)
    passed: dict[str, list[bool]] = {}
    failures = []
    for case in cases:
        ok = True
        for sentence, expected in case.variants:
            for actor, label in expected.items():
                got = predicted.get((sentence, actor), "no pair")
                if got != label:
                    ok = False
                    failures.append(
                        {
                            "capability": case.capability,
                            "sentence": sentence,
                            "actor": actor,
                            "expected": label,
                            "predicted": got,
                        }
                    )
        passed.setdefault(case.capability, []).append(ok)
    rates = {capability: round(sum(oks) / len(oks), 4) for capability, oks in sorted(passed.items())}
    rates["all"] = round(sum(sum(o) for o in passed.values()) / sum(len(o) for o in passed.values()), 4)
    return rates, failures
