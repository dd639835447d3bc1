"""params.yaml, validated on load into typed sections: the one place every knob lives.

A misspelt key, a wrong type or a value out of range stops the run with one line
naming params.yaml, the key and what is allowed, before any work is done.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from pipeline.errors import DataError
from pipeline.files import load_yaml
from pipeline.paths import PARAMS


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class DataParams(Section):
    """The target: its folder holds every file that makes the pipeline about it, under fixed names
    (README: Targets); `articles` is its fully labelled articles, which may sit elsewhere (seeds/)."""

    target: str  # folder of the target's files: TARGET_FILES below
    articles: str  # folder of .txt articles, each fully labelled

    # What each file of a target folder is, by the name the code reads it under.
    TARGET_FILES: ClassVar[dict[str, str]] = {
        "description": "target.yaml",  # what the target is and is not, its name and paraphrases
        "actors": "actors.yaml",  # actor registry
        "labels": "labels.csv",  # gold stance per (article, sentence, actor) of `articles`
        "cues": "cues.yaml",  # stance-cue lexicon used by the cue features
        "behaviour": "behaviour.yaml",  # templated behavioural tests (never trained on)
        "paraphrases": "paraphrases.csv",  # blind paraphrase suite (never trained on)
        "synthetic": "synthetic",  # synthetic training text: articles/*.txt and labels.csv
        "rewrites": "rewrites",  # real articles retold in other words: articles/*.txt, labels.csv, sources.csv
        "locked": "locked",  # the locked test: articles/*.txt and labels.csv, never trained or tuned on
        "annotation": "annotation",  # the annotation loop's store, and the gold's original passes (pass_*.csv)
        "annotation_articles": "annotation/articles",  # articles the loop stored; may be partly labelled
        "passes": "annotation/passes",  # one <annotator>.csv per annotator, written by `stance label import`
        "disagreements": "annotation/disagreements.csv",  # by `stance label agree`; its `final` column by people
    }

    def __getattr__(self, name: str):
        if name in self.TARGET_FILES:
            return str(Path(self.target) / self.TARGET_FILES[name])
        return super().__getattr__(name)


MAX_SEED = 2**32 - 1  # numpy's and scikit-learn's random states take no larger seed


class PrepareParams(Section):
    test_fraction: float = Field(gt=0, lt=1)
    split_seed: int = Field(ge=0, le=MAX_SEED)
    near_duplicate_threshold: float = Field(gt=0, le=1)
    near_duplicate_min_words: int = Field(ge=1)
    synthetic: bool  # add the synthetic articles' pairs to the training split (never to a test)
    rewrites: bool  # add the rewrites' pairs beside the articles they retell (trained on, never scored)


class DistillParams(Section):
    pca_dims: int = Field(ge=2, le=384)  # MiniLM has 384 dimensions
    sif_coefficient: float = Field(gt=0, lt=1)  # model2vec's frequency weighting of each token's vector
    vocabulary: str | None  # a word list (one per line) to add as whole-word tokens; null: MiniLM's own vocabulary


class TrainParams(Section):
    classifier: Literal["logreg", "linear_svm", "sgd"]
    C: float = Field(gt=0)
    class_weight: Literal["balanced", "none"]
    mark_actors: bool
    negation_scope: bool
    power_scope: bool  # the words of a power phrase and its content as other words than a choice made
    word_ngrams: list[int] = Field(min_length=2, max_length=2)
    char_ngrams: list[int] = Field(min_length=2, max_length=2)  # [0, 0]: none
    window: int = Field(ge=0, le=100)  # tokens each side, within a clause: no clause is near 100
    word_clusters: int = Field(ge=0, le=100_000)  # k-means clusters of the window's words as n-grams too; 0: off
    context_sentences: bool
    cue_features: bool
    cue_weight: float = Field(ge=0)
    frame_roles: bool  # the cue features again under the actor's role in the target's frame (cues.yaml)
    embeddings: Literal["none", "sentence", "window", "static"]
    static_text: Literal["sentence", "window", "both"]  # what the static vectors embed (embeddings: static)
    sentiment: Literal["none", "vader"]  # VADER's valences in the actor's window (needs window > 0)
    embedding_weight: float = Field(ge=0)
    synthetic_weight: float = Field(gt=0)  # weight of a synthetic pair in the fit; a real one weighs 1
    calibration: Literal[
        "none", "sigmoid", "isotonic", "temperature"
    ]  # probabilities fitted on grouped out-of-fold scores
    calibration_folds: int = Field(ge=2)
    class_offsets: Literal["none", "macro_f1"]  # per-class decision offsets on those scores (needs temperature)
    seed: int = Field(ge=0, le=MAX_SEED)

    @field_validator("word_ngrams", "char_ngrams")
    @classmethod
    def _ngram_range(cls, value: list[int], info):
        low, high = value
        if not 1 <= low <= high and not (info.field_name == "char_ngrams" and value == [0, 0]):
            off = ", or [0, 0] for none" if info.field_name == "char_ngrams" else ""
            raise ValueError(f"must be [min, max] with 1 <= min <= max{off}")
        return value

    @field_validator("class_offsets")
    @classmethod
    def _offsets_on_temperature(cls, value: str, info):
        # info.data holds the fields declared above this one that passed: calibration must stay above
        # class_offsets. A calibration that failed is not there, and its own error is the one to report.
        if value != "none" and info.data.get("calibration", "temperature") != "temperature":
            raise ValueError("needs train.calibration: temperature (the offsets are chosen on its scaled scores)")
        return value


class EvaluateParams(Section):
    cv_folds: int = Field(ge=2)
    cv_seed: int = Field(ge=0, le=MAX_SEED)
    max_misclassified: int = Field(ge=0)
    bootstrap_resamples: int = Field(ge=100)
    bootstrap_seed: int = Field(ge=0, le=MAX_SEED)


class FinetuneParams(Section):
    enabled: bool  # the opt-in preset: MiniLM fine-tuned on the pairs, averaged with the linear model
    epochs: int = Field(ge=1)
    learning_rate: float = Field(gt=0)
    warmup: float = Field(ge=0, lt=1)  # share of the steps over which the learning rate rises
    batch_size: int = Field(ge=1)
    max_tokens: int = Field(ge=8, le=512)  # a longer sentence is cut (MiniLM reads at most 512)
    weight: float = Field(ge=0, le=1)  # the fine-tuned encoder's share of the averaged probabilities
    threads: int = Field(ge=1)  # torch threads while training: the same count gives the same weights
    seed: int = Field(ge=0, le=MAX_SEED)


class Params(Section):
    data: DataParams
    distill: DistillParams
    prepare: PrepareParams
    train: TrainParams
    finetune: FinetuneParams
    evaluate: EvaluateParams


def load_params(path: str | Path = PARAMS, *, target_must_exist: bool = False) -> Params:
    """`target_must_exist`: a `data.target` naming no folder (from the working directory) stops here, at its
    line, naming the targets beside it; otherwise the first file a stage reads would be the one named."""
    raw = load_yaml(path)
    if not isinstance(raw, dict):
        sections = ", ".join(Params.model_fields)
        raise DataError(path, None, f"the file holds no sections; it needs {sections}")
    try:
        params = Params.model_validate(raw)
    except ValidationError as err:
        # An unknown key first: a misspelt key also shows as the right key missing.
        problem = min(err.errors(), key=lambda e: e["type"] != "extra_forbidden")
        location = [str(part) for part in problem["loc"]]
        key = ".".join(location)
        message = problem["msg"]
        if problem["type"] == "extra_forbidden":
            section = problem["loc"][:-1]
            known = Params.model_fields if not section else _section_model(section[0]).model_fields
            message = f"unknown key; the keys here are {', '.join(known)}"
        elif problem["type"] == "value_error":
            message = f"{message.removeprefix('Value error, ')}, not {problem['input']!r}"
        elif problem["type"] != "missing":
            message = f"{message}, not {problem['input']!r}"
        raise DataError(path, _line(raw, problem["loc"]), f"{key}: {message}") from None
    if target_must_exist and not Path(params.data.target).is_dir():
        parent = Path(params.data.target).parent
        targets = sorted(p.parent.name for p in parent.glob("*/target.yaml")) if parent.is_dir() else []
        beside = f"; the targets in {parent}: {', '.join(targets)}" if targets else "; run in the project folder"
        where = "" if Path(params.data.target).is_absolute() else f" below {Path.cwd()}"
        raise DataError(
            path, _line(raw, ("data", "target")), f"data.target: no folder {params.data.target}{where}{beside}"
        )
    return params


def _section_model(name: str) -> type[Section]:
    return Params.model_fields[name].annotation


def _line(raw, location) -> int | None:
    """The line of the deepest key of `location` that the file has."""
    line, node = None, raw
    for part in location:
        if isinstance(node, dict) and part in node:
            line = node.key_lines.get(part, line)
            node = node[part]
        else:
            break
    return line
