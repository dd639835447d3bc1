"""The SemEval stance benchmark script, run on a folder in TweetEval's layout.

The tweets may not be copied into the project, so the folder here is built from the
project's own gold (real and synthetic articles): each "target" holds real labelled sentences of the seed articles,
one a line, with the label file in TweetEval's 0/1/2 coding. That checks the script's
reading, its author-stance model and its metric line, not the benchmark's figure.
"""

from __future__ import annotations

import csv
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "data/targets/nato-tokyo-office"
SCRIPT = ROOT / "benchmarks" / "semeval_stance.py"
CODE = {"neutral": "0", "oppose": "1", "support": "2"}
TARGETS = ["abortion", "atheism", "climate", "feminist", "hillary"]


def write_split(folder: Path, split: str, rows: list[tuple[str, str]]) -> None:
    (folder / f"{split}_text.txt").write_text("".join(f"{text} #SemST\n" for text, _ in rows), encoding="utf-8")
    (folder / f"{split}_labels.txt").write_text("".join(f"{CODE[label]}\n" for _, label in rows), encoding="utf-8")


def tweeteval_folder(root: Path) -> Path:
    labels: dict[str, set[str]] = {}
    for gold in (TARGET / "labels.csv", TARGET / "synthetic" / "labels.csv"):
        with open(gold, encoding="utf-8") as handle:
            for r in csv.DictReader(handle):
                labels.setdefault(r["sentence"], set()).add(r["label"])
    # a sentence's stance is its author's only where every actor in it has the same label
    rows = sorted((sentence, found.pop()) for sentence, found in labels.items() if len(found) == 1)
    for i, target in enumerate(TARGETS):
        chunk = rows[i::5]
        folder = root / target
        folder.mkdir(parents=True)
        write_split(folder, "train", chunk[: len(chunk) * 6 // 10])
        write_split(folder, "val", chunk[len(chunk) * 6 // 10 : len(chunk) * 8 // 10])
        write_split(folder, "test", chunk[len(chunk) * 8 // 10 :])
    return root


def run(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), str(path)], capture_output=True, text=True, cwd=ROOT)


def test_the_benchmark_trains_per_target_and_ends_with_the_leaderboard_metric(tmp_path):
    result = run(tweeteval_folder(tmp_path / "stance"))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert "TimeLMs-2021" in result.stdout and len([x for x in lines if x.startswith("test ")]) == 5
    score = float(re.search(r"F_avg=(\d+\.\d)$", lines[-1]).group(1))
    # Predicting one class gives at most 2p/(1+p)/2, under 20 for these shares (p < 0.3):
    # above that the model has learnt both stances.
    assert 20 < score <= 100


def test_a_missing_or_mislabelled_file_is_one_line_naming_it(tmp_path):
    folder = tweeteval_folder(tmp_path / "stance")
    (folder / "climate" / "val_labels.txt").write_text("0\n7\n", encoding="utf-8")
    result = run(folder)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0 and "val_labels.txt" in result.stderr
    (folder / "climate" / "val_labels.txt").unlink()
    result = run(folder)
    assert result.returncode == 1 and "val_labels.txt" in result.stderr and "missing" in result.stderr


def test_the_none_offset_moves_a_tweet_from_none_only_when_none_led_by_less_than_it():
    import importlib.util

    import numpy as np

    spec = importlib.util.spec_from_file_location("semeval_stance", SCRIPT)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    # LABELS order: support (favor), oppose (against), neutral (none)
    scores = np.array([[0.30, 0.25, 0.45], [0.20, 0.34, 0.46], [0.10, 0.10, 0.80], [0.50, 0.10, 0.40]])
    assert script.with_none_offset(scores, 0.0) == ["neutral", "neutral", "neutral", "support"]
    assert script.with_none_offset(scores, 0.10) == ["neutral", "neutral", "neutral", "support"]
    assert script.with_none_offset(scores, 0.20) == ["support", "oppose", "neutral", "support"]


def test_word_clusters_read_the_tweet_only_when_asked_and_carry_a_word_never_seen():
    import importlib.util

    spec = importlib.util.spec_from_file_location("semeval_stance", SCRIPT)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    from pipeline.features.lexicon import load_cue_lexicon
    from pipeline.params import load_params

    project = load_params(ROOT / "params.yaml")
    lexicon = load_cue_lexicon(ROOT / project.data.cues)
    texts = ["we firmly support the plan", "we firmly oppose the plan", "the plan was discussed today"] * 4
    labels = ["support", "oppose", "neutral"] * 4
    # The grid's settings have no clusters, whatever params.yaml sets for an actor's window
    plain = script.author_params(project.train)
    assert project.train.word_clusters and "text_clusters" not in dict(
        (name, t) for name, t, _ in script.tweet_model(plain, lexicon).named_steps["features"].transformers
    )
    clustered = plain.model_copy(update={"word_clusters": 8})
    model = script.fit_deterministic(script.tweet_model(clustered, lexicon), script.document_pairs(texts), labels, None)
    features = model.named_steps["features"]
    names = features.get_feature_names_out()
    assert any(n.startswith("text_clusters__") for n in names)
    # No word of this tweet is a training word: the words block reads nothing, the clusters block something
    row = features.transform(model.named_steps["pairs"].transform(script.document_pairs(["endorsing backers"])))[0]
    assert not any(row[i] for i, n in enumerate(names) if n.startswith("words__"))
    assert any(row[i] for i, n in enumerate(names) if n.startswith("text_clusters__"))


def test_the_layers_reading_the_last_layer_alone_is_the_sentence_embedding():
    """--layers reads MiniLM's hidden states itself; its "last" reading must be what the embeddings column gives,
    and each other reading a unit-length vector of its own width."""
    import importlib.util

    import numpy as np

    from pipeline.features.embeddings import SentenceEmbedder

    spec = importlib.util.spec_from_file_location("semeval_stance", SCRIPT)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    tweets = ["We stand with #ProLifeYouth today", "@Someone the climate is changing, act now", "Equal pay. #lovewins"]
    sentence = SentenceEmbedder(source="sentence").transform(tweets)
    np.testing.assert_allclose(script.LayerEmbedder("last").transform(tweets), sentence, atol=1e-4)
    last_four = script.LayerEmbedder("last four").transform(tweets)
    assert last_four.shape == (3, 4 * 384)
    np.testing.assert_allclose(np.linalg.norm(last_four, axis=1), 1.0, atol=1e-4)
    np.testing.assert_allclose(2 * last_four[:, -384:], sentence, atol=1e-4)  # its last block is the last layer's
    first_and_last = script.LayerEmbedder("first and last").transform(tweets)
    assert first_and_last.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(first_and_last, axis=1), 1.0, atol=1e-4)
    assert np.abs(first_and_last - sentence).max() > 0.01
